"""Search latency at scale: median and p95 of ``GET /api/v1/search`` on N articles.

    python bench/search_bench.py                      # SQLite file in a temp dir, 100,000 articles
    CMS_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cms_search_bench \
        python bench/search_bench.py --write-readme

The database is migrated, then (only when it holds no articles) filled with ``--articles``
generated articles by bulk inserts (``executemany``) straight into the tables, and indexed with
the same set-based statement ``flask rebuild search`` runs; the articles' cards are stored as
``flask rebuild cards --missing`` stores them. A database that already holds articles is
searched as it is (cards stored where missing), so a second run measures without
regenerating.

The text is built for search: a Zipf-distributed vocabulary of ~1,000 real news words plus a
long tail of 30,000 made-up names, recurring phrases ("port authority", "interest rates"),
15% German articles, 1–3 of 300 tags each, and about 5% drafts or scheduled articles. Each
query runs through the Flask test client (routing, validation, SQL, serialisation; no network)
with the response cache and rate limit off, once to warm up and then ``--runs`` times.
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cms import create_app  # noqa: E402
from cms.config import sqlalchemy_url  # noqa: E402
from cms.extensions import db  # noqa: E402
from cms.models import Article, Author, Section, Source, Tag, article_tags  # noqa: E402
from cms.services.public import cards  # noqa: E402
from cms.services.search import index as search_index  # noqa: E402

README = Path(__file__).with_name("README.md")

EN_WORDS = str.split(
    """
    the of and to in a is that for on was with he it as at by from his an were are which this
    be has had not have but its they their been after who more one new two also than all when
    said year years first over last into people would could about other city government
    minister council company police court state president party report market prices energy
    port harbour union strike workers wages pay talks deal agreement budget tax spending bank
    interest rates inflation economy growth jobs unemployment housing rent homes construction
    rail train bus airport flights ferry shipping container terminal cargo trade exports imports
    tariffs factory plant production industry steel chemicals car cars electric battery
    hydrogen wind solar grid power electricity gas oil heating climate emissions flood storm
    drought weather summer winter season football match league club coach players goal cup
    final championship stadium fans team season transfer school schools teachers students
    university research scientists study hospital patients doctors nurses health care vaccine
    virus election vote voters coalition opposition parliament mayor reform law bill ruling
    judge trial investigation inquiry prosecutors charges fraud corruption scandal shares
    investors profit loss quarter revenue forecast merger acquisition takeover startup funding
    technology software data privacy security cyber attack police officers crime arrest
    museum festival concert theatre film music artist exhibition book author culture tourism
    visitors hotel restaurant prices food farmers harvest water supply pipeline refinery
    network internet mobile phone digital platform service customers consumers retail sales
    shops pension pensions benefits welfare families children parents women men young older
    residents neighbourhood district region national international european global local
    week month day morning evening night monday tuesday wednesday thursday friday saturday
    sunday january february march april may june july august september october november
    december percent million billion euros dollars increase decrease rise fall record
    highest lowest expected announced plans proposal decision warning crisis protest
    demonstration walkout stoppage dockworkers negotiations mediator offer demands contract
    authority officials spokesperson statement interview according sources documents
    """
)
EN_PHRASES = [
    "port authority",
    "interest rates",
    "climate change",
    "central bank",
    "city council",
    "energy prices",
    "trade union",
    "public transport",
    "supply chain",
    "housing market",
]
DE_WORDS = str.split(
    """
    der die das und in den von zu mit sich des auf für ist im dem nicht ein eine als auch es
    an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so
    zum war haben nur oder aber vor zur bis mehr durch man sein wurde sei hafen häfen
    hafenarbeiter gewerkschaft gewerkschaften streik streiks streikten streikende löhne lohn
    tarif tarifverhandlungen arbeitgeber stadt stadtrat bürgermeister haushalt steuern
    energie strom gas preise heizung fernwärme wohnungen mieten miete regierung ministerium
    gericht urteil polizei unternehmen aktien gewinn umsatz quartal prognose wirtschaft
    wachstum arbeitsplätze bahn züge flughafen schiffe containerschiffe ladung export import
    fabrik werk produktion klima hochwasser sturm fußball verein spiel mannschaft trainer
    schule schulen lehrer schüler universität krankenhaus ärzte patienten wahl wähler
    koalition opposition parlament gesetz reform prozent millionen milliarden euro montag
    dienstag mittwoch donnerstag freitag samstag sonntag woche monat jahr jahren
    """
)
DE_PHRASES = ["im hafen", "die gewerkschaft", "der stadtrat", "die preise"]
SECTIONS = ["news", "business", "politics", "world", "sport", "culture", "science", "local"]
N_TAGS, N_AUTHORS, N_SOURCES, N_RARE = 300, 80, 20, 30_000
SYLLABLES = str.split("ka lo ven mar sti bel dor qua ni zen tor rhu fal gri sen lu wa pe xo")

# (label, query string parameters); rare words and the cursor are filled in at run time.
QUERIES = [
    ("common word", {"q": "government"}),
    ("medium word", {"q": "pipeline"}),
    ("rare name", {"q": "{rare}"}),
    ("two words", {"q": "energy prices"}),
    ("stemmed form", {"q": "strikes"}),
    ("phrase", {"q": '"port authority"'}),
    ("prefix", {"q": "infla*"}),
    ("OR and exclusion", {"q": "strike OR walkout -football"}),
    ("with section filter", {"q": "budget", "section": "business"}),
    ("with tag filter", {"q": "harbour", "tag": "tag-7"}),
    ("German words", {"q": "Gewerkschaften Streik"}),
    ("with stop words", {"q": "the strike at the port"}),
    ("no hits", {"q": "zzyzxqv"}),
    ("page 2 of common word", {"q": "government", "cursor": "{cursor}"}),
]


def _zipf(words: list[str], exponent: float = 1.0) -> tuple[list[str], list[float]]:
    weights = [1.0 / (rank + 1) ** exponent for rank in range(len(words))]
    return words, list(accumulate(weights))


class TextMaker:
    def __init__(self, rng: random.Random):
        self.rng = rng
        rare = {
            "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
            for _ in range(N_RARE * 2)
        }
        self.rare = sorted(rare)[:N_RARE]
        rng.shuffle(self.rare)
        # Real words carry most of the mass; made-up names form the long tail.
        self.en = _zipf(EN_WORDS + self.rare, 1.05)
        self.de = _zipf(DE_WORDS + self.rare, 1.05)

    def words(self, n: int, german: bool) -> list[str]:
        vocabulary, cum = self.de if german else self.en
        return self.rng.choices(vocabulary, cum_weights=cum, k=n)

    def sentence(self, german: bool) -> str:
        words = self.words(self.rng.randint(8, 22), german)
        if self.rng.random() < 0.3:
            phrases = DE_PHRASES if german else EN_PHRASES
            words.insert(self.rng.randrange(len(words)), self.rng.choice(phrases))
        return " ".join(words).capitalize() + "."

    def paragraph(self, german: bool) -> str:
        return " ".join(self.sentence(german) for _ in range(self.rng.randint(2, 5)))

    def title(self, german: bool) -> str:
        return " ".join(self.words(self.rng.randint(5, 10), german)).capitalize()


def _taxonomy(conn: sa.Connection) -> tuple[list[int], list[int]]:
    conn.execute(
        sa.insert(Section), [{"slug": s, "name": s.title(), "description": ""} for s in SECTIONS]
    )
    conn.execute(
        sa.insert(Tag), [{"slug": f"tag-{i}", "name": f"Topic {i}"} for i in range(N_TAGS)]
    )
    conn.execute(
        sa.insert(Author),
        [{"slug": f"author-{i}", "name": f"Author {i}", "bio": ""} for i in range(N_AUTHORS)],
    )
    conn.execute(
        sa.insert(Source),
        [
            {"slug": f"source-{i}", "name": f"Source {i}", "url": None, "kind": "newspaper"}
            for i in range(N_SOURCES)
        ],
    )
    sections = list(conn.scalars(sa.select(Section.id).order_by(Section.id)))
    tags = list(conn.scalars(sa.select(Tag.id).order_by(Tag.id)))
    return sections, tags


def generate(conn: sa.Connection, count: int, seed: int, batch: int = 2000) -> TextMaker:
    rng = random.Random(seed)
    text = TextMaker(rng)
    sections, tags = _taxonomy(conn)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=8 * 365)
    span = int((now - start).total_seconds())
    tag_names = {tag_id: f"Topic {i}" for i, tag_id in enumerate(tags)}
    # Tag names become searchable too: some share a word with the text.
    conn.execute(
        sa.update(Tag).where(Tag.id == sa.bindparam("tid")).values(name=sa.bindparam("tname")),
        [
            {"tid": tag_id, "tname": f"{rng.choice(EN_WORDS[100:])} {name}"}
            for tag_id, name in tag_names.items()
        ],
    )
    next_id = (conn.scalar(sa.select(sa.func.max(Article.id))) or 0) + 1
    started = time.perf_counter()
    for offset in range(0, count, batch):
        rows, links = [], []
        for i in range(offset, min(offset + batch, count)):
            article_id = next_id + i
            german = rng.random() < 0.15
            paragraphs = [text.paragraph(german) for _ in range(rng.randint(3, 9))]
            body_text = "\n\n".join(paragraphs)
            roll = rng.random()
            published_at = start + timedelta(seconds=rng.randrange(span))
            status = "published"
            if roll < 0.03:
                status, published_at = "draft", None
            elif roll < 0.05:
                status = "scheduled"
                published_at = now + timedelta(days=rng.randint(1, 30))
            words = len(body_text.split())
            rows.append(
                {
                    "id": article_id,
                    "slug": f"article-{article_id}",
                    "title": text.title(german),
                    "subtitle": text.sentence(german),
                    "section_id": rng.choice(sections),
                    "language": "de" if german else "en",
                    "status": status,
                    "published_at": published_at,
                    "first_published_at": published_at,
                    "created_at": published_at or now,
                    "updated_at": published_at or now,
                    "hero_image": None,
                    "canonical_url": None,
                    "custom_excerpt": None,
                    "excerpt": paragraphs[0][:240],
                    "body": [
                        {"type": "paragraph", "text": p, "attribution": None} for p in paragraphs
                    ],
                    "body_html": "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs),
                    "body_text": body_text,
                    "word_count": words,
                    "reading_time_minutes": max(1, round(words / 230)),
                    "version": 1,
                    "body_revision": 1,
                    "created_by_id": None,
                }
            )
            links += [
                {"article_id": article_id, "tag_id": tag_id}
                for tag_id in rng.sample(tags, rng.randint(1, 3))
            ]
        conn.execute(sa.insert(Article), rows)
        conn.execute(sa.insert(article_tags), links)
        done = offset + len(rows)
        rate = done / (time.perf_counter() - started)
        print(f"\r  inserted {done:,}/{count:,} articles ({rate:,.0f}/s)", end="", flush=True)
    print()
    return text


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_OBSERVER: sa.Engine | None = None


def _server_cpu_seconds() -> float | None:
    """CPU time used so far by the PostgreSQL backends serving this database, when the server
    runs on this machine (``/proc``); ``None`` otherwise (SQLite works in this process)."""
    if db.engine.dialect.name != "postgresql":
        return 0.0
    # On a connection of its own: one from the app's pool may be the one that served the
    # requests, whose backend ``pid <> pg_backend_pid()`` would then leave out.
    global _OBSERVER
    if _OBSERVER is None:
        _OBSERVER = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    with _OBSERVER.connect() as conn:
        pids = conn.scalars(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        ).all()
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    return total


def measure(client, runs: int, rare: str) -> tuple[list[dict], list[float]]:
    first = client.get("/api/v1/search", query_string={"q": "government"}).get_json()
    cursor = first["meta"]["next_cursor"] or ""
    results, everything = [], []
    for label, params in QUERIES:
        params = {k: v.format(rare=rare, cursor=cursor) for k, v in params.items()}
        response = client.get("/api/v1/search", query_string=params)  # warm-up
        assert response.status_code == 200, (label, response.get_json())
        payload = response.get_json()
        hits = len(payload["data"])
        total = client.get("/api/v1/search", query_string={**params, "count": "true"})
        samples = []
        server_before, client_before = _server_cpu_seconds(), time.process_time()
        for _ in range(runs):
            began = time.perf_counter()
            response = client.get("/api/v1/search", query_string=params)
            samples.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
        client_cpu = time.process_time() - client_before
        server_after = _server_cpu_seconds()
        # CPU time per request, this process and the database server together: what the
        # request costs, less sensitive than latency to other work on a shared machine.
        cpu = None
        if server_before is not None and server_after is not None:
            cpu = (client_cpu + server_after - server_before) * 1000 / runs
        everything += samples
        results.append(
            {
                "label": label,
                "query": " ".join(f"{k}={v}" for k, v in params.items() if k != "cursor")
                + (" (next page)" if "cursor" in params else ""),
                "matches": total.get_json()["meta"]["total"],
                "hits": hits,
                "median": statistics.median(samples),
                "p95": _percentile(samples, 0.95),
                "cpu": cpu,
            }
        )
        print(
            f"  {label:24} median {results[-1]['median']:8.1f} ms  p95 {results[-1]['p95']:8.1f}"
            + ("" if cpu is None else f"  cpu {cpu:6.1f} ms/request")
        )
    return results, everything


def database_version(conn: sa.Connection) -> str:
    if conn.dialect.name == "sqlite":
        return "SQLite " + conn.exec_driver_sql("select sqlite_version()").scalar()
    return "PostgreSQL " + conn.exec_driver_sql("show server_version").scalar().split()[0]


INTRO = """\
`bench/search_bench.py` generates N articles (default 100,000) by bulk inserts, builds the index
with the statement `flask rebuild search` runs, and times `GET /api/v1/search` through the Flask
test client (response cache and rate limit off): per request, one client, no network.
"matches" is `meta.total` of the query; every page holds 20 hits (fewer when there are fewer).

