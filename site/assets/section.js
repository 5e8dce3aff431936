// A section page: its name and description, its newest articles, and "More" paging by cursor.
import {
  ApiError,
  api,
  articleList,
  el,
  moreLink,
  renderSectionsNav,
  setTitle,
  show,
  showProblem,
  slugFromPath,
} from "./common.js";

const PAGE_SIZE = 10;

async function render() {
  const slug = slugFromPath("/sections/");
  renderSectionsNav(slug);
  const cursor = new URLSearchParams(window.location.search).get("cursor");
  try {
    if (!slug) throw new ApiError(404, "Not Found");
    const [section, page] = await Promise.all([
      api(`sections/${encodeURIComponent(slug)}`),
      api("articles", { section: slug, limit: PAGE_SIZE, cursor }),
    ]);
    setTitle(section.name);
    show(
      el(
        "header",
        { class: "section-header" },
        el("h1", {}, section.name),
        section.description ? el("p", { class: "standfirst" }, section.description) : null,
      ),
      page.data.length
        ? articleList(page.data)
        : el("p", {}, cursor ? "No more articles in this section." : "No articles in this section yet."),
      moreLink(page.meta.next_cursor, `More from ${section.name}`),
    );
  } catch (error) {
    showProblem(error);
  }
}

render();
