"""Bulk import speed: ``flask --app wsgi import`` into an empty database.

    python bench/import_bench.py --count 5000 \
        --database-url postgresql://postgres@127.0.0.1:5432/postgres

Writes a JSON-lines file of wire-like articles (every paragraph its own random text, so nothing
the importer derives can be reused between articles: render, summary, features, search entry;
3–8 blocks of paragraphs, headings, quotes and lists with attributions, 1–4 of 400 tags, 1–2 of
150 authors, 12 sections, 40 sources, 90% published over the last five years, 10% drafts; taxonomy
entries don't exist before the import). Then, for each database: creates an empty one
(``<name>_import_bench``, dropped after unless ``--keep``; SQLite: a temporary file), runs the
migrations, times the import command as a subprocess, counts the derived-data jobs it left for
the worker, times draining them (``flask --app wsgi derived run-pending``, what the worker does)
and checks the result: loaded count, stored cards, search entries, suggestions and summaries for
every article, and taxonomy counts equal to a recount. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import orjson
import sqlalchemy as sa

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from cms.config import sqlalchemy_url  # noqa: E402

SYLLABLES = str.split("ka lo mi ra te su na vo pe di ga re bo li fa nu se to ha mo")
COMMON = str.split(
    "the a of to in and for on with at by from that is was said after over new more than its "
    "city council port union court energy budget government minister police report workers"
)
SECTIONS = [
    "news",
    "business",
    "politics",
    "world",
    "sport",
    "culture",
    "science",
    "local",
    "technology",
    "climate",
    "health",
    "opinion",
]


def word(rng: random.Random) -> str:
    if rng.random() < 0.45:
        return rng.choice(COMMON)
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def sentence(rng: random.Random) -> str:
    words = [word(rng) for _ in range(rng.randint(8, 20))]
    if rng.random() < 0.3:
        words[rng.randrange(len(words))] = rng.choice(["Westerhaven", "Nordmark", "Achterberg"])
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))


def article(rng: random.Random, i: int, now: datetime) -> dict:
    sources = [f"source-{n}" for n in rng.sample(range(40), 3)]
    body = []
    for _ in range(rng.randint(3, 8)):
        kind = rng.choices(["paragraph", "heading", "quote", "list"], [10, 1, 1, 1])[0]
        attribution = {"source": rng.choice(sources)} if rng.random() < 0.4 else None
        if kind == "paragraph":
            text = paragraph(rng)
            if rng.random() < 0.2:
                text = f"<b>{sentence(rng)}</b> {text}"
            body.append({"type": "paragraph", "text": text, "attribution": attribution})
        elif kind == "heading":
            body.append({"type": "heading", "level": 2, "text": sentence(rng)[:-1]})
        elif kind == "quote":
            body.append(
                {
                    "type": "quote",
                    "text": sentence(rng),
                    "cite": "A spokesperson",
                    "attribution": attribution,
                }
            )
        else:
            body.append(
                {"type": "list", "ordered": False, "items": [sentence(rng) for _ in range(3)]}
            )
    line = {
        "title": f"{sentence(rng)[:-1][:90]} {i}",
        "subtitle": sentence(rng),
        "section": rng.choice(SECTIONS),
        "tags": [f"tag-{n}" for n in rng.sample(range(400), rng.randint(1, 4))],
        "authors": [f"author-{n}" for n in rng.sample(range(150), rng.randint(1, 2))],
        "sources": sources[:1],
        "language": "en",
        "body": body,
    }
    if rng.random() < 0.9:
        line["status"] = "published"
        line["published_at"] = (
            now - timedelta(minutes=rng.randint(1, 5 * 365 * 24 * 60))
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
    return line


def write_file(path: str, count: int, seed: int) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with open(path, "wb") as out:
        for i in range(count):
            out.write(orjson.dumps(article(rng, i, now)) + b"\n")


def import_env(url: str) -> dict:
    """The environment of the import's commands against the database ``url``."""
    env = dict(os.environ, CMS_DATABASE_URL=url, CMS_LOG_LEVEL="WARNING")
    env.setdefault("CMS_INSTANCE_PATH", tempfile.mkdtemp())
    return env


