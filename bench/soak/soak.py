"""Soak: nothing acknowledged is lost under mixed load, a killed worker or a database restart.

Starts gunicorn (``gunicorn.conf.py``, ``WEB_CONCURRENCY`` workers) on a fresh PostgreSQL
database, then runs readers and editors against it for ``--duration`` seconds. Editors create
articles with an ``Idempotency-Key`` and patch them with ``If-Match``, retrying (with the same
key / precondition) on connection errors and 5xx. Optionally one worker is killed with SIGKILL
(``--kill-worker-at``), the PostgreSQL cluster serving ``--db`` is restarted
(``--restart-db-at``; it affects every database of that cluster, so give the soak a cluster of
its own and name it with ``--pg-cluster``) or only this database is made unreachable for 3
seconds (``--outage-at``).

Afterwards every acknowledged write is checked through the editor API: present, with the
title last acknowledged, no duplicates per idempotency key, no half-written article. Every
503 must carry ``Retry-After`` and be problem+json; a run with a 500 fails.

    pg_createcluster 15 soak --port 5444 -- --auth=trust && pg_ctlcluster 15 soak start
    python bench/soak/soak.py --db postgresql://postgres@127.0.0.1:5444/postgres \\
        --duration 60 --workers 4 --readers 8 --editors 4 [--kill-worker-at 20] \\
        [--restart-db-at 30 --pg-cluster 15/soak] [--runs 5]
    pg_dropcluster 15 soak --stop

Prints the figures as JSON (``--json``) or as a table (and one line per run with ``--runs``).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "soak-password-0123456789"
RETRYABLE = {500, 502, 503, 504}
BARE_503 = "503 without Retry-After or problem+json"


# --- HTTP ---------------------------------------------------------------------------------------


class Client:
    def __init__(self, base: str, stats: Stats):
        self.base = base
        self.stats = stats

    def call(self, method: str, path: str, body=None, headers=None, timeout: float = 10):
        """(status, headers, json) or raises OSError (connection refused/reset, timeout, or
        cut in the middle of the body, as when the worker answering is killed)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=headers or {}
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, hdrs, raw = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, hdrs, raw = error.code, dict(error.headers), error.read()
        except (OSError, urllib.error.URLError, http.client.HTTPException) as error:
            self.stats.count("connection error")
            raise OSError(str(error)) from error
        self.stats.count(status)
        if status == 503 and not (
            hdrs.get("Retry-After")
            and hdrs.get("Content-Type", "").startswith("application/problem+json")
        ):
            self.stats.count(BARE_503)
        if status >= 500:
            self.stats.server_errors.append(
                (status, hdrs.get("Content-Type"), raw[:200].decode(errors="replace"))
            )
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode(errors="replace")
        return status, hdrs, payload


@dataclass
class Stats:
    statuses: collections.Counter = field(default_factory=collections.Counter)
    server_errors: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, key) -> None:
        with self.lock:
            self.statuses[key] += 1


@dataclass
class Written:
    """What an editor was told: acknowledged creates and the titles it may find."""

    article_id: int
    key: str
    acked_title: str
    later_titles: set = field(default_factory=set)  # attempted, never acknowledged
    acked_patches: int = 0


# --- the load -----------------------------------------------------------------------------------


def _retrying(fn, stop_at: float, attempts: int = 60):
    """Call ``fn`` until it returns a final answer; connection errors and 5xx are retried."""
    delay = 0.05
    for _ in range(attempts):
        try:
            status, hdrs, payload = fn()
        except OSError:
            status = None
        if status is not None and status not in RETRYABLE:
            return status, hdrs, payload
        if time.time() > stop_at:
            break
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    return None, {}, None


