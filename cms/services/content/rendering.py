"""Turns a validated block list into what is stored and served: sanitized blocks, HTML, text.

Sanitizing is done by nh3 (the Ammonia sanitizer): inline text keeps only ``b strong i em a``
with http(s)/mailto links; every other field is plain text and escaped on output. The HTML is
built from sanitized parts and cleaned once more as a whole, so nothing a writer submits can put
script into what readers get.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

import nh3

from cms.text import reading_minutes

INLINE_TAGS = {"b", "strong", "i", "em", "a"}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer"
EXCERPT_CHARS = 240

_BODY_TAGS = INLINE_TAGS | {
    "p",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "cite",
    "ul",
    "ol",
    "li",
    "figure",
    "figcaption",
    "img",
    "span",
    "footer",
}
_BODY_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}, "*": {"class"}}
_WORD = re.compile(r"\w+(?:[-'’]\w+)*", re.UNICODE)
_SPACE = re.compile(r"\s+")
_MAX_DECODE_ROUNDS = 8


def _drop_bom(text: str) -> str:
    # The HTML parser drops one leading U+FEFF per pass, so cleaning would not be idempotent;
    # as a zero-width no-break space it is deprecated anyway (U+2060 is the word joiner).
    return text.replace("\ufeff", "")


def clean_inline(text: str) -> str:
    """Sanitize inline markup; returns HTML-safe text with only the allowed inline tags."""
    cleaned = nh3.clean(
        _drop_bom(text),
        tags=INLINE_TAGS,
        attributes={"a": {"href"}},
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )
    return _SPACE.sub(" ", cleaned).strip()


def to_plain(text: str) -> str:
    """Inline HTML (or any text) to plain text: no tags, entities decoded.

    Decoding entities can reveal markup (``&lt;script&gt;``), so tags are removed again until
    nothing changes: plain text never carries a tag, however it was encoded.
    """
    plain = _drop_bom(text)
    for _ in range(_MAX_DECODE_ROUNDS):
        stripped = html.unescape(nh3.clean(plain, tags=set(), strip_comments=True))
        if stripped == plain:
            break
        plain = stripped
    else:  # encoded deeper than any honest text: drop what could still open a tag
        plain = plain.replace("<", "").replace(">", "")
    return _SPACE.sub(" ", plain).strip()


def _plain_or_none(value):
    if value is None:
        return None
    value = to_plain(value)
    return value or None


def normalize_blocks(blocks: list[dict]) -> list[dict]:
    """Sanitize every text field of already validated blocks; the result is what gets stored."""
    out = []
    for block in blocks:
        kind = block["type"]
        clean: dict = {"type": kind}
        if kind in ("paragraph", "heading", "quote"):
            clean["text"] = clean_inline(block["text"])
        if kind == "heading":
            clean["level"] = block.get("level", 2)
        if kind == "quote":
            clean["cite"] = _plain_or_none(block.get("cite"))
        if kind == "list":
            clean["ordered"] = bool(block.get("ordered", False))
            clean["items"] = [clean_inline(item) for item in block["items"]]
        if kind in ("image", "embed"):
            clean["url"] = block["url"]
            clean["caption"] = _plain_or_none(block.get("caption"))
        if kind == "image":
            clean["alt"] = to_plain(block.get("alt") or "")
            clean["credit"] = _plain_or_none(block.get("credit"))
        if kind == "embed":
            clean["title"] = _plain_or_none(block.get("title"))
        attribution = block.get("attribution")
        clean["attribution"] = {"source": attribution["source"]} if attribution else None
        out.append(clean)
    return out


def _attribution_html(block: dict, source_names: dict[str, str]) -> str:
    attribution = block.get("attribution")
    if not attribution:
        return ""
    name = source_names.get(attribution["source"], attribution["source"])
    return f' <span class="attribution">({html.escape(name)})</span>'


def render_html(blocks: list[dict], source_names: dict[str, str]) -> str:
    """HTML for stored (normalized) blocks. ``source_names`` maps source slug to name."""
    parts = []
    esc = html.escape
    for block in blocks:
        kind = block["type"]
        attribution = _attribution_html(block, source_names)
        if kind == "paragraph":
            parts.append(f"<p>{block['text']}{attribution}</p>")
        elif kind == "heading":
            level = block["level"]
            parts.append(f"<h{level}>{block['text']}</h{level}>")
        elif kind == "quote":
            cite = (
                f"<footer><cite>{esc(block['cite'])}</cite></footer>" if block.get("cite") else ""
            )
            parts.append(f"<blockquote><p>{block['text']}{attribution}</p>{cite}</blockquote>")
        elif kind == "list":
            tag = "ol" if block["ordered"] else "ul"
            items = "".join(f"<li>{item}</li>" for item in block["items"])
            parts.append(f"<{tag}>{items}</{tag}>{attribution.strip()}")
        elif kind == "image":
            caption = " ".join(
                x for x in (esc(block.get("caption") or ""), esc(block.get("credit") or "")) if x
            )
            figcaption = (
                f"<figcaption>{caption}{attribution}</figcaption>" if caption or attribution else ""
            )
            parts.append(
                f'<figure class="image"><img src="{esc(block["url"])}" alt="{esc(block["alt"])}">'
                f"{figcaption}</figure>"
            )
        elif kind == "embed":
            label = esc(block.get("title") or block["url"])
            caption = esc(block.get("caption") or "")
            figcaption = (
                f"<figcaption>{caption}{attribution}</figcaption>" if caption or attribution else ""
            )
            parts.append(
                f'<figure class="embed"><a href="{esc(block["url"])}">{label}</a>'
                f"{figcaption}</figure>"
            )
    raw = "\n".join(parts)
    return nh3.clean(
        raw,
        tags=_BODY_TAGS,
        attributes=_BODY_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def block_text(block: dict) -> str:
    """Plain text of one stored block (empty for blocks without reading text)."""
    kind = block["type"]
    if kind in ("paragraph", "heading", "quote"):
        return to_plain(block["text"])
    if kind == "list":
        return "\n".join(to_plain(item) for item in block["items"])
    if kind in ("image", "embed"):
        return block.get("caption") or ""
    return ""


def render_text(blocks: list[dict]) -> str:
    return "\n\n".join(t for t in (block_text(b) for b in blocks) if t)


@dataclass(frozen=True)
class RenderedBody:
    blocks: list[dict]
    html: str
    text: str
    word_count: int
    reading_time_minutes: int
    lead: str


def prepare_body(blocks: list[dict]) -> RenderedBody:
    """What :func:`render_body` derives that does not depend on source names (everything but
    the HTML, left empty): the costly part, which a bulk import computes in other processes."""
    clean = normalize_blocks(blocks)
    text = render_text(clean)
    words = len(_WORD.findall(text))
    lead = next((block_text(b) for b in clean if b["type"] == "paragraph"), "")
    return RenderedBody(
        blocks=clean,
        html="",
        text=text,
        word_count=words,
        reading_time_minutes=reading_minutes(words),
        lead=lead,
    )


def with_html(prepared: RenderedBody, source_names: dict[str, str]) -> RenderedBody:
    """A prepared body completed with its HTML."""
    return replace(prepared, html=render_html(prepared.blocks, source_names))


def render_body(blocks: list[dict], source_names: dict[str, str]) -> RenderedBody:
    """Everything derived from a body on write."""
    return with_html(prepare_body(blocks), source_names)


def make_excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """First ``limit`` characters of ``text``, cut at a word boundary with an ellipsis."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.-–—")
    return cut + "…"
