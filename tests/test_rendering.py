"""Nothing a writer submits can put script into what readers get (§3, §6a).

A corpus of common filter-evasion payloads goes into every text field of every block type,
through the editor API; the public article must carry none of it in an executable form.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from cms.services.content import rendering

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/xss.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>alert(1);//<</script>",
    '"><script>alert(document.cookie)</script>',
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    '<img """><script>alert(1)</script>">',
    '<a href="javascript:alert(1)">plain</a>',
    '<a href="JaVaScRiPt:alert(1)">mixed case</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">dec</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">hex</a>',
    '<a href="java&#x09;script:alert(1)">tab</a>',
    '<a href="java\nscript:alert(1)">newline</a>',
    '<a href=" &#14; javascript:alert(1)">control</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>',
    '<a href="vbscript:msgbox(1)">vb</a>',
    '<a href="VbScRiPt:msgbox(1)">vb mixed</a>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil.example/"></iframe>',
    "<iframe srcdoc='&lt;script&gt;alert(1)&lt;/script&gt;'></iframe>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<b onmouseover="alert(1)">hover</b>',
    '<a href="https://ok.example/" onclick="alert(1)">ok link</a>',
    '<div style="background-image:url(javascript:alert(1))">styled</div>',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<!--<img src="--><img src=x onerror=alert(1)//">',
    '<object data="javascript:alert(1)"></object>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&lt;img src=x onerror=alert(1)&gt;",
]

SCRIPT = re.compile(r"<\s*script", re.I)
BAD_URL = re.compile(r"(?:javascript|vbscript|data)\s*:", re.I)
IFRAME = re.compile(r"<\s*iframe", re.I)
STYLE = re.compile(r"<\s*style", re.I)
ANY_TAG = re.compile(r"<\s*/?\s*[a-z!?][^>]*>", re.I)
BODY_TAGS = {"p", "h2", "h3", "h4", "h5", "h6", "blockquote", "cite", "footer", "ul", "ol", "li",
             "figure", "figcaption", "img", "span", "a", "b", "strong", "i", "em"}
URL_ATTRIBUTES = {"href", "src"}