```
python bench/search_bench.py --write-readme                       # SQLite file in a temp dir
CMS_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cms_search_bench \\
    python bench/search_bench.py --write-readme                   # PostgreSQL (empty database)
```

What the numbers say: both engines find matches through their index in a few milliseconds ("no
hits", "rare name"). Before the recency window, both ranked *every* match before taking the
first page: a word in a third of 100,000 articles ("common word") meant ranking ~35,000
documents (PostgreSQL detoasts and decompresses each matching tsvector, about 10 µs each).
`sort=relevance` now ranks only the 300 newest matches
(`cms.services.search.service.RANK_WINDOW`), and `sort=newest` scores only the page. The newest
matches now come from the search index itself, which carries when each article is listed: on
SQLite the FTS5 rowid follows publication order, so FTS5 walks its index backwards and stops
after 300 matches; on PostgreSQL `article_search` holds `listed_at` and `section_id` (btree
indexes), and each tsvector carries a lexeme naming its text-search configuration, so the
planner either walks `listed_at` backwards testing each document (common words) or collects the
matches from the GIN index alone and sorts them (rare words) — never joining every match to
`articles`. What remains on PostgreSQL is the walk for words in 5–15% of the archive (300
matches cost 2,000–6,000 tsvector tests) and ranking the 300 (each `ts_rank_cd` detoasts its
document).
"""


def write_readme(backend: str, record: str) -> None:
    """Replace this backend's results in the "Search" part of bench/README.md; the rest of the
    file (other benchmarks' sections) stays as it is."""
    current = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    if "<!-- search-bench -->" not in current:
        blocks = "\n\n".join(
            f"<!-- search-bench:{b} -->\n_not run yet_\n<!-- /search-bench:{b} -->"
            for b in ("sqlite", "postgresql")
        )
        current = current.rstrip() + f"\n\n## Search\n\n<!-- search-bench -->\n{INTRO}\n{blocks}\n"
    start, end = f"<!-- search-bench:{backend} -->", f"<!-- /search-bench:{backend} -->"
    current = re.sub(
        re.escape(start) + ".*?" + re.escape(end),
        lambda _: f"{start}\n{record.strip()}\n{end}",
        current,
        flags=re.S,
    )
    README.write_text(current, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write-readme", action="store_true", help="record in bench/README.md")
    args = parser.parse_args()

    url = os.environ.get("CMS_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='search-bench-')}/bench.sqlite3"
    url = sqlalchemy_url(url)
    os.environ.setdefault("CMS_INSTANCE_PATH", tempfile.mkdtemp(prefix="search-bench-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "CMS_RESPONSE_CACHE_SECONDS": 0,
            "CMS_PUBLIC_RATE_LIMIT": None,
        }
    )
    print(f"Database: {sa.make_url(url).render_as_string(hide_password=True)}")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        index_seconds = None
        rare = None
        with db.engine.begin() as conn:
            existing = conn.scalar(sa.select(sa.func.count(Article.id)))
            version = database_version(conn)
        if existing:
            print(f"Searching the {existing:,} articles already there.")
            count = existing
        else:
            count = args.articles
            print(f"Generating {count:,} articles ...")
            with db.engine.begin() as conn:
                text = generate(conn, count, args.seed)
            rare = text.rare[2000]
            print("Indexing ...")
            began = time.perf_counter()
            with db.engine.begin() as conn:
                search_index.rebuild_index(conn)
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("ANALYZE")
            index_seconds = time.perf_counter() - began
            print(f"  indexed in {index_seconds:.0f} s")
        if rare is None:
            rare = TextMaker(random.Random(args.seed)).rare[2000]
        # The cards an install stores on every write (``flask rebuild cards --missing``): hits
        # are served from them, as list pages are.
        began = time.perf_counter()
        stored = cards.rebuild_all(only_missing=True)
        db.session.commit()
        if stored:
            print(f"Stored {stored:,} cards in {time.perf_counter() - began:.0f} s")
        client = app.test_client()
        print(f"Measuring {len(QUERIES)} queries x {args.runs} runs ...")
        results, everything = measure(client, args.runs, rare)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    median, p95 = statistics.median(everything), _percentile(everything, 0.95)
    print(f"All queries: median {median:.1f} ms, p95 {p95:.1f} ms")
    if not args.write_readme:
        return
    backend = "sqlite" if version.startswith("SQLite") else "postgresql"
    rows = "\n".join(
        f"| {r['label']} | `{r['query']}` | {r['matches']:,} | {r['median']:.1f} | {r['p95']:.1f} "
        + ("| n/a |" if r["cpu"] is None else f"| {r['cpu']:.1f} |")
        for r in results
    )
    record = (
        f"#### {version}, {count:,} articles\n\n"
        f"{datetime.now(UTC):%Y-%m-%d}; {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; {args.runs} runs per query after one warm-up"
        + (f"; index built in {index_seconds:.0f} s" if index_seconds else "")
        + (f"; 1-minute load average {load:.1f} when done" if load is not None else "")
        + f".\n\n**All queries: median {median:.1f} ms, p95 {p95:.1f} ms.**\n\n"
        "| query | parameters | matches | median ms | p95 ms | CPU ms per request |\n"
        "| --- | --- | ---: | ---: | ---: | ---: |\n" + rows
    )
    write_readme(backend, record)
    print(f"Recorded in {README}")


if __name__ == "__main__":
    main()
