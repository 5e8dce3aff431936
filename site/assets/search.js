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
    // The articles with every word come first; those with only some of them follow.
    const every = page.data.filter((hit) => hit.all_words !== false);
    const some = page.data.filter((hit) => hit.all_words === false);
    const someHeading = some.length > 0 && (every.length > 0 || Boolean(cursor));
    show(
      el("h1", {}, "Search results for ", el("q", {}, query)),
      el(
        "p",
        { class: "status", role: "status" },
        total === undefined ? "" : total === 1 ? "1 article found." : `${total} articles found.`,
        page.meta.matched === "any" && page.data.length && !cursor
          ? " No article has every word; these have some of them."
          : "",
      ),
      every.length ? articleList(every, { snippets: true }) : null,
      someHeading ? el("h2", { class: "some-words" }, "Articles with some of the words") : null,
      some.length ? articleList(some, { snippets: true, headingLevel: someHeading ? 3 : 2 }) : null,
      page.data.length ? null : el("p", {}, "No articles match. Try another word, or fewer words."),
      moreLink(page.meta.next_cursor, "More results"),
    );
  } catch (error) {
    showProblem(error);
  }
}

render();
