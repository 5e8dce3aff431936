// The front page: the newest articles, each with its summary's tldr; "More articles" pages on.
import { api, articleList, el, moreLink, renderSectionsNav, setTitle, show, showProblem } from "./common.js";

const PAGE_SIZE = 10;

async function render() {
  renderSectionsNav(null);
  const cursor = new URLSearchParams(window.location.search).get("cursor");
  try {
    // include=summary: the cards come with their summaries, so this is one request.
    const page = await api("articles", { limit: PAGE_SIZE, cursor, include: "summary" });
    const tldr = Object.fromEntries(page.data.map((card) => [card.slug, card.summary?.tldr]));
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
