"""A front end keeping a local copy of the published articles in step with the CMS.

    python3 docs/examples/sync_changes.py http://127.0.0.1:8000 [--once]

First run: take ``/changes/latest`` *before* crawling ``/articles``, so nothing that happens
during the crawl is missed; then follow ``/changes`` from that cursor. Each event is seen
exactly once, in commit order. A ``410`` means the cursor is older than the feed's retention:
crawl again. Only the standard library is used.
"""

import json
import sys
import time
import urllib.error
import urllib.request

BASE = sys.argv[1].rstrip("/")
articles: dict[int, str] = {}  # id -> slug: your store


def get(path: str) -> dict:
    with urllib.request.urlopen(BASE + path) as response:
        return json.load(response)


def crawl() -> str:
    cursor = get("/api/v1/changes/latest")["cursor"]
    articles.clear()
    page = get("/api/v1/articles?limit=100&fields=id,slug")
    while True:
        articles.update({a["id"]: a["slug"] for a in page["data"]})
        if not page["meta"]["next_cursor"]:
            break
        page = get(
            f"/api/v1/articles?limit=100&fields=id,slug&cursor={page['meta']['next_cursor']}"
        )
    print(f"crawled {len(articles)} articles; following changes from {cursor}", flush=True)
    return cursor


def follow(cursor: str, once: bool) -> None:
    while True:
        try:
            page = get(f"/api/v1/changes?limit=100&cursor={cursor}")
        except urllib.error.HTTPError as exc:
            if exc.code == 410:  # older than the retention: start over
                cursor = crawl()
                continue
            raise
        for event in page["data"]:
            article = event["article"]
            if event["type"] == "article.unpublished":
                articles.pop(article["id"], None)
            else:
                articles[article["id"]] = article["slug"]  # fetch /articles/{slug} here
            print(f"{event['sequence']:>5} {event['type']:<20} {article['slug']}", flush=True)
        cursor = page["meta"]["next_cursor"]
        if not page["meta"]["has_more"]:
            if once:
                return
            time.sleep(5)


if __name__ == "__main__":
    follow(crawl(), once="--once" in sys.argv)
    print(f"{len(articles)} articles in the local copy")
