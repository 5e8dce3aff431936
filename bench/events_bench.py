"""Events benchmark: webhook delivery latency and throughput with real workers, and what the
event log adds to a publish.

    python bench/events_bench.py --database-url postgresql://postgres@127.0.0.1:5432/cms_bench_events
    python bench/events_bench.py   # a fresh SQLite file

The database is emptied and migrated first: give it a database of its own. Prints Markdown.

- **latency**: ``flask --app wsgi worker`` subprocesses (1, then 4, each with 4 threads) deliver
  to a receiver on 127.0.0.1; articles are published one at a time, ``--gap`` seconds apart;
  latency = the receiver's arrival time minus the publish's commit time (same clock).
- **throughput**: ``--burst`` articles published to 10 endpoints while no worker runs (a
  backlog of deliveries in the outbox), then the workers start; deliveries/s = deliveries
  between the first and the last arrival / that time.
- **publish cost**: the editor's publish action (``publishing.perform`` + commit) of a draft,
  timed in this process, with the event log off (its commit hook replaced by a no-op) and on
  alternating publish by publish, then a block with one webhook endpoint (the outbox row too).
  Ratio of medians, and the statements each publish sends (``--publish-only``: skip the
  delivery measurements).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Receiver:
    def __init__(self):
        self.arrivals: dict[tuple[str, int], float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.time()
                article = orjson.loads(body)["data"]["article"]["id"]
                with receiver.lock:
                    receiver.arrivals.setdefault((self.path, article), now)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while len(self.arrivals) < count:
            if time.time() > deadline:
                raise SystemExit(f"only {len(self.arrivals)} of {count} deliveries arrived")
            time.sleep(0.01)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start_workers(count: int, env: dict) -> list[subprocess.Popen]:
    """``count`` real ``flask --app wsgi worker --threads 4`` processes."""
    return [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--threads", "4"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--count", type=int, default=100, help="articles per latency run")
    parser.add_argument("--gap", type=float, default=0.05)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--publish-rounds", type=int, default=6)
    parser.add_argument(
        "--publish-only", action="store_true", help="measure only the publish cost (no workers)"
    )
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="cms-events-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.update(
        CMS_INSTANCE_PATH=tmp,
        CMS_DATABASE_URL=url,
        CMS_WEBHOOK_ALLOW_PRIVATE="1",
        CMS_LOG_LEVEL="WARNING",
        CMS_RESPONSE_CACHE_SECONDS="0",
    )
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from cms import create_app
    from cms.config import sqlalchemy_url
    from cms.extensions import db
    from cms.models import Section, Tag, User
    from cms.services.accounts.users import create_user
    from cms.services.content import articles
    from cms.services.events import log as event_log
    from cms.services.events import webhooks
    from cms.services.workflow import publishing

    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url)})
    ctx = app.app_context()
    ctx.push()
    if db.engine.dialect.name == "postgresql":
        downgrade(revision="base")
    upgrade()
    db.session.add(Section(slug="news", name="News", description=""))
    db.session.add(Tag(slug="port", name="Port"))
    admin = create_user("bench@example.org", "bench-password-123456", "admin")
    db.session.commit()
    admin = db.session.get(User, admin.id)
    body = [{"type": "paragraph", "text": "A story about the port.", "attribution": None}]
    counter = iter(range(10**9))

    def draft():
        n = next(counter)
        return articles.create_article(
            {"title": f"Story {n}", "section": "news", "tags": ["port"], "body": body},
            actor=admin,
        )

    def publish(article) -> float:
        publishing.perform(article, "publish", actor=admin, expected_version=article.version)
        db.session.commit()
        return time.time()

    def endpoints(count: int, receiver: Receiver) -> None:
        for i in range(count):
            webhooks.create_endpoint(
                {"url": f"{receiver.url}/e{i}", "events": ["article.published"]}, actor=admin
            )
        db.session.commit()

    def drop_endpoints() -> None:
        from cms.models import WebhookEndpoint

        db.session.execute(sa.delete(WebhookEndpoint))
        db.session.commit()

    load = os.getloadavg()[0]
    print(f"database: {db.engine.dialect.name}; load average at start: {load:.1f}\n")

    # --- latency -------------------------------------------------------------------------
    rows = []
    for worker_count in () if args.publish_only else (1, 4):
        receiver = Receiver()
        endpoints(1, receiver)
        env = {**os.environ, "CMS_WORKER_QUEUE": f"bench{worker_count}"}
        procs = start_workers(worker_count, env)
        warm = draft()
        db.session.commit()
        publish(warm)
        receiver.wait(1, timeout=60)  # the workers are up
        committed = {}
        for _ in range(args.count):
            article = draft()
            db.session.commit()
            committed[article.id] = publish(article)
            time.sleep(args.gap)
        receiver.wait(args.count + 1)
        latencies = [receiver.arrivals[("/e0", i)] - t for i, t in committed.items()]
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            proc.wait(timeout=30)
        # throughput: a backlog of deliveries to 10 endpoints, drained by fresh workers
        drop_endpoints()
        burst_receiver = Receiver()
        endpoints(10, burst_receiver)
        drafts = [draft() for _ in range(args.burst)]
        db.session.commit()
        for article in drafts:
            publish(article)
        procs = start_workers(worker_count, env)
        burst_receiver.wait(args.burst * 10, timeout=300)
        arrivals = sorted(burst_receiver.arrivals.values())
        elapsed = arrivals[-1] - arrivals[0]
        drop_endpoints()
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            proc.wait(timeout=30)
        rows.append(
            (
                worker_count,
                statistics.median(latencies) * 1000,
                percentile(latencies, 0.95) * 1000,
                max(latencies) * 1000,
                (len(arrivals) - 1) / elapsed,
            )
        )
    if rows:
        print("| workers (4 threads each) | p50 latency | p95 latency | max |", end="")
        print(" deliveries/s (backlog) |")
        print("| --- | --- | --- | --- | --- |")
    for workers_, p50, p95, worst, rate in rows:
        print(f"| {workers_} | {p50:.0f} ms | {p95:.0f} ms | {worst:.0f} ms | {rate:.0f} |")

    # --- publish cost ------------------------------------------------------------------------
    # Without and with the event log alternate publish by publish (the machine's load drifts
    # less between neighbours than between blocks); the webhook mode needs an endpoint, so it
    # runs as a block of its own in each round.
    real_decide = event_log.decide

    def no_event_log(session):
        # What the log would have compared at this commit is forgotten, as with no log at all.
        for key in [k for k in session.info if str(k).startswith("cms_events_")]:
            session.info.pop(key)

    per_round = 40
    timings = {"without event log": [], "with event log": [], "with event log + 1 webhook": []}
    statements = {mode: [] for mode in timings}
    counted = [0]

    def count(*_args):
        counted[0] += 1

    sa.event.listen(db.engine, "before_cursor_execute", count)
    sink = Receiver()

    def timed(article, mode):
        event_log.decide = no_event_log if mode.startswith("without") else real_decide
        counted[0] = 0
        started = time.perf_counter()
        publish(article)
        timings[mode].append(time.perf_counter() - started)
        statements[mode].append(counted[0])

    for _ in range(args.publish_rounds):
        drop_endpoints()
        drafts = [draft() for _ in range(2 * per_round)]
        db.session.commit()
        for n, article in enumerate(drafts):
            timed(article, "without event log" if n % 2 == 0 else "with event log")
        endpoints(1, sink)
        drafts = [draft() for _ in range(per_round)]
        db.session.commit()
        for article in drafts:
            timed(article, "with event log + 1 webhook")
    sa.event.remove(db.engine, "before_cursor_execute", count)
    event_log.decide = real_decide
    base = statistics.median(timings["without event log"])
    print("\n| publish (perform + commit) | median | p95 | ratio to without | statements |")
    print("| --- | --- | --- | --- | --- |")
    for mode, values in timings.items():
        median = statistics.median(values)
        print(
            f"| {mode} | {median * 1000:.2f} ms | {percentile(values, 0.95) * 1000:.2f} ms "
            f"| {median / base:.2f} | {statistics.median(statements[mode]):.0f} |"
        )
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    ctx.pop()


if __name__ == "__main__":
    main()
