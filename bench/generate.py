"""Fill a database with realistic articles quickly, for the scale and HTTP benchmarks.

    CMS_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cms_bench \
        flask --app wsgi db upgrade
    CMS_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cms_bench \
        python bench/generate.py --count 100000 --reset

Rows go straight into the real tables (SQLAlchemy Core ``executemany``; ``COPY`` on
PostgreSQL), not through the API: derived fields (HTML, text, excerpt, word count, summary)
are computed once per body template with the application's own renderer and summarizer and
reused. Every article has a section, 1–4 tags, 1–2 authors, explicit and cited sources, an
automatic summary, a few suggested related articles; ~3% are drafts or scheduled for later,
~1% archived; ``published_at`` spreads over eight years. Deterministic for a given ``--seed``.
Link rows get their ``listed_at``; the taxonomies' ``listed_count`` is recounted at the end,
and each new article's public card is stored (``cms.services.public.cards``, as a save would).

Use a dedicated database (never the test database): ``--reset`` deletes all content first.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta

import orjson
import sqlalchemy as sa

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cms.config import sqlalchemy_url  # noqa: E402
from cms.services.content.rendering import make_excerpt, render_body  # noqa: E402
from cms.services.public import counts  # noqa: E402
from cms.services.summaries.summarizer import summarize  # noqa: E402

WORDS = str.split(
    "port harbour council budget energy grid wind solar tariff union strike ministry court "
    "ruling merger shares quarter profit forecast election coalition vote reform housing rent "
    "rail tunnel bridge airport climate flood drought harvest export import shipping container "
    "hospital school teachers nurses police inquiry report audit data privacy startup funding "
    "bank interest inflation wages pension tax refinery pipeline hydrogen battery factory jobs"
)
SECTIONS = [
    "news", "business", "politics", "world", "sport", "culture", "science", "technology",
    "climate", "health", "opinion", "local",
]
N_TAGS, N_AUTHORS, N_SOURCES, N_TEMPLATES = 300, 150, 40, 48
SOURCE_KINDS = ["newspaper", "agency", "broadcaster", "magazine", "online", "government"]
CONTENT_TABLES = [
    "related_suggestions", "related_links", "slug_redirects", "summaries", "article_features",
    "feature_keys", "term_stats", "article_tags", "article_authors", "article_sources", "articles",
    "sections", "tags", "authors", "sources",
]


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng, rng.randint(9, 18)) for _ in range(sentences))


def make_template(rng: random.Random, source_slugs: list[str], source_names: dict) -> dict:
    """Six blocks with attributions, rendered and summarized once."""
    cited = rng.sample(source_slugs, 2)
    blocks = [
        {"type": "paragraph", "text": paragraph(rng, 3), "attribution": {"source": cited[0]}},
        {"type": "paragraph", "text": paragraph(rng, 4), "attribution": None},
        {"type": "heading", "text": sentence(rng, 5)[:-1], "level": 2, "attribution": None},
        {"type": "paragraph", "text": "<b>" + sentence(rng, 6) + "</b> " + paragraph(rng, 3),
         "attribution": {"source": cited[1]}},
        {"type": "quote", "text": sentence(rng, 14), "cite": "A spokesperson",
         "attribution": {"source": cited[1]}},
        {"type": "paragraph", "text": paragraph(rng, 3), "attribution": None},
    ]
    title = sentence(rng, 7)[:-1]
    rendered = render_body(blocks, source_names)
    summary = summarize(title, rendered.blocks, "en")
    return {
        "cited": cited,
        "body": rendered.blocks,
        "body_json": orjson.dumps(rendered.blocks).decode(),
        "html": rendered.html,
        "text": rendered.text,
        "excerpt": make_excerpt(rendered.lead),
        "word_count": rendered.word_count,
        "reading_time_minutes": rendered.reading_time_minutes,
        "tldr": summary["tldr"] or title,
        "key_points": summary["key_points"],
        "key_points_json": orjson.dumps(summary["key_points"]).decode(),
    }


class Writer:
    """``write(table, columns, rows)`` through Core executemany, or COPY on PostgreSQL."""

    def __init__(self, engine: sa.Engine, metadata: sa.MetaData):
        self.engine = engine
        self.metadata = metadata
        self.postgres = engine.dialect.name == "postgresql"
        self.conn = engine.connect()
        self.trans = self.conn.begin()
        if self.postgres:
            # Generated rows are consistent by construction: skip per-row foreign-key triggers
            # (superuser only; falls back to checked inserts otherwise) and commit asynchronously.
            try:
                with self.conn.begin_nested():
                    self.conn.execute(sa.text("SET session_replication_role = replica"))
            except sa.exc.DBAPIError:
                print("  (not superuser: foreign keys checked row by row)", file=sys.stderr)
            self.conn.execute(sa.text("SET synchronous_commit = off"))

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.postgres:
            raw = self.conn.connection.driver_connection
            cols = ", ".join(columns)
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            tbl = self.metadata.tables[table]
            self.conn.execute(tbl.insert(), [dict(zip(columns, row, strict=True)) for row in rows])

    def commit(self) -> None:
        self.trans.commit()
        self.trans = self.conn.begin()

    def close(self) -> None:
        self.trans.commit()
        if self.postgres:
            self.conn.execute(sa.text("RESET session_replication_role"))
            self.conn.commit()
        self.conn.close()


def _json(value, postgres: bool, text: str | None = None):
    """JSON column value: a string for COPY, the object for Core (which serialises it)."""
    if value is None:
        return None
    if postgres:
        return text if text is not None else orjson.dumps(value).decode()
    return value


def generate(url: str, count: int, *, seed: int, reset: bool, batch: int) -> dict:
    from cms import create_app
    from cms.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CMS_ENV": "development"})
    rng = random.Random(seed)
    timings = {}
    with app.app_context():
        engine = db.engine
        metadata = db.metadata
        postgres = engine.dialect.name == "postgresql"
        if reset:
            with engine.begin() as conn:
                if postgres:
                    conn.execute(sa.text(
                        "TRUNCATE " + ", ".join(CONTENT_TABLES) + " RESTART IDENTITY CASCADE"
                    ))
                else:
                    for name in CONTENT_TABLES:
                        conn.execute(sa.text(f"DELETE FROM {name}"))
        with engine.connect() as conn:
            start_id = (conn.scalar(sa.text("SELECT max(id) FROM articles")) or 0) + 1
            have_taxonomy = conn.scalar(sa.text("SELECT count(*) FROM sections")) > 0
        started = time.perf_counter()
        w = Writer(engine, metadata)

        source_slugs = [f"source-{i}" for i in range(1, N_SOURCES + 1)]
        source_names = {s: f"Source {s.split('-')[1]}" for s in source_slugs}
        if not have_taxonomy:
            w.write("sections", ("id", "slug", "name", "description"),
                    [(i, s, s.title(), f"All {s} stories.") for i, s in enumerate(SECTIONS, 1)])
            w.write("tags", ("id", "slug", "name"),
                    [(i, f"tag-{i}", f"Tag {i}") for i in range(1, N_TAGS + 1)])
            w.write("authors", ("id", "slug", "name", "bio", "avatar_url"),
                    [(i, f"author-{i}", f"Author {i}", "Reporter.", None)
                     for i in range(1, N_AUTHORS + 1)])
            w.write("sources", ("id", "slug", "name", "url", "kind"),
                    [(i, s, source_names[s], f"https://{s}.example.org",
                      SOURCE_KINDS[i % len(SOURCE_KINDS)])
                     for i, s in enumerate(source_slugs, 1)])
            w.commit()
        source_id = {s: i for i, s in enumerate(source_slugs, 1)}

        t0 = time.perf_counter()
        templates = [make_template(rng, source_slugs, source_names) for _ in range(N_TEMPLATES)]
        heroes = [None] + [
            {"url": f"https://img.example.org/{i}.jpg", "alt": "Photo", "caption": None,
             "credit": "Agency"} for i in range(8)
        ]
        hero_json = [None if h is None else orjson.dumps(h).decode() for h in heroes]
        timings["templates_s"] = round(time.perf_counter() - t0, 2)

        now = datetime.now(UTC).replace(microsecond=0)
        span = timedelta(days=8 * 365).total_seconds()
        article_cols = (
            "id", "slug", "title", "subtitle", "section_id", "language", "status",
            "published_at", "first_published_at", "created_at", "updated_at", "hero_image",
            "canonical_url", "custom_excerpt", "excerpt", "body", "body_html", "body_text",
            "word_count", "reading_time_minutes", "version", "body_revision",
        )
        summary_cols = ("article_id", "tldr", "key_points", "origin", "source_revision",
                        "approved", "created_at", "updated_at")
        end_id = start_id + count
        for lo in range(start_id, end_id, batch):
            hi = min(lo + batch, end_id)
            arts, tags, auths, srcs, sums, sugg = [], [], [], [], [], []
            for aid in range(lo, hi):
                tpl = templates[aid % N_TEMPLATES]
                # Older ids are older articles (as in real life), with jitter.
                frac = (aid - start_id + rng.random()) / max(count, 1)
                published = now - timedelta(seconds=span * (1 - frac) + 3600)
                roll = rng.random()
                if roll < 0.02:
                    status, published_at, first = "draft", None, None
                elif roll < 0.03:
                    status = "scheduled"
                    published_at = now + timedelta(days=rng.randint(1, 30))
                    first = None
                elif roll < 0.04:
                    status, published_at, first = "archived", published, published
                else:
                    status, published_at, first = "published", published, published
                # The links carry the article's published_at while it is listed (published or
                # scheduled): cms.services.visibility.listed_at.
                listed = published_at if status in ("published", "scheduled") else None
                created = published - timedelta(hours=rng.randint(1, 48))
                words = [rng.choice(WORDS) for _ in range(rng.randint(5, 9))]
                title = " ".join(words).capitalize()
                hero = rng.randrange(len(heroes))
                arts.append((
                    aid, f"{'-'.join(words[:6])}-{aid}", title, sentence(rng, 12),
                    rng.randint(1, len(SECTIONS)), "en", status, published_at, first, created,
                    published, _json(heroes[hero], postgres, hero_json[hero]), None, None,
                    tpl["excerpt"], _json(tpl["body"], postgres, tpl["body_json"]),
                    tpl["html"], tpl["text"], tpl["word_count"], tpl["reading_time_minutes"],
                    1, 1,
                ))
                for tag in rng.sample(range(1, N_TAGS + 1), rng.randint(1, 4)):
                    tags.append((aid, tag, listed))
                for pos, author in enumerate(rng.sample(range(1, N_AUTHORS + 1),
                                                        rng.randint(1, 2))):
                    auths.append((aid, author, pos, listed))
                cited = [source_id[s] for s in tpl["cited"]]
                explicit = rng.randint(1, N_SOURCES)
                srcs.append((aid, explicit, True, 0, listed))
                for pos, sid in enumerate(dict.fromkeys(cited), 1):
                    if sid != explicit:
                        srcs.append((aid, sid, False, pos, listed))
                sums.append((aid, tpl["tldr"], _json(tpl["key_points"], postgres,
                                                     tpl["key_points_json"]),
                             "auto", 1, False, created, created))
                if aid - start_id > 10:
                    targets = {rng.randint(start_id, aid - 1) for _ in range(5)}
                    for rank, target in enumerate(sorted(targets)):
                        sugg.append((aid, target, round(0.9 - rank * 0.1, 3),
                                     "Shares tags and sources"))
            w.write("articles", article_cols, arts)
            w.write("article_tags", ("article_id", "tag_id", "listed_at"), tags)
            w.write("article_authors", ("article_id", "author_id", "position", "listed_at"),
                    auths)
            w.write("article_sources",
                    ("article_id", "source_id", "explicit", "position", "listed_at"), srcs)
            w.write("summaries", summary_cols, sums)
            w.write("related_suggestions", ("article_id", "target_id", "score", "reason"), sugg)
            w.commit()
            done = hi - start_id
            if done % (batch * 10) == 0 or hi == end_id:
                rate = done / (time.perf_counter() - started)
                print(f"  {done:>9,} articles  ({rate:,.0f}/s)", file=sys.stderr)
        if postgres:
            for table in ("articles", "sections", "tags", "authors", "sources"):
                w.conn.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                ))
        w.close()
        timings["insert_s"] = round(time.perf_counter() - started, 1)
        t0 = time.perf_counter()
        with engine.begin() as conn:  # listed_count of every section, tag, author and source
            counts.recount(conn, links=False)
        timings["recount_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        timings["cards"] = store_cards(start_id)
        timings["cards_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE" if postgres else "ANALYZE"))
        timings["analyze_s"] = round(time.perf_counter() - t0, 1)
        with engine.connect() as conn:
            total = conn.scalar(sa.text("SELECT count(*) FROM articles"))
        timings["articles_total"] = total
    return timings


def store_cards(first_id: int, chunk: int = 5000) -> int:
    """The stored JSON card of each new article, built by the app's own code (what a save
    would store; see cms/services/cards.py), committed chunk by chunk."""
    from cms.extensions import db
    from cms.models import Article
    from cms.services.public import cards

    ids = db.session.scalars(
        sa.select(Article.id).where(Article.id >= first_id).order_by(Article.id)
    ).all()
    for start in range(0, len(ids), chunk):
        cards.build(ids[start : start + chunk])
        db.session.commit()
    return len(ids)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="articles to add")
    parser.add_argument("--database-url", default=os.environ.get("CMS_DATABASE_URL"),
                        help="SQLAlchemy URL (default: CMS_DATABASE_URL)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--reset", action="store_true", help="delete all content first")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set CMS_DATABASE_URL")
    url = sqlalchemy_url(args.database_url)
    started = time.perf_counter()
    timings = generate(url, args.count, seed=args.seed, reset=args.reset, batch=args.batch)
    timings["total_s"] = round(time.perf_counter() - started, 1)
    out = io.StringIO()
    out.write(f"generated {args.count:,} articles into {sa.make_url(url).render_as_string()}: ")
    out.write(", ".join(f"{k}={v}" for k, v in timings.items()))
    print(out.getvalue())


if __name__ == "__main__":
    main()
