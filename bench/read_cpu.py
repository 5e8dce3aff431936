"""Application CPU of the plain public reads, in process, for one or more checkouts of the code.

    python bench/read_cpu.py --database-url postgresql://postgres@127.0.0.1:5432/cms_100k \
        --code /tmp/cms-main --code . --code /tmp/cms-main --code . --only list,detail

For each ``--code`` (a checkout: its ``cms`` package is used, with this interpreter), in a
child process with that checkout first on ``sys.path``: the app as ``bench/http_bench.py``
starts it (production settings, response cache off), its full WSGI stack (``app.wsgi_app``)
called directly with a plain anonymous GET, ``--rounds`` rounds of ``--requests`` requests per
endpoint, timed with ``time.process_time`` (the application's CPU, not the database's); the
minimum round is printed, in µs per request. The detail, related and summary pages cycle
through the slugs of 200 visible articles. ``--floor`` adds ``bench/ceiling_app.py``'s list
and detail floors, called the same way. ``--profile FILE`` writes a cProfile of one more
round of the last checkout's first endpoint.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

import orjson

HERE = os.path.dirname(os.path.abspath(__file__))


def _environ(path: str) -> dict:
    from werkzeug.test import EnvironBuilder

    return EnvironBuilder(
        path=path, method="GET", environ_base={"REMOTE_ADDR": "10.1.2.3"}
    ).get_environ()


def _call(wsgi, environ: dict) -> bytes:
    status = []
    body = b"".join(wsgi(dict(environ), lambda s, h, exc_info=None: status.append(s)))
    if not status or not status[0].startswith("200"):
        raise SystemExit(f"{environ['PATH_INFO']}: {status} {body[:200]!r}")
    return body


def _measure(wsgi, environs: list[dict], requests: int, rounds: int) -> float:
    for environ in environs[:20]:
        _call(wsgi, environ)
    best = None
    for _ in range(rounds):
        started = time.process_time()
        for i in range(requests):
            _call(wsgi, environs[i % len(environs)])
        spent = (time.process_time() - started) / requests
        best = spent if best is None else min(best, spent)
    return best * 1e6


def child(args) -> None:
    sys.path.insert(0, args.code[0])
    import sqlalchemy as sa

    from cms import create_app
    from cms.extensions import db

    app = create_app()
    with app.app_context():
        slugs = db.session.scalars(
            sa.text(
                "SELECT slug FROM articles WHERE status = 'published' AND published_at <= :now"
                " ORDER BY id LIMIT 200"
            ),
            {"now": datetime.now(UTC).replace(tzinfo=None)},
        ).all()
        db.session.remove()
    prefix = "/api/v1/articles"
    endpoints = {
        "list": [_environ(prefix)],
        "detail": [_environ(f"{prefix}/{slug}") for slug in slugs],
        "related": [_environ(f"{prefix}/{slug}/related") for slug in slugs],
        "summary": [_environ(f"{prefix}/{slug}/summary") for slug in slugs],
        # bench/http_bench.py's taxonomy row.
        "taxonomy": [_environ("/api/v1/tags")],
        # bench/http_bench.py's search row.
        "search": [
            _environ(f"/api/v1/search?q={word}")
            for word in ("rail", "union", "forecast", "airport")
        ],
    }
    wanted = args.only.split(",")
    out = {}
    for name in wanted:
        out[name] = _measure(app.wsgi_app, endpoints[name], args.requests, args.rounds)
    if args.floor:
        sys.path.insert(0, HERE)
        from ceiling_app import app as floor_app

        floors = {
            "list": [_environ("/floor/articles")],
            "detail": [_environ(f"/floor/articles/{slug}") for slug in slugs],
        }
        for name in wanted:
            if name in floors:
                out[f"{name} floor"] = _measure(
                    floor_app.wsgi_app, floors[name], args.requests, args.rounds
                )
    if args.profile:
        import cProfile

        environs = endpoints[wanted[0]]
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for i in range(args.requests):
            _call(app.wsgi_app, environs[i % len(environs)])
        profiler.disable()
        profiler.dump_stats(args.profile)
    print(orjson.dumps(out).decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("CMS_DATABASE_URL"))
    parser.add_argument("--code", action="append", default=[], help="a checkout; repeatable")
    parser.add_argument("--only", default="list,detail,related")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--floor", action="store_true", help="also the floors of ceiling_app")
    parser.add_argument("--profile", help="write a cProfile of the last checkout")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not args.database_url:
        parser.error("give --database-url or set CMS_DATABASE_URL")
    codes = [os.path.abspath(c) for c in args.code or [os.path.dirname(HERE)]]
    env = {
        **os.environ,
        "CMS_DATABASE_URL": args.database_url,
        "CMS_ENV": "production",
        "CMS_SECRET_KEY": secrets.token_urlsafe(48),
        "CMS_INSTANCE_PATH": tempfile.mkdtemp(prefix="cms-read-cpu-"),
        "CMS_LOG_LEVEL": "WARNING",
        "CMS_RESPONSE_CACHE_SECONDS": "0",
    }
    wanted = args.only.split(",")
    columns = wanted + (
        [f"{n} floor" for n in wanted if n in ("list", "detail")] if args.floor else []
    )
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("| code | " + " | ".join(f"{c} µs" for c in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for i, code in enumerate(codes):
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "--code", code]
        cmd += ["--only", args.only, "--requests", str(args.requests), "--rounds", str(args.rounds)]
        if args.floor:
            cmd.append("--floor")
        if args.profile and i == len(codes) - 1:
            cmd += ["--profile", args.profile]
        done = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(done.stderr[-3000:] + done.stdout[-2000:])
        result = orjson.loads(done.stdout.strip().splitlines()[-1])
        print(f"| {code} | " + " | ".join(f"{result[c]:.0f}" for c in columns) + " |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
