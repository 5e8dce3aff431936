// The front page: the newest articles, each with its summary's tldr; "More articles" pages on.
import { api, articleList, el, moreLink, renderSectionsNav, setTitle, show, showProblem } from "./common.js";

const PAGE_SIZE = 10;

async function tldrs(cards) {
  // One summary request per article (the list items carry no summary).
  const entries = await Promise.all(
    cards.map((card) =>
      api(`articles/${encodeURIComponent(card.slug)}/summary`).then(
        (summary) => [card.slug, summary.tldr],
        () => [card.slug, null], // an article without a summary still gets listed
      ),
    ),
  );
  return Object.fromEntries(entries);
}

async function render() {
  renderSectionsNav(null);
  const cursor = new URLSearchParams(window.location.search).get("cursor");
  try {
    const page = await api("articles", { limit: PAGE_SIZE, cursor });
    const tldr = await tldrs(page.data);
    setTitle(cursor ? "More articles" : null);
    show(
      el("h1", {}, cursor ? "More articles" : "Latest news"),
      page.data.length ? articleList(page.data, { tldr }) : el("p", {}, "Nothing has been published yet."),
      moreLink(page.meta.next_cursor, "More articles"),
    );
  } catch (error) {
    showProblem(error);
  }
}

render();
