// The search page: results ranked by the API, with its highlighted snippets and "More results".
import { api, articleList, el, moreLink, renderSectionsNav, setTitle, show, showProblem } from "./common.js";

const PAGE_SIZE = 10;

async function render() {
  renderSectionsNav(null);
  const params = new URLSearchParams(window.location.search);
  const query = (params.get("q") || "").trim();
  const cursor = params.get("cursor");
  document.getElementById("search-q").value = query;
  if (!query) {
    setTitle("Search");
    show(el("h1", {}, "Search"), el("p", {}, "Type a word or phrase in the search box above."));
    return;
  }
  try {
    const page = await api("search", { q: query, limit: PAGE_SIZE, cursor, count: cursor ? null : "true" });
    setTitle(`Search: ${query}`);
    const total = page.meta.total;
    show(
      el("h1", {}, "Search results for ", el("q", {}, query)),
      el(
        "p",
        { class: "status", role: "status" },
        total === undefined ? "" : total === 1 ? "1 article found." : `${total} articles found.`,
        page.meta.matched === "any" && page.data.length
          ? " No article has every word; these have some of them."
          : "",
      ),
      page.data.length
        ? articleList(page.data, { snippets: true })
        : el("p", {}, "No articles match. Try another word, or fewer words."),
      moreLink(page.meta.next_cursor, "More results"),
    );
  } catch (error) {
    showProblem(error);
  }
}

render();
