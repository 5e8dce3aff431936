"""Application CPU of one create + publish, in process, for one or more checkouts of the code.

    python bench/publish_cpu.py --archive 1500 --measure 40 \
        --database-url postgresql://postgres@127.0.0.1:5432/postgres \
        --code /tmp/cms-main --code . --code /tmp/cms-main --code .

For each ``--code`` (a checkout: its ``cms`` package and migrations are used, with this
interpreter), in turn: a fresh PostgreSQL database (``<name>_publish_cpu``, dropped after),
``db upgrade``, ``flask --app wsgi import`` of an archive of ``--archive`` wire-like articles
(``bench/import_bench.py``; the same file for every checkout), ``derived run-pending``, an
editor (``user create``). Then, in a child process with that checkout first on ``sys.path``,
one editor on the Flask test client with a JWT: ``--warmup`` create + publish, then
``--measure`` more, timed with ``time.process_time`` (the application's CPU, not the
database's) and the wall clock, and the SQL statements sent counted; when PostgreSQL runs on
this machine, the CPU of the database's server processes too (from ``/proc``). ``--profile
FILE`` writes a cProfile of the measured loop of the last checkout (a separate pass: the
profiler's overhead is not in the printed times).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

import orjson

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "bench-password-0123456789"


def _bodies(count: int, seed: int) -> list[dict]:
    sys.path.insert(0, HERE)
    from import_bench import article

    rng = random.Random(seed)
    now = datetime.now(UTC)
    bodies = []
    for i in range(count):
        line = article(rng, 100_000 + i, now)
        line.pop("status", None)
        line.pop("published_at", None)
        bodies.append(line)
    return bodies


def child(args) -> None:
    """Runs with the checkout first on sys.path: the measured loop; prints one JSON line."""
    sys.path.insert(0, args.code[0])
    import sqlalchemy as sa

    from cms import create_app
    from cms.extensions import db

    app = create_app()
    client = app.test_client()
    token = client.post(
        "/api/v1/editor/auth/login", json={"email": "ed@example.org", "password": PASSWORD}
    ).get_json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    bodies = _bodies(args.warmup + args.measure, args.seed)
    statements = [0]

    def count(*_args):
        statements[0] += 1

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)

    def one(body: dict) -> None:
        made = client.post("/api/v1/editor/articles", json=body, headers=auth)
        assert made.status_code == 201, made.get_data(as_text=True)[:500]
        done = client.post(
            f"/api/v1/editor/articles/{made.get_json()['id']}/publish",
            headers={**auth, "If-Match": made.headers["ETag"]},
        )
        assert done.status_code == 200, done.get_data(as_text=True)[:500]

    for body in bodies[: args.warmup]:
        one(body)
    measured = bodies[args.warmup :]
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for body in measured:
            one(body)
        profiler.disable()
        profiler.dump_stats(args.profile)
        print(orjson.dumps({"profiled": len(measured)}).decode())
        return
    statements[0] = 0
    with app.app_context():
        database = db.engine.url.database
    db_cpu = _server_cpu(database)
    cpu, wall = time.process_time(), time.perf_counter()
    for body in measured:
        one(body)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    db_cpu = _server_cpu(database) - db_cpu
    n = len(measured)
    result = {"cpu_ms": cpu / n * 1000, "wall_ms": wall / n * 1000, "statements": statements[0] / n}
    if db_cpu:
        result["db_cpu_ms"] = db_cpu / n * 1000
    print(orjson.dumps(result).decode())


def _server_cpu(database: str) -> float:
    """Seconds of CPU used so far by this machine's PostgreSQL backends of ``database`` (0 when
    the server is elsewhere). The test client's connections stay open through the loop."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            if not command.startswith("postgres:") or f" {database} " not in command:
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def run(code: str, url: str, archive: str, args, *, profile: str | None) -> dict:
    sys.path.insert(0, HERE)
    from publish_bench import checkout_env, flask_command

    env = checkout_env(code, url, CMS_RESPONSE_CACHE_SECONDS="30")
    flask = flask_command(code, env)

    flask("db", "upgrade")
    flask("import", archive)
    flask("derived", "run-pending")
    flask("user", "create", "--email", "ed@example.org", "--role", "editor", stdin=PASSWORD + "\n")
    results = {}
    for pass_profile in [None, profile] if profile else [None]:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "--code", code]
        cmd += ["--warmup", str(args.warmup), "--measure", str(args.measure)]
        cmd += ["--seed", str(args.seed)]
        if pass_profile:
            cmd += ["--profile", pass_profile]
        done = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            sys.exit(done.stdout + done.stderr)
        results.update(orjson.loads(done.stdout.strip().splitlines()[-1]))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archive", type=int, default=1500, help="articles imported first")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--measure", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--database-name", help="the database to create (default <name of the URL>_publish_cpu)"
    )
    parser.add_argument("--code", action="append", default=[], help="a checkout; repeatable")
    parser.add_argument("--profile", help="cProfile of the last checkout's loop to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    sys.path.insert(0, os.path.dirname(HERE))
    import sqlalchemy as sa
    from import_bench import write_file

    from cms.config import sqlalchemy_url

    codes = [os.path.abspath(c) for c in args.code or [os.path.dirname(HERE)]]
    base = sa.engine.make_url(sqlalchemy_url(args.database_url))
    name = args.database_name or f"{base.database}_publish_cpu"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    archive = tempfile.NamedTemporaryFile(suffix=".jsonl")  # noqa: SIM115
    write_file(archive.name, args.archive, args.seed)
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print()
    print("| code | CPU per create + publish | database CPU | wall | statements |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for i, code in enumerate(codes):
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = base.set(database=name).render_as_string(False)
            last = i == len(codes) - 1
            r = run(code, url, archive.name, args, profile=args.profile if last else None)
        finally:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        db_cpu = f"{r['db_cpu_ms']:.1f} ms" if "db_cpu_ms" in r else "–"
        print(
            f"| {code} | {r['cpu_ms']:.1f} ms | {db_cpu} | {r['wall_ms']:.1f} ms | "
            f"{r['statements']:.1f} |",
            flush=True,
        )
    print()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
