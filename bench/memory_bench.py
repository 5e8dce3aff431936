"""Resident memory of a gunicorn worker after 1,000 and after 100,000 public requests.

    CMS_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cms_bench_100k \
        python bench/memory_bench.py

Runs the app with the production gunicorn configuration but one worker process
(``WEB_CONCURRENCY=1``, so every request reaches it) and no recycling
(``GUNICORN_MAX_REQUESTS=0``; production keeps it on as a safety net), response cache off.
``wrk`` cycles through list pages (first and deep), filtered lists, detail, summary, related and
taxonomy requests over many different articles, and the worker's RSS is read from ``/proc``
after 1,000 requests and after 100,000. Target: ratio ≤ 1.2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_bench import fetch, pick_paths, start, stop, wait_up  # noqa: E402

from cms.config import sqlalchemy_url  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def worker_pid(master: int) -> int:
    for _ in range(100):
        children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                                  text=True).stdout.split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    raise RuntimeError("no gunicorn worker")


def warm(base: str, paths: list[str], count: int) -> None:
    """Exactly ``count`` requests, one at a time."""
    for i in range(count):
        fetch(base + paths[i % len(paths)])


def load(base: str, paths: list[str], count: int, connections: int) -> tuple[int, float]:
    """At least ``count`` requests with wrk (in 10 s runs); returns (sent, requests/second)."""
    lua = ", ".join(json.dumps(p) for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f"local paths = {{{lua}}}\nlocal i = math.random(#paths)\n"
            "request = function()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n"
        )
    sent, started = 0, time.perf_counter()
    while sent < count:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", "-d10s", "-s", script.name, base],
            check=True, capture_output=True, text=True,
        ).stdout
        sent += int(re.search(r"(\d+) requests in", out).group(1))
    os.unlink(script.name)
    return sent, sent / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("CMS_DATABASE_URL"))
    parser.add_argument("--warm", type=int, default=1_000)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--port", type=int, default=8710)
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set CMS_DATABASE_URL")
    url = sqlalchemy_url(args.database_url)

    from cms import create_app

    picked = pick_paths(create_app({"SQLALCHEMY_DATABASE_URI": url}), 2000)
    api = "/api/v1"
    paths = [f"{api}/articles", f"{api}/articles?cursor={picked['deep_cursor']}",
             f"{api}/articles?section=business", f"{api}/articles?tag=tag-7&limit=50",
             f"{api}/tags", f"{api}/sections", f"{api}/authors?limit=100"]
    for slug in picked["slugs"]:
        paths += [f"{api}/articles/{slug}", f"{api}/articles/{slug}/summary",
                  f"{api}/articles/{slug}/related"]

    env = {
        **os.environ,
        "CMS_DATABASE_URL": url,
        "CMS_ENV": "production",
        "CMS_SECRET_KEY": secrets.token_urlsafe(48),
        "CMS_INSTANCE_PATH": tempfile.mkdtemp(prefix="cms-bench-"),
        "CMS_LOG_LEVEL": "WARNING",
        "CMS_RESPONSE_CACHE_SECONDS": "0",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_MAX_REQUESTS": "0",
        "PORT": str(args.port),
    }
    log = Path(tempfile.mkdtemp(prefix="cms-bench-logs-")) / "app.log"
    server = start(["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], env, log)
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_up(f"{base}/healthz")
        pid = worker_pid(server.pid)
        before = rss_kib(pid)
        warm(base, paths, args.warm)
        first = rss_kib(pid)
        print(f"worker {pid}: RSS at start {before / 1024:.1f} MiB; after {args.warm:,} "
              f"requests {first / 1024:.1f} MiB", flush=True)
        sent, rate = load(base, paths, args.total - args.warm, args.connections)
        last = rss_kib(pid)
        assert worker_pid(server.pid) == pid, "the worker was replaced during the run"
        print(f"after {args.warm + sent:,} requests {last / 1024:.1f} MiB ({rate:,.0f} req/s); "
              f"ratio {last / first:.3f} (target ≤ 1.2) over {len(paths):,} distinct URLs")
    finally:
        stop(server)


if __name__ == "__main__":
    main()