class _Tags(HTMLParser):
    """The start tags of a piece of HTML, with attribute values decoded as a browser would."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_inert(markup: str, where: str) -> None:
    """No script, event handler, script-capable URL, frame or style in ``markup``."""
    assert not SCRIPT.search(markup), (where, markup)
    assert not IFRAME.search(markup), (where, markup)
    assert not STYLE.search(markup), (where, markup)
    assert not BAD_URL.search(markup), (where, markup)
    for tag, attrs in _Tags(markup).tags:
        assert tag in BODY_TAGS, (where, tag, markup)
        for name, value in attrs:
            assert not re.fullmatch(r"on\w+", name), (where, name, markup)
            assert name != "style", (where, markup)
            if name in URL_ATTRIBUTES:
                # browsers ignore control characters and blanks inside a scheme
                squashed = re.sub(r"[\x00-\x20]", "", value or "").lower()
                assert squashed.startswith(("https:", "http:", "mailto:")), (where, value)


INLINE = {"text"}  # inline HTML; every other string of a block is plain text


def assert_blocks_inert(blocks: list[dict], where: str) -> None:
    for i, block in enumerate(blocks):
        for key, value in block.items():
            values = value if key == "items" else [value]
            for text in values:
                if not isinstance(text, str) or key in ("type", "url"):
                    continue
                assert_inert(text, f"{where}.{i}.{key}")
                if key not in INLINE and key != "items":
                    assert not ANY_TAG.search(text), (f"{where}.{i}.{key}", text)


def _blocks(payload: str) -> list[dict]:
    return [
        {"type": "paragraph", "text": f"Lead {payload} tail."},
        {"type": "heading", "text": f"Heading {payload}", "level": 3},
        {"type": "quote", "text": f"Quoted {payload}", "cite": f"Cite {payload}"},
        {"type": "list", "ordered": True, "items": [f"Item {payload}", "Second item"]},
        {"type": "image", "url": "https://img.example/a.jpg", "alt": f"Alt {payload}",
         "caption": f"Caption {payload}", "credit": f"Credit {payload}"},
        {"type": "embed", "url": "https://video.example/v/1", "title": f"Embed {payload}",
         "caption": f"Embed caption {payload}"},
    ]


# --- the renderer ----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_renderer_output_is_inert(payload):
    rendered = rendering.render_body(_blocks(payload), {})

    assert_inert(rendered.html, "html")
    assert_blocks_inert(rendered.blocks, "blocks")
    assert not ANY_TAG.search(rendered.text), rendered.text
    assert not ANY_TAG.search(rendered.lead), rendered.lead


def test_allowed_inline_markup_survives():
    text = ('Say <b>bold</b>, <strong>strong</strong>, <i>italic</i>, <em>em</em> and '
            '<a href="https://example.org/page?a=1&amp;b=2">a link</a> or '
            '<a href="mailto:desk@example.org">mail</a>.')
    rendered = rendering.render_body([{"type": "paragraph", "text": text}], {})

    html = rendered.html
    for kept in ("<b>bold</b>", "<strong>strong</strong>", "<i>italic</i>", "<em>em</em>"):
        assert kept in html
    assert re.search(r'<a href="https://example.org/page\?a=1&amp;b=2"[^>]*>a link</a>', html)
    assert re.search(r'<a href="mailto:desk@example.org"[^>]*>mail</a>', html)
    assert 'rel="noopener noreferrer"' in html
    assert rendered.blocks[0]["text"].startswith("Say <b>bold</b>")
    assert rendered.text == "Say bold, strong, italic, em and a link or mail."


def test_plain_text_keeps_ordinary_angle_brackets_and_ampersands():
    rendered = rendering.render_body(
        [{"type": "paragraph", "text": "Profits rose 3 < 4 & costs fell."},
         {"type": "quote", "text": "Quote", "cite": "Smith & Sons"}],
        {},
    )
    assert "Profits rose 3 < 4 & costs fell." in rendered.text
    assert "3 &lt; 4 &amp; costs" in rendered.html
    assert rendered.blocks[1]["cite"] == "Smith & Sons"
    assert "<cite>Smith &amp; Sons</cite>" in rendered.html


def test_attribution_names_are_escaped():
    rendered = rendering.render_body(
        [{"type": "paragraph", "text": "Text.", "attribution": {"source": "evil"}}],
        {"evil": "<script>alert(1)</script>"},
    )
    assert_inert(rendered.html, "html")
    assert rendered.html == (
        '<p>Text. <span class="attribution">(&lt;script&gt;alert(1)&lt;/script&gt;)</span></p>'
    )


# --- through the API -------------------------------------------------------------------------


@pytest.fixture
def publish(client, headers):
    def publish(payload: str, index: int) -> dict:
        created = client.post(
            "/api/v1/editor/articles",
            json={"title": f"Payload {index} {payload}", "slug": f"xss-{index}",
                  "subtitle": f"Standfirst {payload}", "section": "news",
                  "body": _blocks(payload)},
            headers=headers["editor"],
        )
        assert created.status_code == 201, created.get_json()
        article = created.get_json()
        published = client.post(
            f"/api/v1/editor/articles/{article['id']}/publish", json={},
            headers={**headers["editor"], "If-Match": created.headers["ETag"]},
        )
        assert published.status_code == 200, published.get_json()
        response = client.get(f"/api/v1/articles/{article['slug']}")
        assert response.status_code == 200
        return response.get_json()

    return publish


@pytest.mark.parametrize(("index", "payload"), list(enumerate(PAYLOADS)))
def test_published_article_is_inert(client, publish, index, payload):
    detail = publish(payload, index)

    assert_inert(detail["body_html"], "body_html")
    assert_blocks_inert(detail["body"], "body")
    assert not ANY_TAG.search(detail["body_text"]), detail["body_text"]
    for field in ("title", "subtitle", "excerpt"):
        assert_inert(detail[field], field)
        assert not ANY_TAG.search(detail[field]), (field, detail[field])
    summary = detail["summary"]
    for text in [summary["tldr"]] + [p["text"] for p in summary["key_points"]]:
        assert_inert(text, "summary")
        assert not ANY_TAG.search(text), text
    listed = client.get("/api/v1/articles?fields=title,subtitle,excerpt").get_json()["data"]
    assert listed == [{k: detail[k] for k in ("title", "subtitle", "excerpt")}]


def test_allowed_markup_survives_the_api(publish):
    payload = 'with <b>bold</b>, <i>italic</i> and <a href="https://example.org/x">a link</a>'
    detail = publish(payload, 99)

    html = detail["body_html"]
    assert "<b>bold</b>" in html and "<i>italic</i>" in html
    assert re.search(r'<a href="https://example.org/x"[^>]*>a link</a>', html)
    stored = detail["body"][0]["text"]
    assert stored.startswith("Lead with <b>bold</b>, <i>italic</i> and <a href=")
    assert_inert(stored, "text")
    assert "Lead with bold, italic and a link tail." in detail["body_text"]


@pytest.mark.parametrize(
    "change",
    [
        {"body": [{"type": "image", "url": "javascript:alert(1)", "alt": "x"}]},
        {"body": [{"type": "embed", "url": "data:text/html,<script>alert(1)</script>"}]},
        {"body": [{"type": "image", "url": "vbscript:msgbox(1)"}]},
        {"hero_image": {"url": "javascript:alert(1)"}},
        {"canonical_url": "JaVaScRiPt:alert(1)"},
    ],
)
def test_script_urls_in_url_fields_are_rejected(client, headers, users, change):
    response = client.post("/api/v1/editor/articles", json={"title": "Bad URL", **change},
                           headers=headers["editor"])
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"


def test_editor_written_texts_are_plain_for_readers(client, headers, publish):
    payload = '<img src=x onerror=alert(1)>&lt;script&gt;alert(2)&lt;/script&gt;'
    detail = publish("Quiet body", 7)
    article_id = detail["id"]
    etag = client.get(f"/api/v1/editor/articles/{article_id}",
                      headers=headers["editor"]).headers["ETag"]
    hero = client.patch(
        f"/api/v1/editor/articles/{article_id}",
        json={"hero_image": {"url": "https://img.example/h.jpg", "alt": f"Alt {payload}",
                             "caption": f"Caption {payload}", "credit": f"Credit {payload}"},
              "excerpt": f"Excerpt {payload}"},
        headers={**headers["editor"], "If-Match": etag},
    )
    assert hero.status_code == 200, hero.get_json()
    summary = client.put(
        f"/api/v1/editor/articles/{article_id}/summary",
        json={"tldr": f"Summary {payload}",
              "key_points": [{"text": f"Point {payload}", "block_index": 0}]},
        headers=headers["editor"],
    )
    assert summary.status_code == 200, summary.get_json()
    related = client.put(
        f"/api/v1/editor/articles/{article_id}/related",
        json={"links": [{"url": "https://elsewhere.example/", "title": f"Link {payload}",
                         "label": f"Label {payload}"}]},
        headers=headers["editor"],
    )
    assert related.status_code == 200, related.get_json()

    public = client.get(f"/api/v1/articles/{detail['slug']}").get_json()
    links = client.get(f"/api/v1/articles/{detail['slug']}/related").get_json()["related"]
    texts = [*public["hero_image"].values(), public["excerpt"], public["summary"]["tldr"],
             public["summary"]["key_points"][0]["text"], links[0]["title"], links[0]["label"]]
    for text in texts:
        if text and not text.startswith("https://"):
            assert_inert(text, "editor text")
            assert not ANY_TAG.search(text), text
    assert public["summary"]["tldr"].startswith("Summary")
    assert links[0]["title"].startswith("Link")


def test_title_that_is_only_markup_is_rejected(client, headers, users):
    response = client.post("/api/v1/editor/articles",
                           json={"title": "<script>alert(1)</script>"},
                           headers=headers["editor"])
    assert response.status_code == 422
    assert "title" in response.get_json()["errors"]