def editor_loop(
    client: Client, token: str, name: str, stop: threading.Event, out: list, grace: float
):
    auth = {"Authorization": f"Bearer {token}"}
    n = 0
    while not stop.is_set():
        n += 1
        key = str(uuid.uuid4())
        title = f"Soak {name} {n}"
        payload = {
            "title": title,
            "subtitle": f"key {key}",
            "body": [{"type": "paragraph", "text": f"Body of {title}, written by {name}."}],
        }
        give_up_at = time.time() + grace
        status, hdrs, created = _retrying(
            lambda payload=payload, key=key: client.call(
                "POST", "/api/v1/editor/articles", payload, {**auth, "Idempotency-Key": key}
            ),
            give_up_at,
        )
        if status != 201:
            continue
        if hdrs.get("Idempotent-Replayed"):
            client.stats.count("create replayed by Idempotency-Key")
        written = Written(created["id"], key, title)
        out.append(written)
        etag = hdrs["ETag"]
        for p in range(2):
            if stop.is_set():
                break
            new_title = f"{title} edit {p + 1}"
            written.later_titles.add(new_title)
            while True:
                status, hdrs, body = _retrying(
                    lambda etag=etag, new_title=new_title, article_id=written.article_id: (
                        client.call(
                            "PATCH",
                            f"/api/v1/editor/articles/{article_id}",
                            {"title": new_title},
                            {**auth, "If-Match": etag},
                        )
                    ),
                    give_up_at + grace,
                )
                if status == 200:
                    break
                if status != 412:
                    status = None
                    break
                # 412: an earlier attempt may have landed while its answer was lost
                status, hdrs, body = _retrying(
                    lambda article_id=written.article_id: client.call(
                        "GET", f"/api/v1/editor/articles/{article_id}", headers=auth
                    ),
                    give_up_at + grace,
                )
                if status != 200:
                    status = None
                    break
                etag = hdrs["ETag"]
                if body["title"] == new_title:
                    status = 200
                    break
            if status == 200:
                etag = hdrs["ETag"]
                written.later_titles.discard(new_title)
                written.acked_title = new_title
                written.acked_patches += 1


def reader_loop(client: Client, slugs: list[str], stop: threading.Event):
    rng = random.Random()
    paths = ["/api/v1/articles?limit=20", "/api/v1/sections", "/api/v1/search?q=harbour"]
    while not stop.is_set():
        path = rng.choice(paths) if rng.random() < 0.4 else f"/api/v1/articles/{rng.choice(slugs)}"
        try:
            client.call("GET", path)
        except OSError:
            time.sleep(0.05)


# --- server and database ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_database(base_url: str):
    from cms.config import sqlalchemy_url

    url = sa.make_url(sqlalchemy_url(base_url))
    name = f"cms_soak_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        for _ in range(20):  # the server may still be restarting
            try:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                break
            except sa.exc.OperationalError:
                time.sleep(0.5)
        admin.dispose()

    def outage(seconds: float) -> None:
        """This database only: refuse new connections and cut the open ones for ``seconds``
        (what the app sees of a restart, without disturbing other databases on the server)."""
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        time.sleep(seconds)
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))

    return url.set(database=name).render_as_string(hide_password=False), drop, outage


_SETUP = """
import sys
from flask_migrate import upgrade
from cms import create_app
from cms.extensions import db
from cms.services.accounts.users import create_user

app = create_app()
with app.app_context():
    upgrade()
    for i, email in enumerate(sys.argv[2:]):
        create_user(email, sys.argv[1], "admin" if i == 0 else "editor")
    db.session.commit()
"""


