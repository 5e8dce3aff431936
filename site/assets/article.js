// The article page (/articles/<slug>) and draft previews (/preview/<token>) in one template:
// title, standfirst, section, authors, the body with each block's source, the summary button,
// related articles, previous and next.
import {
  ApiError,
  api,
  articleUrl,
  el,
  names,
  renderSectionsNav,
  richText,
  sectionUrl,
  setTitle,
  show,
  showProblem,
  slugFromPath,
  timeElement,
} from "./common.js";

const PREVIEW_PREFIX = "/preview/";
const RELATED_LIMIT = 6;

function blockId(index) {
  return `block-${index}`;
}

/** " (Handelsblatt)" after a block that names its source. */
function attribution(block, sourceNames) {
  if (!block.attribution) return null;
  const slug = block.attribution.source;
  return el("span", { class: "attribution", "data-source": slug }, ` (${sourceNames[slug] || slug})`);
}

function renderBlock(block, index, sourceNames) {
  const id = blockId(index);
  const source = attribution(block, sourceNames);
  switch (block.type) {
    case "paragraph":
      return el("p", { id }, richText(block.text), source);
    case "heading":
      return el(`h${Math.min(Math.max(block.level || 2, 2), 6)}`, { id }, richText(block.text));
    case "quote":
      return el(
        "figure",
        { id, class: "quote" },
        el("blockquote", {}, el("p", {}, richText(block.text))),
        block.cite || source ? el("figcaption", {}, block.cite ? `— ${block.cite}` : "", source) : null,
      );
    case "list":
      return el(
        "div",
        { id, class: "list-block" },
        el(block.ordered ? "ol" : "ul", {}, block.items.map((item) => el("li", {}, richText(item)))),
        source ? el("p", { class: "list-source" }, source) : null,
      );
    case "image":
      return el(
        "figure",
        { id, class: "image" },
        image(block.url, block.alt),
        block.caption || block.credit || source
          ? el("figcaption", {}, block.caption || "", block.credit ? ` ${block.credit}` : "", source)
          : null,
      );
    case "embed":
      return el(
        "p",
        { id, class: "embed" },
        el("a", { href: block.url, rel: "noopener noreferrer" }, block.title || block.url),
        ` (${new URL(block.url).hostname})`,
        block.caption ? ` ${block.caption}` : "",
        source,
      );
    default:
      return null; // a block type this site does not know yet: skip it
  }
}

/** An image that gives way to its alt text when it cannot be loaded. */
function image(url, alt) {
  const img = el("img", { src: url, alt: alt || "", loading: "lazy", decoding: "async" });
  img.addEventListener("error", () => img.replaceWith(el("span", { class: "image-missing" }, alt || "")));
  return img;
}

function byline(article) {
  return el(
    "p",
    { class: "meta" },
    article.authors?.length ? `By ${names(article.authors)} · ` : "",
    timeElement(article.published_at),
    article.reading_time_minutes ? ` · ${article.reading_time_minutes} min read` : "",
  );
}

/** The "No time to read?" box: fetches the summary on the first click, then toggles it. */
function summaryBox(article, preview) {
  const panel = el("div", { id: "summary-panel", class: "summary-panel", hidden: true, tabindex: "-1" });
  const button = el(
    "button",
    { type: "button", class: "summary-button", "aria-expanded": "false", "aria-controls": "summary-panel" },
    "No time to read? Get a summary",
  );
  let loaded = false;
  button.addEventListener("click", async () => {
    if (loaded) {
      const open = button.getAttribute("aria-expanded") === "true";
      button.setAttribute("aria-expanded", String(!open));
      panel.hidden = open;
      return;
    }
    button.disabled = true;
    try {
      // A preview's draft has no public summary endpoint: it carries its summary itself.
      const summary = preview ? article.summary : await api(`articles/${encodeURIComponent(article.slug)}/summary`);
      if (!summary) throw new Error("no summary");
      panel.replaceChildren(...summaryContent(summary));
      loaded = true;
    } catch {
      panel.replaceChildren(el("p", {}, "The summary is not available right now. Please try again."));
    }
    button.disabled = false;
    button.setAttribute("aria-expanded", "true");
    panel.hidden = false;
    panel.focus();
  });
  return el("aside", { class: "summary", "aria-label": "Summary" }, button, panel);
}

function summaryContent(summary) {
  const seconds = summary.reading_time_seconds;
  return [
    el("h2", {}, "Summary"),
    el("p", { class: "tldr" }, summary.tldr),
    summary.key_points?.length
      ? el(
          "ul",
          { class: "key-points" },
          summary.key_points.map((point) =>
            el(
              "li",
              {},
              Number.isInteger(point.block_index)
                ? el("a", { href: `#${blockId(point.block_index)}` }, point.text)
                : point.text,
            ),
          ),
        )
      : null,
    seconds ? el("p", { class: "meta" }, `This summary is a ${seconds}-second read.`) : null,
  ];
}

