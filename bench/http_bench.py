"""Requests/second of the public API against the framework's ceiling, with ``wrk``.

    CMS_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cms_bench_100k \
        python bench/http_bench.py --duration 10 --connections 16

Starts the app (``gunicorn -c gunicorn.conf.py wsgi:app``) and the ceiling app
(``bench/ceiling_app.py``: a fixed JSON document of the same size, same gunicorn configuration)
on two ports, loads each endpoint and its same-size ceiling with ``wrk`` for the same duration
and connections, and prints requests/second, p50 and p99 latency and the ratio ours/ceiling.
"list floor" is not the app: the ceiling app's ``/floor/articles`` reads the same page of
stored cards with one hand-written query on a plain DB-API connection, the least a database-
backed list can cost here (also "detail floor" and "search floor"); a last table sets each row
beside its floor. The conditional request (``If-None-Match`` → 304) is compared with the
ceiling serving the list's document. The plain rows run with the response cache off. The
"cached" rows run against a second app with the response cache on (per process, in memory), the
"cached redis" rows against a third whose cache is in Redis (``--redis-url``, flushed first);
each of those is preceded by one unmeasured wrk pass over the same URLs, so that every worker
process has the entries.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from cms.config import sqlalchemy_url  # noqa: E402

TARGETS = {
    "list": 0.50,
    "detail": 0.60,
    "304": 0.90,
    "list cached": 0.90,
    "detail cached": 0.90,
    "304 cached": 0.90,
    "list cached redis": 0.90,
    "detail cached redis": 0.90,
    "304 cached redis": 0.90,
}


def pick_paths(app, rotate: int) -> dict:
    """Paths to load: slugs spread over the table, and a cursor 90% deep into the list."""
    from cms.extensions import db
    from cms.models import Article
    from cms.pagination import encode_cursor
    from cms.services.visibility import public_articles

    with app.app_context():
        total = db.session.scalar(
            sa.select(sa.func.count()).select_from(public_articles().subquery())
        )
        step = max(1, total // rotate)
        ordered = public_articles().order_by(Article.published_at.desc(), Article.id.desc())
        ids = db.session.scalars(
            sa.select(Article.id)
            .where(Article.status == "published", (Article.id % step) == 0)
            .limit(rotate)
        ).all()
        sample = db.session.scalars(sa.select(Article.slug).where(Article.id.in_(ids))).all()
        deep = db.session.execute(
            sa.select(Article.published_at, Article.id)
            .where(Article.id.in_(sa.select(ordered.subquery().c.id)))
            .order_by(Article.published_at.desc(), Article.id.desc())
            .offset(int(total * 0.9))
            .limit(1)
        ).first()
        db.session.remove()
    return {
        "total": total,
        "slugs": list(sample),
        "deep_cursor": encode_cursor([deep[0], deep[1]]),
    }


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server at {url} did not come up")


def fetch(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def run_wrk(
    base: str, paths: list[str], *, duration: int, connections: int, headers: dict | None = None
) -> dict:
    """One wrk run rotating over ``paths``; requests/s, latency percentiles (50, 75, 90, 99) and
    maximum in ms, non-2xx/3xx count."""
    lua_paths = ", ".join(json.dumps(p) for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f"local paths = {{{lua_paths}}}\nlocal i = 0\nrequest = function()\n"
            "  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n"
        )
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    out = subprocess.run(cmd + [base], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    percentiles = {
        f"p{q}": _ms(re.search(rf"\s{q}%\s+([\d.]+\w+)", out).group(1)) for q in (50, 75, 90, 99)
    }
    latency_max = _ms(re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+\w+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "requests": requests,
        **percentiles,
        "max": latency_max,
        "non_2xx_3xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


_TICK = os.sysconf("SC_CLK_TCK")


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) so far of the live processes in process group ``pgid``."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


def backends_cpu(engine) -> float:
    """CPU seconds so far of the PostgreSQL backends connected to the benchmark's database."""
    if engine is None:
        return 0.0
    with engine.connect() as connection:
        pids = connection.scalars(
            sa.text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def measured(server: subprocess.Popen, engine, base: str, paths: list[str], **options) -> dict:
    """``run_wrk`` with the CPU its server and the database spent per request."""
    server_before, db_before = group_cpu(server.pid), backends_cpu(engine)
    result = run_wrk(base, paths, **options)
    server_s = group_cpu(server.pid) - server_before
    db_s = backends_cpu(engine) - db_before
    requests = max(1, result["requests"])
    result["server_cpu_us"] = server_s / requests * 1e6
    result["db_cpu_us"] = db_s / requests * 1e6
    return result


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _kind(name: str) -> str:
    """The server a row runs against: "" (response cache off), " cached", " cached redis"."""
    return next(k for k in (" cached redis", " cached", "") if name.endswith(k))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("CMS_DATABASE_URL"))
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--ceiling-port", type=int, default=8701)
    parser.add_argument(
        "--rotate",
        type=int,
        default=500,
        help="distinct articles the detail/summary/related runs cycle through",
    )
    parser.add_argument("--only", help="comma-separated subset of endpoint names")
    parser.add_argument(
        "--repeat", type=int, default=1, help="pairs of runs per row; the median ratio is kept"
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/15",
        help="Redis database for the 'cached redis' rows (flushed first)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set CMS_DATABASE_URL")
    url = sqlalchemy_url(args.database_url)
    load_at_start = os.getloadavg()[0]

    from cms import create_app

    picked = pick_paths(create_app({"SQLALCHEMY_DATABASE_URI": url}), args.rotate)
    slugs = picked["slugs"]
    api = "/api/v1"
    endpoints = {
        "list": [f"{api}/articles"],
        "deep cursor": [f"{api}/articles?cursor={picked['deep_cursor']}"],
        "detail": [f"{api}/articles/{s}" for s in slugs],
        "summary": [f"{api}/articles/{s}/summary" for s in slugs],
        "related": [f"{api}/articles/{s}/related" for s in slugs],
        "taxonomy": [f"{api}/tags"],
        # A word in every generated article, and three in 10-15% of them (their titles).
        "search": [f"{api}/search?q={word}" for word in ("rail", "union", "forecast", "airport")],
        "304": [f"{api}/articles"],
        # Not the app: one hand-written query of the stored cards, in the ceiling app (see
        # bench/ceiling_app.py): what any database-backed list costs on this machine.
        "list floor": ["/floor/articles"],
        # The same for the detail: one statement by slug (card, body, summary), no neighbours.
        "detail floor": [f"/floor/articles/{s}" for s in slugs],
        # ...and for the search (PostgreSQL): one statement ranks the window, reads 20 cards.
        "search floor": [f"/floor/search?q={w}" for w in ("rail", "union", "forecast", "airport")],
    }
    # The same app with its response cache on (entries live 600 s), in memory / Redis.
    for suffix in (" cached", " cached redis"):
        for name in ("list", "detail", "304"):
            endpoints[name + suffix] = endpoints[name]
    if args.only:
        wanted = set(args.only.split(","))
        endpoints = {k: v for k, v in endpoints.items() if k in wanted}

    env = {
        **os.environ,
        "CMS_DATABASE_URL": url,
        "CMS_ENV": "production",
        "CMS_SECRET_KEY": secrets.token_urlsafe(48),
        "CMS_INSTANCE_PATH": tempfile.mkdtemp(prefix="cms-bench-"),
        "CMS_LOG_LEVEL": "WARNING",
        "CMS_RESPONSE_CACHE_SECONDS": "0",
        "GUNICORN_MAX_REQUESTS": os.environ.get("GUNICORN_MAX_REQUESTS", "0"),
    }
    logs = Path(tempfile.mkdtemp(prefix="cms-bench-logs-"))
    # Only the servers the chosen rows need: "" (cache off), " cached", " cached redis".
    kinds = {_kind(name) for name in endpoints}
    settings = {
        "": {},
        # Entries live 600 s (the lifetime is capped at max-age): the warm-up's entries must
        # outlast the row's runs, or the last runs measure misses.
        " cached": {"CMS_RESPONSE_CACHE_SECONDS": "600", "CMS_CACHE_MAX_AGE": "600"},
        " cached redis": {
            "CMS_RESPONSE_CACHE_SECONDS": "600",
            "CMS_CACHE_MAX_AGE": "600",
            "CMS_REDIS_URL": args.redis_url,
        },
    }
    if " cached redis" in kinds:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    servers, bases, processes = [], {}, {}
    for offset, kind in enumerate(("", " cached", " cached redis")):
        if kind in kinds:
            port = args.port + 2 * (offset + 1) if offset else args.port
            servers.append(
                start(
                    ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                    {**env, "PORT": str(port), **settings[kind]},
                    logs / f"app{kind.replace(' ', '-')}.log",
                )
            )
            bases[kind] = f"http://127.0.0.1:{port}"
            processes[kind] = servers[-1]
    servers.append(
        start(
            ["gunicorn", "-c", "gunicorn.conf.py", "bench.ceiling_app:app"],
            {**env, "PORT": str(args.ceiling_port)},
            logs / "ceiling.log",
        )
    )
    ceiling_base = f"http://127.0.0.1:{args.ceiling_port}"
    ceiling_process = servers[-1]
    probe = (
        sa.create_engine(url, poolclass=sa.pool.NullPool)
        if sa.make_url(url).get_backend_name() == "postgresql"
        else None
    )
    results = {}
    try:
        for base in bases.values():
            wait_up(f"{base}/healthz")
        wait_up(f"{ceiling_base}/doc/100")
        # Warm all: imports, connection pools, database cache.
        for base in bases.values():
            run_wrk(
                base,
                endpoints.get("detail", [f"{api}/articles"]),
                duration=3,
                connections=args.connections,
            )
        run_wrk(ceiling_base, ["/doc/1000"], duration=2, connections=args.connections)
        names = list(endpoints)
        for index, (name, paths) in enumerate(endpoints.items()):
            # The app servers no row from here on needs are stopped: each worker keeps a pool
            # of connections, and all three servers' pools could ask PostgreSQL for more
            # connections than it allows (100 by default).
            needed = {_kind(later) for later in names[index:] if not later.endswith("floor")}
            for done in [k for k in processes if k not in needed]:
                stop(processes.pop(done))
            kind = _kind(name)
            floor = name.endswith("floor")
            ours_base = ceiling_base if floor else bases[kind]
            ours_process = ceiling_process if floor else processes[kind]
            headers = None
            status, body, resp_headers = fetch(ours_base + paths[0])
            if status != 200:
                raise SystemExit(f"{name}: {paths[0]} answered {status}: {body[:300]!r}")
            size = sum(len(fetch(ours_base + p)[1]) for p in paths[:20]) // min(len(paths), 20)
            if name.startswith("304"):
                headers = {"If-None-Match": resp_headers["ETag"]}
                check = fetch(ours_base + paths[0], headers)[0]
                if check != 304:
                    raise SystemExit(f"304: conditional request answered {check}")
                size = len(body)
            if kind:
                # Fill the response cache of every worker process (each has its own in memory):
                # a wrk connection stays with one worker, so many connections, and passes until
                # one is no faster than the one before (every worker has seen every path; on a
                # busy machine 500 detail misses per worker take longer than one pass). Entries
                # live 600 s, longer than the row's runs.
                previous = 0.0
                for _ in range(6):
                    warm = run_wrk(
                        ours_base,
                        paths,
                        duration=3 if len(paths) == 1 else 2 * args.duration,
                        connections=64,
                        headers=headers,
                    )
                    if warm["rps"] < previous * 1.2:
                        break
                    previous = warm["rps"]
            # Ours and the ceiling alternate --repeat times; the row keeps the run with the median
            # ratio (the machine's noise moves both, a pair measured back to back less so).
            pairs = []
            for _ in range(args.repeat):
                pair = [
                    measured(
                        ours_process,
                        probe,
                        ours_base,
                        paths,
                        duration=args.duration,
                        connections=args.connections,
                        headers=headers,
                    ),
                    measured(
                        ceiling_process,
                        probe,
                        ceiling_base,
                        [f"/doc/{size}"],
                        duration=args.duration,
                        connections=args.connections,
                    ),
                ]
                pairs.append(pair)
            pairs.sort(key=lambda pair: pair[0]["rps"] / pair[1]["rps"])
            mine, ceil = pairs[len(pairs) // 2]
            results[name] = {
                "bytes": size,
                "ours": mine,
                "ceiling": ceil,
                "ratio": round(mine["rps"] / ceil["rps"], 3),
                "ratios": [round(p[0]["rps"] / p[1]["rps"], 3) for p in pairs],
            }
            print(
                f"{name:19s} {size:>7,} B  ours {mine['rps']:>8,.0f} req/s "
                f"p50 {mine['p50']:6.2f} ms p99 {mine['p99']:7.2f} ms | ceiling "
                f"{ceil['rps']:>8,.0f} req/s p50 {ceil['p50']:6.2f} ms p99 {ceil['p99']:7.2f}"
                f" ms | ratio {mine['rps'] / ceil['rps']:5.1%}"
                + (
                    " (of " + ", ".join(f"{p[0]['rps'] / p[1]['rps']:.0%}" for p in pairs) + ")"
                    if len(pairs) > 1
                    else ""
                )
                + f" | CPU µs/req ours {mine['server_cpu_us']:.0f}+{mine['db_cpu_us']:.0f}"
                f" ceiling {ceil['server_cpu_us']:.0f}+{ceil['db_cpu_us']:.0f}"
                + (f"  [{mine['non_2xx_3xx']} non-2xx/3xx]" if mine["non_2xx_3xx"] else ""),
                flush=True,
            )
    finally:
        for server in servers:
            stop(server)
    dialect = sa.make_url(url).get_backend_name()
    print(
        f"\n{dialect}, {picked['total']:,} visible articles, wrk -t1 -c{args.connections} "
        f"-d{args.duration}s, load average {load_at_start:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at the end, logs in {logs}"
    )
    print(
        "| endpoint | bytes | ours req/s | p50 ms | p99 ms | ceiling req/s | ceiling p50 ms "
        "| ceiling p99 ms | ours/ceiling | target |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, r in results.items():
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            verdict = f"≥ {target:.0%} {'met' if r['ratio'] >= target else 'MISSED'}"
        print(
            f"| {name} | {r['bytes']:,} | {r['ours']['rps']:,.0f} | {r['ours']['p50']:.2f} | "
            f"{r['ours']['p99']:.2f} | {r['ceiling']['rps']:,.0f} | {r['ceiling']['p50']:.2f} "
            f"| {r['ceiling']['p99']:.2f} | {r['ratio']:.0%} | {verdict} |"
        )
    print("\nLatency distribution (wrk --latency, ms) of the kept pair:\n")
    print(
        "| endpoint | server | p50 | p75 | p90 | p99 | max | p99 / ceiling p99 "
        "| server CPU µs/req | database CPU µs/req |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for name, r in results.items():
        for who in ("ours", "ceiling"):
            run = r[who]
            tail = f"{run['p99'] / r['ceiling']['p99']:.1f}×" if who == "ours" else ""
            print(
                f"| {name} | {who} | {run['p50']:.2f} | {run['p75']:.2f} | {run['p90']:.2f} "
                f"| {run['p99']:.2f} | {run['max']:.2f} | {tail} "
                f"| {run['server_cpu_us']:.0f} | {run['db_cpu_us']:.0f} |"
            )
    floors = [(name, f"{name} floor") for name in results if f"{name} floor" in results]
    if floors:
        print(
            "\nAgainst the floor (the goal for list and detail: 0.8 of it), two ways: the rows'"
            " shares of the ceiling divided (each measured against its own ceiling run), and"
            " their requests/second divided:\n"
        )
        print(
            "| endpoint | ours/ceiling | floor/ceiling | of its floor | req/s ÷ floor req/s "
            "| server + database CPU µs/req | the floor's |\n|---|---:|---:|---:|---:|---:|---:|"
        )
        for name, floor in floors:
            ours, base = results[name], results[floor]
            print(
                f"| {name} | {ours['ratio']:.1%} | {base['ratio']:.1%} "
                f"| {ours['ratio'] / base['ratio']:.2f} "
                f"| {ours['ours']['rps'] / base['ours']['rps']:.2f} "
                f"| {ours['ours']['server_cpu_us']:.0f} + {ours['ours']['db_cpu_us']:.0f} "
                f"| {base['ours']['server_cpu_us']:.0f} + {base['ours']['db_cpu_us']:.0f} |"
            )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"dialect": dialect, "articles": picked["total"], "results": results}, indent=2
            )
        )


if __name__ == "__main__":
    main()