def run_flask(url: str, *args: str, code: str = ROOT) -> subprocess.CompletedProcess:
    """``flask --app wsgi *args`` of the checkout ``code`` against ``url``."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=code,
        env=import_env(url),
        capture_output=True,
        text=True,
        check=False,
    )


def check(url: str, count: int) -> dict:
    """What the import left behind, and whether the counts agree with a recount."""
    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.connect() as c:

        def n(sql: str) -> int:
            return c.execute(sa.text(sql)).scalar()

        found = {
            "articles": n("SELECT count(*) FROM articles"),
            "cards": n(
                "SELECT count(*) FROM article_cards d JOIN articles a "
                "ON a.id = d.article_id AND a.version = d.article_version"
            ),
            "search": n("SELECT count(*) FROM article_search"),
            "summaries": n("SELECT count(*) FROM summaries"),
            "with_suggestions": n("SELECT count(DISTINCT article_id) FROM related_suggestions"),
            "features": n("SELECT count(*) FROM article_features"),
            "jobs": n("SELECT count(*) FROM derived_jobs"),
        }
        wrong = 0
        for table, link, column in (
            ("sections", None, "section_id"),
            ("tags", "article_tags", "tag_id"),
            ("authors", "article_authors", "author_id"),
            ("sources", "article_sources", "source_id"),
        ):
            if link is None:
                counted = (
                    f"SELECT count(*) FROM articles a WHERE a.{column} = t.id "
                    "AND a.status IN ('published', 'scheduled')"
                )
            else:
                counted = (
                    f"SELECT count(*) FROM {link} l JOIN articles a ON a.id = l.article_id "
                    f"WHERE l.{column} = t.id AND a.status IN ('published', 'scheduled')"
                )
            wrong += n(f"SELECT count(*) FROM {table} t WHERE t.listed_count != ({counted})")
        found["wrong_counts"] = wrong
    engine.dispose()
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(url: str, path: str, count: int, batch: int, code: str = ROOT) -> dict:
    upgrade = run_flask(url, "db", "upgrade", code=code)
    if upgrade.returncode:
        sys.exit(upgrade.stderr)
    load = os.getloadavg()[0]
    cpu = _children_cpu()
    started = time.perf_counter()
    done = run_flask(url, "import", path, "--batch-size", str(batch), code=code)
    wall = time.perf_counter() - started
    # user + system time of the import command and the worker processes it waited for
    cpu = _children_cpu() - cpu
    if done.returncode:
        sys.exit(done.stdout + done.stderr)
    reported = re.search(r"Loaded (\d+) articles in ([\d.]+) s \((\d+) articles/s\)", done.stdout)
    jobs = check(url, count)["jobs"]
    started = time.perf_counter()
    drained = run_flask(url, "derived", "run-pending", code=code)
    drain = time.perf_counter() - started
    if drained.returncode:
        sys.exit(drained.stdout + drained.stderr)
    return {
        "load": load,
        "cpu": cpu,
        "wall": wall,
        "jobs_after_import": jobs,
        "drain": drain,
        "line": done.stdout.strip(),
        "rate": int(reported.group(3)),
        "loaded": int(reported.group(1)),
        **check(url, count),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        help="PostgreSQL server URL (a database <name>_import_bench is created "
        "next to it) or sqlite (a temporary file); repeatable",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--code",
        action="append",
        default=[],
        help="a checkout whose commands to run (e.g. an older version unpacked with "
        "`git archive`); repeatable, run in turn on the same file; default: this one",
    )
    args = parser.parse_args(argv)
    urls = args.database_url or ["postgresql://postgres@127.0.0.1:5432/postgres"]
    work = tempfile.mkdtemp()
    path = os.path.join(work, "articles.jsonl")
    write_file(path, args.count, args.seed)
    print(
        f"{args.count} articles, {os.path.getsize(path) / 1e6:.1f} MB of JSON lines; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print()
    print(
        "| code | database | articles | load average | import command (its own figure) | "
        "wall incl. start-up | CPU of the import command (user+sys, with its workers) | "
        "jobs left for the worker | drain (`derived run-pending`) | "
        "cards | search | summaries | with suggestions after the drain | wrong counts |"
    )
    print("| --- | --- |" + " ---: |" * 12)
    for code, url in ((c, u) for c in args.code or [ROOT] for u in urls):
        if url.startswith("sqlite"):
            sqlite_file = os.path.join(work, "import_bench.sqlite3")
            if os.path.exists(sqlite_file):  # from the run of another --code
                os.remove(sqlite_file)
            target = f"sqlite:///{sqlite_file}"
            label, admin = "SQLite", None
        else:
            base = sa.engine.make_url(sqlalchemy_url(url))
            name = f"{base.database}_import_bench"
            admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
                c.execute(sa.text(f'CREATE DATABASE "{name}"'))
            target = base.set(database=name).render_as_string(hide_password=False)
            label = "PostgreSQL"
        try:
            r = run(target, path, args.count, args.batch, code)
        finally:
            if admin is not None and not args.keep:
                with admin.connect() as c:
                    c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        print(
            f"| {os.path.basename(os.path.abspath(code))} | {label} | {r['loaded']:,} | "
            f"{r['load']:.1f} | **{r['rate']} articles/s** | "
            f"{r['loaded'] / r['wall']:.0f} articles/s ({r['wall']:.1f} s) | "
            f"{r['cpu']:.1f} s ({r['cpu'] / r['loaded'] * 1000:.1f} ms/article) | "
            f"{r['jobs_after_import']:,} | {r['loaded'] / r['drain']:.1f} articles/s "
            f"({r['drain']:.1f} s) | {r['cards']:,} | "
            f"{r['search']:,} | {r['summaries']:,} | {r['with_suggestions']:,} | "
            f"{r['wrong_counts']} |"
        )
    print()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
