// Shared by every page: the API client, safe DOM building, the section menu, article lists and
// the friendly error page. Everything shown comes from the public API under /api/v1.

export const SITE_NAME = "Westerhaven Courier";

/** A refusal by the API (a problem+json document) or an unreachable API (status 0). */
export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail || title);
    this.status = status;
    this.title = title;
    this.detail = detail || "";
  }
}

/** GET /api/v1/<path> with query parameters; resolves to the JSON body or throws ApiError. */
export async function api(path, params = {}) {
  const url = new URL(`/api/v1/${path}`, window.location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
  } catch {
    throw new ApiError(0, "The news service cannot be reached", "Check your connection and try again.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      (body && body.title) || response.statusText || "Something went wrong",
      body && body.detail,
    );
  }
  return body;
}

/** An element with attributes and children (strings become text: never parsed as HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const INLINE = { B: [], STRONG: [], I: [], EM: [], A: ["href"] };
const DROPPED = new Set(["SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "OBJECT", "NOSCRIPT"]);

/**
 * The API's inline markup as DOM nodes, keeping only the allowed elements (by default the
 * body's b, strong, i, em and a href with http(s)/mailto links); everything else becomes text.
 * The markup is parsed into an inert <template>, so nothing in it runs or loads.
 */
export function richText(markup, allowed = INLINE) {
  const template = document.createElement("template");
  template.innerHTML = markup || "";
  return keepAllowed(template.content, allowed);
}

/** A search snippet: escaped text with the hits in <mark>, as the API sends it. */
export function snippet(markup) {
  return richText(markup, { MARK: [] });
}

function keepAllowed(parent, allowed) {
  const out = document.createDocumentFragment();
  for (const child of parent.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) {
      out.append(child.textContent);
    } else if (child.nodeType === Node.ELEMENT_NODE && !DROPPED.has(child.tagName)) {
      const inner = keepAllowed(child, allowed);
      const attributes = allowed[child.tagName];
      if (!attributes) {
        out.append(inner);
        continue;
      }
      const copy = document.createElement(child.tagName.toLowerCase());
      for (const name of attributes) {
        const value = child.getAttribute(name);
        if (value === null) continue;
        if (name === "href" && !/^(https?:|mailto:)/i.test(value.trim())) continue;
        copy.setAttribute(name, value);
      }
      copy.append(inner);
      out.append(copy);
    }
  }
  return out;
}

export function articleUrl(slug) {
  return `/articles/${encodeURIComponent(slug)}`;
}

export function sectionUrl(slug) {
  return `/sections/${encodeURIComponent(slug)}`;
}

const DATE_FORMAT = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "long",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
  timeZoneName: "short",
});

export function timeElement(iso) {
  if (!iso) return null;
  return el("time", { datetime: iso }, DATE_FORMAT.format(new Date(iso)));
}

export function names(items) {
  const list = (items || []).map((item) => item.name);
  if (list.length <= 1) return list.join("");
  return `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}`;
}

export function main() {
  return document.getElementById("main");
}

/** Replace the page's content (nulls are skipped). */
export function show(...nodes) {
  main().replaceChildren(...nodes.filter((node) => node !== null && node !== undefined));
}

export function setTitle(text) {
  document.title = text ? `${text} — ${SITE_NAME}` : SITE_NAME;
}

const FRIENDLY = {
  0: "We could not reach the news service. Please try again in a moment.",
  400: "We could not understand that address. It may have been cut short or mistyped.",
  401: "This link is not valid any more. Ask for a new one.",
  404: "We could not find this page. It may have moved, or it has not been published.",
  410: "This article has been removed and is no longer available.",
  429: "Too many requests in a short time. Please wait a moment and try again.",
};

/** The friendly page for anything the API refused: its problem title, and what to do next. */
export function showProblem(error) {
  const status = error instanceof ApiError ? error.status : -1;
  const title = error instanceof ApiError ? error.title : "Something went wrong";
  const friendly = FRIENDLY[status] || "Something went wrong on our side. Please try again later.";
  setTitle(title);
  if (status === 404 || status === 410) {
    document.head.append(el("meta", { name: "robots", content: "noindex" }));
  }
  show(
    el(
      "section",
      { class: "problem", "data-status": String(status), "aria-labelledby": "problem-title" },
      el("h1", { id: "problem-title" }, title),
      el("p", {}, friendly),
      error instanceof ApiError && error.detail ? el("p", { class: "problem-detail" }, error.detail) : null,
      el(
        "p",
        {},
        el("a", { href: "/" }, "Go to the front page"),
        " or ",
        el("a", { href: "/search" }, "search the articles"),
        ".",
      ),
    ),
  );
  if (!(error instanceof ApiError)) console.warn(error); // a bug of ours: keep it findable
}

/** The section menu in the header, from /api/v1/sections. */
export async function renderSectionsNav(current) {
  const list = document.getElementById("sections-nav");
  try {
    const sections = await api("sections", { limit: 100 });
    list.replaceChildren(
      ...sections.data.map((section) =>
        el(
          "li",
          {},
          el(
            "a",
            { href: sectionUrl(section.slug), "aria-current": section.slug === current ? "page" : null },
            section.name,
          ),
        ),
      ),
    );
  } catch {
    list.replaceChildren(); // the page still works without its menu
  }
}

/** A list of article cards; ``tldr`` maps slug to the summary's short text. */
export function articleList(cards, { tldr = {}, snippets = false, headingLevel = 2 } = {}) {
  return el(
    "ol",
    { class: "article-list" },
    cards.map((card) =>
      el(
        "li",
        {},
        el(
          "article",
          { class: "card", lang: card.language || null },
          card.section ? el("p", { class: "kicker" }, card.section.name) : null,
          el(`h${headingLevel}`, {}, el("a", { href: articleUrl(card.slug) }, card.title)),
          card.subtitle ? el("p", { class: "standfirst" }, card.subtitle) : null,
          snippets && card.snippet ? el("p", { class: "snippet" }, snippet(card.snippet)) : null,
          tldr[card.slug]
            ? el("p", { class: "tldr" }, el("span", { class: "tldr-label", lang: "en" }, "In short: "), tldr[card.slug])
            : null,
          el("p", { class: "meta" }, timeElement(card.published_at), card.authors?.length ? ` · By ${names(card.authors)}` : ""),
        ),
      ),
    ),
  );
}

/** "More" paging: a link to the same page with the next cursor (or nothing at the end). */
export function moreLink(nextCursor, label) {
  if (!nextCursor) return null;
  const url = new URL(window.location.href);
  url.searchParams.set("cursor", nextCursor);
  return el("p", { class: "more" }, el("a", { href: url.pathname + url.search, rel: "next" }, label));
}

/** The slug in /<prefix>/<slug>, decoded; null when the address is malformed. */
export function slugFromPath(prefix) {
  const rest = window.location.pathname.slice(prefix.length);
  try {
    return decodeURIComponent(rest.replace(/\/$/, ""));
  } catch {
    return null;
  }
}