function relatedSection(related) {
  if (!related.length) return null;
  // Curated links first (the API already orders them so; kept stable here).
  const ordered = [...related.filter((r) => r.kind === "curated"), ...related.filter((r) => r.kind !== "curated")];
  return el(
    "section",
    { class: "related", "aria-labelledby": "related-title" },
    el("h2", { id: "related-title" }, "Related articles"),
    el(
      "ul",
      {},
      ordered.map((item) =>
        el(
          "li",
          { class: `related-${item.kind}` },
          item.label ? el("span", { class: "label" }, `${item.label}: `) : null,
          item.article
            ? el("a", { href: articleUrl(item.article.slug) }, item.title || item.article.title)
            : el("a", { href: item.url, rel: "noopener noreferrer" }, item.title || item.url, " ", el("span", { class: "external" }, "(external)")),
        ),
      ),
    ),
  );
}

function neighbours(previous, next) {
  if (!previous && !next) return null;
  const link = (neighbour, rel, label) =>
    neighbour
      ? el(
          "a",
          { href: articleUrl(neighbour.slug), rel, class: `neighbour ${rel}` },
          el("span", { class: "neighbour-label" }, label),
          el("span", { class: "neighbour-title" }, neighbour.title),
        )
      : el("span", {});
  return el(
    "nav",
    { class: "neighbours", "aria-label": "Previous and next article" },
    link(previous, "prev", "Previous article"),
    link(next, "next", "Next article"),
  );
}

function sourcesList(sources) {
  if (!sources?.length) return null;
  return el(
    "p",
    { class: "sources" },
    "Sources: ",
    sources.flatMap((source, i) => [
      i ? ", " : "",
      source.url ? el("a", { href: source.url, rel: "noopener noreferrer" }, source.name) : source.name,
    ]),
  );
}

function renderArticle(article, related, preview) {
  const sourceNames = Object.fromEntries((article.sources || []).map((s) => [s.slug, s.name]));
  setTitle(preview ? `Preview: ${article.title}` : article.title);
  const hero = article.hero_image;
  show(
    preview
      ? el(
          "p",
          { class: "preview-banner", role: "note" },
          el("strong", {}, "Preview"),
          " — this is how the article will look once published. It is not public yet; do not share this link.",
        )
      : null,
    el(
      "article",
      { class: "article", lang: article.language || null, "aria-labelledby": "article-title" },
      el(
        "header",
        {},
        article.section
          ? el("p", { class: "kicker" }, preview ? article.section.name : el("a", { href: sectionUrl(article.section.slug) }, article.section.name))
          : null,
        el("h1", { id: "article-title" }, article.title),
        article.subtitle ? el("p", { class: "standfirst" }, article.subtitle) : null,
        byline(article),
      ),
      hero
        ? el(
            "figure",
            { class: "hero" },
            image(hero.url, hero.alt),
            hero.caption || hero.credit ? el("figcaption", {}, hero.caption || "", hero.credit ? ` ${hero.credit}` : "") : null,
          )
        : null,
      summaryBox(article, preview),
      el("div", { class: "body" }, (article.body || []).map((block, i) => renderBlock(block, i, sourceNames))),
      sourcesList(article.sources),
    ),
    relatedSection(related),
    neighbours(article.previous, article.next),
  );
}

async function render() {
  const preview = window.location.pathname.startsWith(PREVIEW_PREFIX);
  renderSectionsNav(null);
  try {
    if (preview) {
      const token = slugFromPath(PREVIEW_PREFIX);
      if (!token) throw new ApiError(404, "Not Found");
      const article = await api(`preview/${encodeURIComponent(token)}`, { formats: "blocks" });
      renderArticle(article, [], true);
      return;
    }
    const slug = slugFromPath("/articles/");
    if (!slug) throw new ApiError(404, "Not Found");
    const path = `articles/${encodeURIComponent(slug)}`;
    // Both requests go out at once: the page waits for one round trip.
    const [article, related] = await Promise.all([
      api(path, { formats: "blocks" }),
      api(`${path}/related`, { limit: RELATED_LIMIT }),
    ]);
    if (article.slug !== slug) {
      // The API followed a moved slug (301): show the article's current address.
      window.history.replaceState(null, "", articleUrl(article.slug) + window.location.hash);
    }
    renderArticle(article, related.related, false);
    if (window.location.hash) document.getElementById(window.location.hash.slice(1))?.scrollIntoView();
  } catch (error) {
    showProblem(error);
  }
}

render();
