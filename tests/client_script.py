"""What a new user does with a Python client generated from the served OpenAPI document.

Run by tests/test_generated_client.py as ``python client_script.py BASE_URL EMAIL PASSWORD``
with the generated package ``newsroom_client`` importable; prints one line per step.
"""

import sys

from newsroom_client import AuthenticatedClient, Client
from newsroom_client.api.editor_articles import create_article, publish_article
from newsroom_client.api.editor_auth import login
from newsroom_client.api.public_articles import (
    get_article,
    get_article_summary,
    get_related_articles,
    list_articles,
)
from newsroom_client.models import (
    ArticleDetail,
    ArticleIn,
    ArticlePage,
    ArticleStatus,
    EditorArticleOut,
    LoginIn,
    ParagraphBlock,
    ParagraphBlockType,
    Problem,
    PublishIn,
    RelatedOut,
    SummaryOut,
)

base_url, email, password = sys.argv[1:4]
public = Client(base_url=base_url, raise_on_unexpected_status=True)

first = list_articles.sync(client=public, limit=2)
assert isinstance(first, ArticlePage) and len(first.data) == 2, first
second = list_articles.sync(client=public, limit=2, cursor=first.meta.next_cursor)
assert isinstance(second, ArticlePage) and second.data, second
assert not {a.slug for a in first.data} & {a.slug for a in second.data}
print("list:", [a.slug for a in first.data], "then", [a.slug for a in second.data])

slug = first.data[0].slug
detail = get_article.sync(client=public, slug=slug)
assert isinstance(detail, ArticleDetail) and detail.slug == slug, detail
print(
    "detail:", detail.title, "| hero image:", detail.hero_image, "| section:", detail.section.name
)

summary = get_article_summary.sync(client=public, slug=slug)
assert isinstance(summary, SummaryOut) and summary.tldr, summary
print("summary:", summary.origin.value, summary.tldr[:60])

related = get_related_articles.sync(client=public, slug=slug, limit=3)
assert isinstance(related, RelatedOut), related
print("related:", [item.title for item in related.related])

tokens = login.sync(client=public, body=LoginIn(email=email, password=password))
editor = AuthenticatedClient(base_url=base_url, token=tokens.access_token)
print("login: token expires in", tokens.expires_in, "s")

draft = ArticleIn(
    title="Ferry Timetable Changes From Monday",
    section="news",
    body=[
        ParagraphBlock(
            type_=ParagraphBlockType.PARAGRAPH,
            text="The harbour ferry runs every 20 minutes from Monday, the operator said.",
        )
    ],
)
created = create_article.sync_detailed(client=editor, body=draft)
assert created.status_code == 201 and isinstance(created.parsed, EditorArticleOut), created
etag = created.headers["ETag"]
print("created:", created.parsed.id, created.parsed.status.value, etag)

published = publish_article.sync_detailed(
    client=editor, article_id=created.parsed.id, if_match=etag, body=PublishIn()
)
assert published.status_code == 200, published
assert published.parsed.status == ArticleStatus.PUBLISHED, published.parsed
print("published:", published.parsed.slug, published.headers["ETag"])

stale = publish_article.sync_detailed(client=editor, article_id=created.parsed.id, if_match=etag)
assert stale.status_code == 412, stale
assert isinstance(stale.parsed, Problem) and stale.parsed.status == 412, stale.parsed
assert stale.parsed.current_version == published.parsed.version
print("stale:", stale.status_code, stale.parsed.title, "-", stale.parsed.detail)
