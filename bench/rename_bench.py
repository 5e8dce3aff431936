"""What a taxonomy rename costs when it re-announces every article in it (§7: a visible
article's taxonomy names are public content, so each gets an ``article.updated``).

    python bench/rename_bench.py --articles 10000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/cms_bench_rename

The database is emptied and migrated first. ``--articles`` published articles are inserted in
bulk (one tag each, and the event log's state as if each had been announced), then the tag is
renamed through the taxonomy service (``taxonomy.update`` + commit): with the event log, and
again with its commit hook replaced by a no-op. Prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--articles", type=int, default=10000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="cms-rename-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.update(
        CMS_INSTANCE_PATH=tmp,
        CMS_DATABASE_URL=url,
        CMS_LOG_LEVEL="WARNING",
        CMS_RESPONSE_CACHE_SECONDS="0",
    )
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from cms import create_app
    from cms.config import sqlalchemy_url
    from cms.extensions import db
    from cms.models import Article, ArticleEventState, Event, Section, Tag, User, article_tags
    from cms.services.accounts.users import create_user
    from cms.services.content import taxonomy
    from cms.services.events import log as event_log

    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url)})
    app.app_context().push()
    if db.engine.dialect.name == "postgresql":
        downgrade(revision="base")
    upgrade()
    section = Section(slug="news", name="News", description="")
    tags = [Tag(slug="port", name="Port"), Tag(slug="rail", name="Rail")]
    db.session.add_all([section, *tags])
    admin = create_user("bench@example.org", "bench-password-123456", "admin")
    db.session.commit()
    admin = db.session.get(User, admin.id)
    start = datetime.now(UTC) - timedelta(days=30)
    body = [{"type": "paragraph", "text": "A story about the port.", "attribution": None}]
    for tag in tags:
        rows = [
            {
                "slug": f"{tag.slug}-story-{i}",
                "title": f"{tag.name} story {i}",
                "subtitle": "",
                "section_id": section.id,
                "language": "en",
                "status": "published",
                "published_at": start + timedelta(seconds=i),
                "first_published_at": start + timedelta(seconds=i),
                "created_at": start,
                "updated_at": start,
                "excerpt": "A story about the port.",
                "body": body,
                "body_html": "<p>A story about the port.</p>",
                "body_text": "A story about the port.",
                "word_count": 5,
                "reading_time_minutes": 1,
                "version": 1,
                "body_revision": 1,
            }
            for i in range(args.articles)
        ]
        db.session.execute(sa.insert(Article), rows)
        ids = db.session.scalars(
            sa.select(Article.id).where(Article.slug.like(f"{tag.slug}-story-%"))
        ).all()
        db.session.execute(
            sa.insert(article_tags), [{"article_id": i, "tag_id": tag.id} for i in ids]
        )
        # As announced: the first comparison of each finds the tag's name changed.
        db.session.execute(
            sa.insert(ArticleEventState),
            [
                {
                    "article_id": i,
                    "visible": True,
                    "fingerprint": "x",
                    "slug": None,
                    "section": "news",
                    "tags": [tag.slug],
                }
                for i in ids
            ],
        )
    db.session.commit()

    load = os.getloadavg()[0]
    print(
        f"database: {db.engine.dialect.name}; {args.articles} articles in the tag; "
        f"load average at start: {load:.1f}\n"
    )
    real = event_log.decide

    def no_event_log(session):
        for key in [k for k in session.info if str(k).startswith("cms_events_")]:
            session.info.pop(key)

    results = []
    tag_ids, admin_id = [t.id for t in tags], admin.id
    for tag_id, mode in ((tag_ids[0], "with event log"), (tag_ids[1], "without event log")):
        event_log.decide = real if mode.startswith("with ") else no_event_log
        db.session.expunge_all()
        tag, admin = db.session.get(Tag, tag_id), db.session.get(User, admin_id)
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
        started = time.perf_counter()
        taxonomy.update("tag", tag, {"name": f"{tag.name} renamed"}, actor=admin)
        db.session.commit()
        elapsed = time.perf_counter() - started
        events = db.session.scalar(sa.select(sa.func.count()).select_from(Event)) - before
        results.append((mode, elapsed, events))
    event_log.decide = real
    print("| tag rename (update + commit) | time | events |")
    print("| --- | --- | --- |")
    for mode, elapsed, events in results:
        print(f"| {mode} | {elapsed:.2f} s | {events} |")
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
