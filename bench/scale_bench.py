"""Is latency flat with size? p50 of each public read on databases of different sizes.

    python bench/scale_bench.py \
        1k=postgresql://postgres@127.0.0.1:5432/cms_bench_1k \
        100k=postgresql://postgres@127.0.0.1:5432/cms_bench_100k \
        1m=postgresql://postgres@127.0.0.1:5432/cms_bench_1m

Each database is filled by ``bench/generate.py``. Requests go through the Flask test client in
this process (no HTTP, one at a time, response cache off), so the figure is the app and database
time of one request. Detail, summary and related cycle through articles spread over the whole
table (cold and warm rows alike). Prints p50 per endpoint and size, and the ratio of the largest
size to the smallest (target ≤ 1.3). ``--explain`` also prints the query plans of the list
and count queries (PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_bench import pick_paths  # noqa: E402

from cms.config import sqlalchemy_url  # noqa: E402

ENDPOINTS = (
    "list",
    "deep cursor",
    "list ?section=",
    "list ?tag=",
    "list ?source=",
    "detail",
    "summary",
    "related",
    "tags",
    "sections",
    "sources",
)


def measure(app, requests: int, rotate: int, max_seconds: float = 20) -> dict[str, float]:
    picked = pick_paths(app, rotate)
    client = app.test_client()
    api = "/api/v1/articles"
    slugs = picked["slugs"]
    paths = {
        "list": [api],
        "deep cursor": [f"{api}?cursor={picked['deep_cursor']}"],
        "list ?section=": [f"{api}?section=business"],
        "list ?tag=": [f"{api}?tag=tag-7"],  # on 0.8% of the articles
        "list ?source=": [f"{api}?source=source-5"],  # cited by 8.5%
        "detail": [f"{api}/{s}" for s in slugs],
        "summary": [f"{api}/{s}/summary" for s in slugs],
        "related": [f"{api}/{s}/related" for s in slugs],
        "tags": ["/api/v1/tags"],
        "sections": ["/api/v1/sections"],
        "sources": ["/api/v1/sources"],
    }
    out = {"articles": picked["total"]}
    for name, urls in paths.items():
        for path in urls:  # warm: imports, pools, the database's cache (every article once)
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        times = []
        deadline = time.perf_counter() + max_seconds
        for i in range(requests):
            path = urls[i % len(urls)]
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            if started > deadline and i >= 10:  # slow endpoints: enough samples for a median
                break
        out[name] = statistics.median(times)
    return out


def explain(app) -> None:
    """EXPLAIN ANALYZE of the list queries (PostgreSQL), to check they walk an index."""
    from cms.clock import utcnow
    from cms.extensions import db
    from cms.models import Article
    from cms.services.public import reading, taxonomies
    from cms.services.visibility import public_articles

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        queries = []
        for label, filters in (("list", {}), ("section", {"section": "business"}),
                               ("tag", {"tag": "tag-7"}), ("author", {"author": "author-3"}),
                               ("source", {"source": "source-5"})):
            query = reading.apply_filters(public_articles(), filters)
            queries.append((label, query.order_by(Article.published_at.desc(),
                                                  Article.id.desc()).limit(21)))
        for kind in ("tags", "sections", "sources"):  # counts
            model, query = taxonomies._count_query(kind, utcnow())
            queries.append((kind, query.order_by(model.slug).limit(21)))
        for label, query in queries:
            sql = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = db.session.execute(sa.text(f"EXPLAIN ANALYZE {sql}")).scalars().all()
            print(f"--- {label}\n" + "\n".join(plan), file=sys.stderr)
        db.session.remove()


def run_one(url: str, requests: int, rotate: int, with_explain: bool) -> None:
    """One database per process (the app factory runs once per process)."""
    from cms import create_app

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "CMS_RESPONSE_CACHE_SECONDS": 0, "TESTING": True}
    )
    print(json.dumps(measure(app, requests, rotate)))
    if with_explain:
        explain(app)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("databases", nargs="+", help="label=url, smallest first")
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint")
    parser.add_argument("--rotate", type=int, default=200)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("CMS_LOG_LEVEL", "WARNING")
    if args.one:
        run_one(sqlalchemy_url(args.databases[0].split("=", 1)[1]), args.requests, args.rotate,
                args.explain)
        return
    results = {}
    for spec in args.databases:
        label = spec.split("=", 1)[0]
        cmd = [sys.executable, __file__, "--one", f"--requests={args.requests}",
               f"--rotate={args.rotate}", spec] + (["--explain"] if args.explain else [])
        done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        results[label] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{label}: " + ", ".join(f"{k} {v:.2f}" for k, v in results[label].items()),
              flush=True)
    labels = list(results)
    first, last = labels[0], labels[-1]
    print(f"\np50 latency in ms (load average {os.getloadavg()[0]:.1f})")
    print("| endpoint | " + " | ".join(f"{lb} ({results[lb]['articles']:,})" for lb in labels)
          + f" | {last}/{first} |")
    print("|---|" + "---:|" * (len(labels) + 1))
    for name in ENDPOINTS:
        ratio = results[last][name] / results[first][name]
        mark = "" if ratio <= 1.3 else " ✗"
        print(f"| {name} | " + " | ".join(f"{results[lb][name]:.2f}" for lb in labels)
              + f" | {ratio:.2f}{mark} |")


if __name__ == "__main__":
    main()
