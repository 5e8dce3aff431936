"""Create + publish with concurrent editors, over HTTP, for one or more checkouts of the code.

    python bench/publish_bench.py --articles 600 --editors 8 \
        --database-url postgresql://postgres@127.0.0.1:5432/postgres \
        --code . --code /tmp/cms-main

For each ``--code`` directory (a checkout: its ``cms`` package and migrations are used, with
this interpreter), in turn and in the same run: a fresh PostgreSQL database
(``<name>_publish_bench``, dropped after), ``db upgrade``, an editor login, and gunicorn with the
project's ``gunicorn.conf.py`` on a free port of 127.0.0.1. Then ``--editors`` threads each
create a draft (``POST /api/v1/editor/articles``, wire-like bodies of
``bench/import_bench.py``) and publish it (``POST .../publish`` with its ``If-Match``), until
``--articles`` are published. Prints the publish rate of the first and the last ``--window``
articles and the median / p95 of one create + publish. When the code has derived-data jobs
(``derived_jobs``), the number still waiting at the end and the time ``derived run-pending``
takes to drain them are printed too: that work left the request.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import orjson
import sqlalchemy as sa

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from import_bench import article  # noqa: E402

from cms.config import sqlalchemy_url  # noqa: E402

PASSWORD = "bench-password-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(method: str, url: str, body=None, headers=None):
    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, dict(response.headers), orjson.loads(response.read() or b"null")


def _taxonomy(url: str) -> None:
    """The sections, tags, authors and sources the generated articles name."""
    from import_bench import SECTIONS

    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as c:
        rows = [{"slug": s, "name": s} for s in SECTIONS]
        c.execute(
            sa.text("INSERT INTO sections (slug, name, description) VALUES (:slug, :name, '')"),
            rows,
        )
        rows = [{"slug": f"tag-{n}", "name": f"Tag {n}"} for n in range(400)]
        c.execute(sa.text("INSERT INTO tags (slug, name) VALUES (:slug, :name)"), rows)
        rows = [{"slug": f"author-{n}", "name": f"Author {n}"} for n in range(150)]
        c.execute(sa.text("INSERT INTO authors (slug, name, bio) VALUES (:slug, :name, '')"), rows)
        rows = [{"slug": f"source-{n}", "name": f"Source {n}"} for n in range(40)]
        c.execute(
            sa.text("INSERT INTO sources (slug, name, kind) VALUES (:slug, :name, 'newspaper')"),
            rows,
        )
    engine.dispose()


def flask_command(code: str, env: dict):
    """``flask(*args, stdin=None)``: runs ``flask --app wsgi *args`` of the checkout ``code``
    with ``env``, returns its output and exits with it when the command fails."""

    def flask(*cmd: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *cmd],
            cwd=code,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            sys.exit(done.stdout + done.stderr)
        return done.stdout

    return flask


def checkout_env(code: str, url: str, **settings: str) -> dict:
    """The environment of the checkout ``code``'s commands against the database ``url``: a
    production configuration with its own instance folder, plus ``settings``."""
    return dict(
        os.environ,
        CMS_DATABASE_URL=url,
        CMS_LOG_LEVEL="WARNING",
        CMS_ENV="production",
        CMS_SECRET_KEY="bench-secret-key-that-is-long-enough-0123456789",
        CMS_INSTANCE_PATH=tempfile.mkdtemp(),
        PYTHONPATH=code,
        **settings,
    )


def run(code: str, url: str, args) -> dict:
    env = checkout_env(code, url, CMS_TRUST_PROXY="0")

    flask = flask_command(code, env)

    flask("db", "upgrade")
    _taxonomy(url)
    flask("user", "create", "--email", "ed@example.org", "--role", "editor", stdin=PASSWORD + "\n")
    port = args.port or _free_port()
    server_log = tempfile.NamedTemporaryFile("w+", prefix="publish_bench_", suffix=".log")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=code,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=server_log,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(300):
            try:
                _, _, token = _call(
                    "POST",
                    f"{base}/editor/auth/login",
                    {"email": "ed@example.org", "password": PASSWORD},
                )
                break
            except OSError:
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        rng = random.Random(args.seed)
        now = datetime.now(UTC)
        bodies = []
        for i in range(args.articles):
            line = article(rng, i, now)
            line.pop("status", None)
            line.pop("published_at", None)
            bodies.append(line)
        lock = threading.Lock()
        finished: list[float] = []
        costs: list[float] = []
        failures: list[str] = []

        def editor(mine: list[dict]) -> None:
            for body in mine:
                started = time.perf_counter()
                try:
                    _, headers, made = _call("POST", f"{base}/editor/articles", body, auth)
                    _call(
                        "POST",
                        f"{base}/editor/articles/{made['id']}/publish",
                        None,
                        {**auth, "If-Match": headers["ETag"]},
                    )
                except urllib.error.HTTPError as exc:
                    failures.append(f"{exc.code} {exc.read()[:300]!r}")
                    continue
                except Exception as exc:  # noqa: BLE001  (counted and reported)
                    failures.append(repr(exc))
                    continue
                done = time.perf_counter()
                with lock:
                    finished.append(done)
                    costs.append(done - started)

        threads = [
            threading.Thread(target=editor, args=(bodies[n :: args.editors],))
            for n in range(args.editors)
        ]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        finished.sort()
        if len(finished) <= args.window:
            sys.exit(f"only {len(finished)} published; first failures: {failures[:3]}")
        w = args.window
        first = w / (finished[w - 1] - started)
        last = w / (finished[-1] - finished[-w - 1])
        total = len(finished) / (finished[-1] - started)
        engine = sa.create_engine(sqlalchemy_url(url))
        with engine.connect() as c:
            has_jobs = sa.inspect(c).has_table("derived_jobs")
            waiting = (
                c.execute(sa.text("SELECT count(*) FROM derived_jobs")).scalar()
                if has_jobs
                else None
            )
        engine.dispose()
        drain = None
        if has_jobs and not args.no_drain:
            t0 = time.perf_counter()
            flask("derived", "run-pending")
            drain = time.perf_counter() - t0
        costs.sort()
        return {
            "published": len(finished),
            "failures": len(failures),
            "first": first,
            "last": last,
            "total": total,
            "median": statistics.median(costs),
            "p95": costs[int(len(costs) * 0.95)],
            "waiting": waiting,
            "drain": drain,
            "failed": failures[:3],
            "errors": _errors(server_log) if failures else [],
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()


def _errors(log) -> list[str]:
    """The server's logged errors (its tracebacks' last lines) and the warnings of its 503s
    (which name the exception taken for an outage), to explain failed requests."""
    log.flush()
    log.seek(0)
    lines = log.read().splitlines()
    return [
        line
        for i, line in enumerate(lines)
        if " ERROR " in line
        or (" WARNING " in line and " is unavailable (" in line)
        or (line and not line[0].isspace() and i and lines[i - 1].startswith("  "))
    ][:10]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=600)
    parser.add_argument("--editors", type=int, default=8)
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--database-name", help="the database to create (default <name of the URL>_publish_bench)"
    )
    parser.add_argument("--port", type=int, help="gunicorn's port (default: a free one)")
    parser.add_argument(
        "--no-drain", action="store_true", help="do not time draining the jobs left at the end"
    )
    parser.add_argument("--code", action="append", default=[], help="a checkout; repeatable")
    args = parser.parse_args(argv)
    codes = args.code or [os.path.dirname(HERE)]
    base = sa.engine.make_url(sqlalchemy_url(args.database_url))
    name = args.database_name or f"{base.database}_publish_bench"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print()
    print(
        f"| code | published | failed | first {args.window} | last {args.window} | overall | "
        "create+publish median | p95 | jobs waiting at the end | drain |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for code in codes:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            r = run(os.path.abspath(code), base.set(database=name).render_as_string(False), args)
        finally:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        drain = "–" if r["drain"] is None else f"{r['drain']:.1f} s"
        waiting = "–" if r["waiting"] is None else f"{r['waiting']:,}"
        print(
            f"| {code} | {r['published']:,} | {r['failures']} | {r['first']:.1f}/s | "
            f"{r['last']:.1f}/s | {r['total']:.1f}/s | {r['median'] * 1000:.0f} ms | "
            f"{r['p95'] * 1000:.0f} ms | {waiting} | {drain} |"
        )
        for failure in r["failed"]:
            print(f"<!-- failed: {failure} -->")
        for line in r["errors"]:
            print(f"<!-- server: {line[:400]} -->")
    print()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
