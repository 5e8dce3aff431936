"""Cost of suggested related articles: publishing one article, and reading ``/related``.

    python bench/related_bench.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \
        --count 10000
    python bench/related_bench.py --database-url sqlite --count 10000

For one database and ``--count`` N the script

1. creates a fresh database (PostgreSQL: ``cms_related_<N>`` on the server of the URL, dropped
   at the end; SQLite: a temporary file), runs ``flask --app wsgi db upgrade`` and
   ``python bench/generate.py --count N``;
2. fills the similarity tables in bulk: ``scoring.extract_features`` per article (in two
   processes) from what the database holds, then ``article_features``, ``feature_keys`` and
   ``term_stats`` (COPY on PostgreSQL, executemany on SQLite); ``related_suggestions`` is
   replaced by 40 stored suggestions per article (the service's ``STORED_PER_ARTICLE``), taken
   from articles of the same story or sharing a tag;
3. measures with the application's own code in an app context: ``create_article`` +
   ``publish`` + commit of ``--publishes`` new articles (and, separately, the
   ``update_article_suggestions`` step inside it), then ``GET /api/v1/articles/<slug>/related``
   through the Flask test client (response cache off) for ``--reads`` visible articles.

The generator reuses 48 body templates written with a 60-word vocabulary, so on its own every
article would share every term with every other one. To give the corpus the shape of news
(stories with their own names and words, many articles per story), each generated article is
assigned a story (Zipf-distributed over N/10 stories); the story's paragraph -- three proper
names and 24 words from a 30,000-word synthetic vocabulary -- is added to the text the
features are computed from (not written to ``body_text``: nothing measured here reads it).
The published articles carry the paragraph of an existing story in their body.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import accumulate

import orjson
import sqlalchemy as sa

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generate import Writer  # noqa: E402

from cms.config import sqlalchemy_url  # noqa: E402
from cms.services.related import scoring  # noqa: E402

STORED = 40
VOCAB = 30_000
SYLLABLES = str.split(
    "ka lo mi ne ru sa ti vo be da fe gi ha ju ko la ma no pe qui ro su ta ve wi xa yo ze "
    "bor dan fel gar hul kin lor mar nor pel ris sul tor vin wal zen"
)


def _pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


class Stories:
    """Deterministic synthetic stories: names and words shared by the articles of one story."""

    def __init__(self, n_stories: int, seed: int):
        rng = random.Random(seed)
        self.vocab = list(dict.fromkeys(_pseudo_word(rng) for _ in range(VOCAB * 2)))[:VOCAB]
        names = [w.capitalize() for w in self.vocab[: VOCAB // 3]]
        self.stories = []
        for _ in range(n_stories):
            people = [f"{rng.choice(names)} {rng.choice(names)}" for _ in range(2)]
            place = rng.choice(names) + " " + rng.choice(["Authority", "Council", "Group"])
            words = [self.vocab[int(rng.paretovariate(0.6)) % VOCAB] for _ in range(24)]
            self.stories.append((people + [place], words))
        # Zipf-like popularity: a few stories have many articles, most have a few.
        self.cum = list(accumulate(1.0 / (i + 1) ** 0.8 for i in range(n_stories)))

    def pick(self, rng: random.Random) -> int:
        return rng.choices(range(len(self.stories)), cum_weights=self.cum)[0]

    def paragraph(self, story: int, rng: random.Random) -> str:
        names, words = self.stories[story]
        picked = rng.sample(words, 16)
        return (
            f"{names[0]} met {names[1]} on the {names[2]} board. "
            + " ".join(picked[:8]).capitalize()
            + f" according to {names[2]}. "
            + " ".join(picked[8:]).capitalize()
            + f", {names[0]} added."
        )


def _extract(row):
    aid, title, subtitle, text, tags, section, sources, authors, published, language = row
    f = scoring.extract_features(
        title=title, subtitle=subtitle, text=text, tags=tags, section=section, sources=sources,
        authors=authors, published_at=published, language=language,
    )
    return aid, f


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _run(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def fill_similarity(url: str, count: int, seed: int, timings: dict) -> tuple[Stories, dict]:
    """Features, keys, document frequencies and stored suggestions for every article."""
    from cms import create_app
    from cms.extensions import db
    from cms.services.related.suggestions import _fingerprint

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CMS_ENV": "development"})
    stories = Stories(max(count // 10, 20), seed)
    rng = random.Random(seed + 1)
    with app.app_context():
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
        t0 = time.perf_counter()
        with engine.connect() as conn:
            def multi(sql):
                out = defaultdict(list)
                for aid, slug in conn.execute(sa.text(sql)):
                    out[aid].append(slug)
                return out

            tags = multi("SELECT at.article_id, t.slug FROM article_tags at "
                         "JOIN tags t ON t.id = at.tag_id")
            sources = multi("SELECT s2.article_id, s.slug FROM article_sources s2 "
                            "JOIN sources s ON s.id = s2.source_id ORDER BY s2.position")
            authors = multi("SELECT aa.article_id, a.slug FROM article_authors aa "
                            "JOIN authors a ON a.id = aa.author_id ORDER BY aa.position")
            articles = conn.execute(sa.text(
                "SELECT a.id, a.title, a.subtitle, a.body_text, s.slug, a.published_at, "
                "a.created_at, a.language FROM articles a "
                "LEFT JOIN sections s ON s.id = a.section_id ORDER BY a.id"
            )).all()
        story_of = {}
        rows = []
        for aid, title, subtitle, text, section, published, created, language in articles:
            story = stories.pick(rng)
            story_of[aid] = story
            if isinstance(published, str):  # SQLite without the ORM's type
                published = datetime.fromisoformat(published)
            if isinstance(created, str):
                created = datetime.fromisoformat(created)
            when = published or created
            if when is not None and when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            rows.append((aid, title, subtitle or "",
                         (text or "") + "\n" + stories.paragraph(story, rng),
                         tags[aid], section, sources[aid], authors[aid], when, language or "en"))
        with multiprocessing.get_context("fork").Pool(2) as pool:
            features = pool.map(_extract, rows, chunksize=200)
        timings["features_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        now = datetime.now(UTC)
        df: dict[str, int] = defaultdict(int)
        w = Writer(engine, db.metadata)
        feat_rows, key_rows = [], []
        for aid, f in features:
            data = f.to_dict()
            feat_rows.append((aid, _fingerprint(f),
                              orjson.dumps(data).decode() if postgres else data, now))
            key_rows.extend((k, aid) for k in set(scoring.candidate_keys(f)))
            for k in scoring.df_keys(f):
                df[k] += 1
            if len(feat_rows) >= 5000:
                w.write("article_features", ("article_id", "fingerprint", "features",
                                             "computed_at"), feat_rows)
                w.write("feature_keys", ("key", "article_id"), key_rows)
                w.commit()
                feat_rows, key_rows = [], []
        w.write("article_features", ("article_id", "fingerprint", "features", "computed_at"),
                feat_rows)
        w.write("feature_keys", ("key", "article_id"), key_rows)
        w.write("term_stats", ("term", "df"), sorted(df.items()))
        w.commit()

        # 40 stored suggestions per article: same story first, then a shared tag.
        members = defaultdict(list)
        for aid, story in story_of.items():
            members[story].append(aid)
        by_tag = defaultdict(list)
        for aid, slugs in tags.items():
            for slug in slugs:
                by_tag[slug].append(aid)
        w.conn.execute(sa.text("DELETE FROM related_suggestions"))
        sugg = []
        for aid, story in story_of.items():
            picked = [m for m in members[story] if m != aid][:STORED]
            for slug in tags[aid]:
                if len(picked) >= STORED:
                    break
                pool_ = by_tag[slug]
                picked.extend(rng.sample(pool_, min(len(pool_), STORED - len(picked))))
            seen = set()
            for rank, target in enumerate(t for t in picked if t != aid):
                if target in seen or len(seen) >= STORED:
                    continue
                seen.add(target)
                sugg.append((aid, target, round(0.9 - rank * 0.02, 4), "shared tags: tag"))
            if len(sugg) >= 100_000:
                w.write("related_suggestions", ("article_id", "target_id", "score", "reason"),
                        sugg)
                w.commit()
                sugg = []
        w.write("related_suggestions", ("article_id", "target_id", "score", "reason"), sugg)
        w.close()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE" if postgres else "ANALYZE"))
            counts = {
                t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}"))
                for t in ("article_features", "feature_keys", "term_stats",
                          "related_suggestions")
            }
        timings["similarity_load_s"] = time.perf_counter() - t0
        db.engine.dispose()
    return stories, counts


BODY_BLOCKS = [
    {"type": "paragraph",
     "text": "The port of Westerhaven handled a record 4.2 million containers last year, "
             "the port authority said on Monday. Officials expect further growth.",
     "attribution": {"source": "source-1"}},
    {"type": "heading", "text": "Why it matters", "level": 2},
    {"type": "paragraph",
     "text": "Dockworkers warned that the <b>pace of automation</b> threatens jobs. "
             "Their union plans a ballot in spring. Talks resume next week.",
     "attribution": {"source": "source-2"}},
    {"type": "quote", "text": "We will not be left behind.", "cite": "Union leader",
     "attribution": None},
    {"type": "paragraph",
     "text": "Shipping lines have added three new routes to Asia. Analysts see more traffic. "
             "The city plans to dredge the channel by 2028.",
     "attribution": None},
]


def measure(url: str, stories: Stories, publishes: int, reads: int, seed: int) -> dict:
    from cms import create_app
    from cms.extensions import db
    from cms.models import Article, Suggestion
    from cms.services.accounts.users import create_user
    from cms.services.content import articles as article_service
    from cms.services.related import suggestions
    from cms.services.workflow import publishing

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "CMS_ENV": "development", "TESTING": True,
        "CMS_RESPONSE_CACHE_SECONDS": 0, "RATELIMIT_ENABLED": False,
        "CMS_PASSWORD_HASH_PROFILE": "test",
    })
    rng = random.Random(seed + 2)
    result: dict = {}
    with app.app_context():
        actor = create_user("related-bench@example.org", "correct horse battery staple",
                            "admin", author="author-1")
        db.session.commit()
        step: list[float] = []
        spent = [0.0]  # in update_article_suggestions, summed over create and publish
        original = suggestions.update_article_suggestions

        def timed(article):
            t0 = time.perf_counter()
            original(article)
            spent[0] += time.perf_counter() - t0

        suggestions.update_article_suggestions = timed
        totals, stored = [], []
        try:
            for _ in range(publishes + 1):  # the first one warms caches and is dropped
                story = stories.pick(rng)
                body = BODY_BLOCKS + [{"type": "paragraph", "attribution": None,
                                       "text": stories.paragraph(story, rng)}]
                data = {
                    "title": f"{' '.join(rng.sample(stories.stories[story][1], 4)).capitalize()}"
                             f" as {stories.stories[story][0][2]} decides",
                    "subtitle": "What the decision means for the region.",
                    "body": body,
                    "section": rng.choice(["news", "business", "politics", "local"]),
                    "tags": [f"tag-{t}" for t in rng.sample(range(1, 301), 3)],
                    "sources": [f"source-{rng.randint(1, 40)}"],
                    "authors": [f"author-{rng.randint(1, 150)}"],
                }
                spent[0] = 0.0
                t0 = time.perf_counter()
                article = article_service.create_article(data, actor=actor)
                publishing.perform(article, "publish", actor=actor,
                                   expected_version=article.version,
                                   publish_at=datetime.now(UTC) - timedelta(minutes=1))
                db.session.commit()
                totals.append(time.perf_counter() - t0)
                step.append(spent[0])
                stored.append(db.session.scalar(
                    sa.select(sa.func.count()).select_from(Suggestion)
                    .where(Suggestion.article_id == article.id)))
        finally:
            suggestions.update_article_suggestions = original
        totals, step, stored = totals[1:], step[1:], stored[1:]
        result.update(
            publish_p50=statistics.median(totals), publish_p95=_percentile(totals, 0.95),
            step_p50=statistics.median(step), step_p95=_percentile(step, 0.95),
            stored_mean=statistics.mean(stored),
        )

        now = datetime.now(UTC)
        slugs = db.session.scalars(
            sa.select(Article.slug).where(Article.status == "published",
                                          Article.published_at <= now).order_by(Article.id)
        ).all()
        db.session.remove()
        picked = [slugs[int(i * len(slugs) / reads)] for i in range(reads)]
        client = app.test_client()
        client.get(f"/api/v1/articles/{picked[0]}/related")
        times, items = [], []
        for slug in picked:
            t0 = time.perf_counter()
            response = client.get(f"/api/v1/articles/{slug}/related")
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200, (slug, response.status_code)
            items.append(sum(1 for r in response.get_json()["related"]
                             if r["kind"] == "suggested"))
        result.update(read_p50=statistics.median(times), read_p95=_percentile(times, 0.95),
                      read_items=statistics.mean(items))
        db.session.remove()
        db.engine.dispose()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True,
                        help="a PostgreSQL server URL (any database on it), or 'sqlite'")
    parser.add_argument("--count", type=int, required=True, help="articles to generate")
    parser.add_argument("--publishes", type=int, default=20)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    instance = tempfile.mkdtemp(prefix="cms-related-")
    if args.database_url.startswith("postgresql"):
        base = sa.make_url(sqlalchemy_url(args.database_url))
        name = f"cms_related_{args.count}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        label = "PostgreSQL"

        def drop():
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        url = f"sqlite:///{instance}/related.sqlite3"
        label = "SQLite"

        def drop():
            for suffix in ("", "-wal", "-shm"):
                path = f"{instance}/related.sqlite3{suffix}"
                if os.path.exists(path):
                    os.remove(path)

    env = {**os.environ, "CMS_DATABASE_URL": url, "CMS_INSTANCE_PATH": instance}
    timings: dict = {}
    try:
        timings["migrate_s"] = _run(["flask", "--app", "wsgi", "db", "upgrade"], env)
        timings["generate_s"] = _run(
            [sys.executable, "bench/generate.py", "--count", str(args.count)], env)
        stories, counts = fill_similarity(url, args.count, args.seed, timings)
        result = measure(url, stories, args.publishes, args.reads, args.seed)
    finally:
        drop()
        shutil.rmtree(instance, ignore_errors=True)  # the database file, the secret key
    load = os.getloadavg()
    print(
        f"{label}, {args.count:,} articles: "
        + ", ".join(f"{k}={v:.1f}" for k, v in timings.items())
        + f"; rows {counts}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
        file=sys.stderr,
    )
    ms = {k: v * 1000 for k, v in result.items() if k.endswith(("_p50", "_p95"))}
    print("| database | articles | create+publish p50 / p95 ms | suggestions step p50 / p95 ms "
          "| stored per new article | /related p50 / p95 ms | suggested items per read | "
          "load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {label} | {args.count:,} | {ms['publish_p50']:.0f} / {ms['publish_p95']:.0f} "
        f"| {ms['step_p50']:.0f} / {ms['step_p95']:.0f} | {result['stored_mean']:.0f} "
        f"| {ms['read_p50']:.1f} / {ms['read_p95']:.1f} | {result['read_items']:.1f} "
        f"| {load[0]:.1f} |"
    )


if __name__ == "__main__":
    main()
