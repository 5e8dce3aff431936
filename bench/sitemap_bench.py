"""Do sitemaps and feeds cost the same however big the archive? p50 per request by size.

    python bench/sitemap_bench.py \
        100k=postgresql://postgres@127.0.0.1:5432/cms_bench_100k \
        1m=postgresql://postgres@127.0.0.1:5432/cms_bench_1m

Each database is filled by ``bench/generate.py``. Requests go through the Flask test client in
this process (no HTTP, one at a time, response cache off), as in ``bench/scale_bench.py``: the
sitemap index, the first and the last article page (each up to ``CMS_SITEMAP_PAGE_SIZE`` =
50,000 URLs), the Google News sitemap, and the RSS and JSON feeds (newest 50). Prints p50 per
endpoint and size, how many entries each answer holds, and the ratio of the largest size to the
smallest. A page lists a fixed id range, so its cost follows its 50,000 URLs, not the archive;
the index grows by one entry per 50,000 articles.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cms.config import sqlalchemy_url  # noqa: E402

ENDPOINTS = (
    "sitemap index",
    "articles page 1",
    "articles last page",
    "news sitemap",
    "rss feed",
    "json feed",
    "rss ?section=",
)


def measure(app, requests: int, max_seconds: float) -> dict:
    from cms.services.distribution import sitemaps

    client = app.test_client()
    with app.app_context():
        from cms.extensions import db

        pages = sitemaps.article_pages(app.config["CMS_SITEMAP_PAGE_SIZE"])
        total = db.session.execute(db.text("SELECT count(*) FROM articles")).scalar()
        db.session.remove()
    paths = {
        "sitemap index": "/api/v1/sitemaps/index.xml",
        "articles page 1": f"/api/v1/sitemaps/articles-{pages[0]}.xml",
        "articles last page": f"/api/v1/sitemaps/articles-{pages[-1]}.xml",
        "news sitemap": "/api/v1/sitemaps/news.xml",
        "rss feed": "/api/v1/feeds/rss.xml",
        "json feed": "/api/v1/feeds/feed.json",
        "rss ?section=": "/api/v1/feeds/rss.xml?section=business",
    }
    out: dict = {"articles": total, "pages": len(pages)}
    for name, path in paths.items():
        response = client.get(path)  # warm: imports, pools, the database's cache
        assert response.status_code == 200, (path, response.status_code)
        body = response.get_data()
        out[f"{name} entries"] = (
            body.count(b"<url>")
            + body.count(b"<sitemap>")
            + body.count(b"<item>")
            + body.count(b'"id":')
        )
        times = []
        deadline = time.perf_counter() + max_seconds
        for i in range(requests):
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            if started > deadline and i >= 5:
                break
        out[name] = statistics.median(times)
    return out


def run_one(url: str, requests: int, max_seconds: float) -> None:
    from cms import create_app

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "CMS_RESPONSE_CACHE_SECONDS": 0, "TESTING": True}
    )
    print(json.dumps(measure(app, requests, max_seconds)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("databases", nargs="+", help="label=url, smallest first")
    parser.add_argument("--requests", type=int, default=50, help="requests per endpoint")
    parser.add_argument("--max-seconds", type=float, default=15, help="per endpoint")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("CMS_LOG_LEVEL", "WARNING")
    if args.one:
        url = sqlalchemy_url(args.databases[0].split("=", 1)[1])
        run_one(url, args.requests, args.max_seconds)
        return
    results = {}
    for spec in args.databases:
        label = spec.split("=", 1)[0]
        cmd = [
            sys.executable,
            __file__,
            "--one",
            f"--requests={args.requests}",
            f"--max-seconds={args.max_seconds}",
            spec,
        ]
        done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        results[label] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{label}: {results[label]}", file=sys.stderr, flush=True)
    labels = list(results)
    first, last = labels[0], labels[-1]
    print(f"p50 latency in ms (load average {os.getloadavg()[0]:.1f}); entries in the answer")
    print(
        "| endpoint | "
        + " | ".join(f"{lb} ({results[lb]['articles']:,} articles)" for lb in labels)
        + f" | {last}/{first} |"
    )
    print("|---|" + "---:|" * (len(labels) + 1))
    for name in ENDPOINTS:
        ratio = results[last][name] / results[first][name]
        cells = " | ".join(
            f"{results[lb][name]:.1f} ({results[lb][name + ' entries']:,})" for lb in labels
        )
        print(f"| {name} | {cells} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