def _setup(env: dict, emails: list[str]) -> None:
    """Migrate the new database and create the users, in one process (the app loads once)."""
    subprocess.run(
        [sys.executable, "-c", _SETUP, PASSWORD, *emails],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def _workers(master_pid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master_pid:
                pids.append(int(entry.name))
    return pids


def clusters() -> list[tuple[str, str, int]]:
    """The local PostgreSQL clusters as ``(version, name, port)`` (``pg_lsclusters``)."""
    out = subprocess.run(
        ["pg_lsclusters", "--no-header"], check=True, capture_output=True, text=True
    ).stdout
    return [(ver, name, int(port)) for ver, name, port, *_ in map(str.split, out.splitlines())]


def cluster_of(db: str, name: str | None = None) -> tuple[str, str]:
    """``(version, name)`` of the cluster to restart: ``name`` (``NAME`` or ``VERSION/NAME``),
    else the one listening on the port of ``db``. Restarting a cluster the app does not use
    would prove nothing, so the cluster's port must be the one ``db`` names."""
    port = sa.make_url(db).port or 5432
    if name is None:
        found = [(v, n) for v, n, p in clusters() if p == port]
        if not found:
            raise SystemExit(f"no local PostgreSQL cluster listens on port {port}")
        return found[0]
    version, _, name = name.rpartition("/")
    for v, n, p in clusters():
        if n == name and (not version or v == version):
            if p != port:
                raise SystemExit(f"cluster {v}/{n} listens on {p}, but --db names port {port}")
            return v, n
    raise SystemExit(f"no PostgreSQL cluster named {name!r} (see pg_lsclusters)")


def restart_postgres(cluster: tuple[str, str]) -> None:
    version, name = cluster
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart"],
        check=True,
        capture_output=True,
    )


@dataclass
class Result:
    duration: float
    workers: int
    requests: int
    statuses: dict
    server_errors: list
    acknowledged_creates: int
    acknowledged_patches: int
    found: int
    missing: list
    wrong_title: list
    duplicates: dict
    unacknowledged_extra: int
    half_written: list
    events: list

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing doubled, no 500, and every 503 a problem with Retry-After."""
        return not (
            self.missing
            or self.wrong_title
            or self.duplicates
            or self.half_written
            or self.statuses.get(500)
            or self.statuses.get(BARE_503)
        )


def run(
    db: str,
    *,
    duration: float,
    workers: int,
    readers: int,
    editors: int,
    kill_worker_at: float | None = None,
    restart_db_at: float | None = None,
    pg_cluster: str | None = None,
    outage_at: float | None = None,
    log: Path | None = None,
) -> Result:
    cluster = cluster_of(db, pg_cluster) if restart_db_at is not None else None
    url, drop, outage = create_database(db)
    instance = tempfile.mkdtemp(prefix="cms-soak-")
    port = _free_port()
    env = {
        **os.environ,
        "CMS_ENV": "production",
        "CMS_SECRET_KEY": secrets.token_urlsafe(48),
        "CMS_DATABASE_URL": url,
        "CMS_INSTANCE_PATH": instance,
        "CMS_LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": os.devnull,
        "GUNICORN_MAX_REQUESTS": "0",
    }
    env.pop("CMS_REDIS_URL", None)
    server = None
    events: list[str] = []
    try:
        emails = ["admin@soak.example"] + [f"editor{i}@soak.example" for i in range(editors)]
        _setup(env, emails)
        logfile = open(log or os.devnull, "w")  # noqa: SIM115 (lives as long as the server)
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
        )
        stats = Stats()
        client = Client(f"http://127.0.0.1:{port}", stats)
        deadline = time.time() + 60
        while True:
            try:
                if client.call("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)

        tokens = []
        for email in emails:
            status, _, body = client.call(
                "POST", "/api/v1/editor/auth/login", {"email": email, "password": PASSWORD}
            )
            assert status == 200, body
            tokens.append(body["access_token"])
        admin = {"Authorization": f"Bearer {tokens[0]}"}
        slugs = []
        for i in range(5):
            _, _, article = client.call(
                "POST",
                "/api/v1/editor/articles",
                {
                    "title": f"Harbour story {i}",
                    "body": [{"type": "paragraph", "text": f"The harbour grew {i} percent."}],
                },
                admin,
            )
            client.call(
                "POST",
                f"/api/v1/editor/articles/{article['id']}/publish",
                {},
                {**admin, "If-Match": f'"a{article["id"]}-v{article["version"]}"'},
            )
            slugs.append(article["slug"])
        stats.statuses.clear()

        stop = threading.Event()
        written: list[Written] = []
        grace = 30.0
        threads = [
            threading.Thread(target=reader_loop, args=(client, slugs, stop)) for _ in range(readers)
        ]
        threads += [
            threading.Thread(
                target=editor_loop, args=(client, tokens[i + 1], f"e{i}", stop, written, grace)
            )
            for i in range(editors)
        ]
        started = time.time()
        for thread in threads:
            thread.start()
        killed = restarted = cut = False
        while time.time() - started < duration:
            elapsed = time.time() - started
            if kill_worker_at is not None and not killed and elapsed >= kill_worker_at:
                victim = sorted(_workers(server.pid))[0]
                os.kill(victim, signal.SIGKILL)
                events.append(f"{elapsed:.1f}s: SIGKILL worker {victim}")
                killed = True
            if restart_db_at is not None and not restarted and elapsed >= restart_db_at:
                t0 = time.time()
                restart_postgres(cluster)
                events.append(
                    f"{elapsed:.1f}s: PostgreSQL cluster {'/'.join(cluster)} "
                    f"restarted ({time.time() - t0:.1f}s)"
                )
                restarted = True
            if outage_at is not None and not cut and elapsed >= outage_at:
                outage(3.0)
                events.append(f"{elapsed:.1f}s: database unreachable for 3.0s (connections cut)")
                cut = True
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(timeout=grace * 4)
        elapsed = time.time() - started
        requests = sum(v for k, v in stats.statuses.items() if k != "connection error")
        statuses = dict(stats.statuses)

        # --- verification through the editor API (fresh login: the old token may be stale)
        status, _, body = client.call(
            "POST", "/api/v1/editor/auth/login", {"email": emails[0], "password": PASSWORD}
        )
        admin = {"Authorization": f"Bearer {body['access_token']}"}
        everything, cursor = [], None
        while True:
            path = "/api/v1/editor/articles?limit=100" + (f"&cursor={cursor}" if cursor else "")
            status, _, page = client.call("GET", path, headers=admin)
            assert status == 200, page
            everything += page["data"]
            cursor = page["meta"]["next_cursor"]
            if not cursor:
                break
        by_key = collections.Counter()
        for item in everything:
            detail = client.call("GET", f"/api/v1/editor/articles/{item['id']}", headers=admin)[2]
            if detail["subtitle"].startswith("key "):
                by_key[detail["subtitle"][4:]] += 1
            item["detail"] = detail
        found = {item["id"]: item["detail"] for item in everything}
        missing = [w.article_id for w in written if w.article_id not in found]
        wrong = [
            (w.article_id, w.acked_title, found[w.article_id]["title"])
            for w in written
            if w.article_id in found
            and found[w.article_id]["title"] not in {w.acked_title, *w.later_titles}
        ]
        acked_keys = {w.key for w in written}
        duplicates = {k: n for k, n in by_key.items() if n > 1}
        half = []
        for article in found.values():
            body = article["body"]
            text = body[0]["text"] if body else ""
            if (
                not body
                or text not in article["body_text"]
                or f"<p>{text}" not in article["body_html"]
                or not article["excerpt"]
            ):
                half.append(article["id"])
        return Result(
            duration=round(elapsed, 1),
            workers=workers,
            requests=requests,
            statuses=statuses,
            server_errors=stats.server_errors[:20],
            acknowledged_creates=len(written),
            acknowledged_patches=sum(w.acked_patches for w in written),
            found=sum(1 for w in written if w.article_id in found),
            missing=missing,
            wrong_title=wrong,
            duplicates=duplicates,
            unacknowledged_extra=sum(1 for k in by_key if k not in acked_keys),
            half_written=half,
            events=events,
        )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db",
        default=os.environ.get(
            "CMS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--editors", type=int, default=4)
    parser.add_argument("--kill-worker-at", type=float)
    parser.add_argument(
        "--restart-db-at",
        type=float,
        help="restart the PostgreSQL cluster (disturbs every database on it)",
    )
    parser.add_argument(
        "--pg-cluster",
        metavar="[VERSION/]NAME",
        help="the cluster --restart-db-at restarts (default: the local cluster "
        "on the port of --db); give the soak a cluster of its own",
    )
    parser.add_argument(
        "--outage-at",
        type=float,
        help="cut this database's connections and refuse new ones for 3 s",
    )
    parser.add_argument("--log", type=Path, help="gunicorn output (default: discarded)")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="run the soak this many times in a row, one summary line each",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for n in range(1, args.runs + 1):
        result = run(
            args.db,
            duration=args.duration,
            workers=args.workers,
            readers=args.readers,
            editors=args.editors,
            kill_worker_at=args.kill_worker_at,
            restart_db_at=args.restart_db_at,
            pg_cluster=args.pg_cluster,
            outage_at=args.outage_at,
            log=args.log,
        )
        results.append(result)
        figures = {k: v for k, v in vars(result).items()}
        if args.json:
            print(json.dumps(figures, indent=2, default=str), flush=True)
        else:
            print(f"--- run {n} of {args.runs}")
            for key, value in figures.items():
                print(f"{key:>22}: {value}", flush=True)
    if args.runs > 1 and not args.json:
        print("\nrun  requests    503  500  acked creates + patches  found  missing  duplicates")
        for n, r in enumerate(results, 1):
            print(
                f"{n:>3}  {r.requests:>8}  {r.statuses.get(503, 0):>5}  "
                f"{r.statuses.get(500, 0):>3}  {r.acknowledged_creates:>13} + "
                f"{r.acknowledged_patches:<9}  {r.found:>5}  {len(r.missing):>7}  "
                f"{len(r.duplicates):>10}"
            )
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
