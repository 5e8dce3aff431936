"""Where the bulk import's CPU goes: the writing process (and its garbage collection), the
worker processes, and the PostgreSQL backend that writes.

    python bench/import_cpu.py --count 1000 \
        --database-url postgresql://postgres@127.0.0.1:5432/postgres \
        --code /tmp/cms-main --code . --code /tmp/cms-main --code .

Writes the same JSON lines as ``bench/import_bench.py``; for each ``--code`` in turn (a checkout,
e.g. an older version unpacked with ``git archive``) creates ``<name>_import_cpu`` next to the
given server URL, migrates it, and runs ``importing.import_lines`` in a fresh process of that
checkout (no ``flask`` start-up, no drain), reading ``time.process_time`` in the writing
process, the time its cyclic garbage collector ran (``gc.callbacks``), ``RUSAGE_CHILDREN`` for
the worker processes, and the backend's user + system time from ``/proc/<pid>/stat`` (the
database server must run on this machine). Figures are per article; "tail" is the wall time
from the moment the last task of the worker processes finished (``ProcessPoolExecutor.submit``'s
futures, timed by a callback) to the end of the import: what was left to write on one core.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child(code: str, url: str, path: str, jobs: int) -> None:
    """Run in the checkout ``code``: import ``path`` into ``url`` and print the figures."""
    sys.path.insert(0, code)
    os.chdir(code)
    from concurrent.futures import ProcessPoolExecutor

    import sqlalchemy as sa

    from cms import create_app
    from cms.extensions import db
    from cms.services.content.importing import import_lines

    finished = [0.0]
    submit = ProcessPoolExecutor.submit

    def timed_submit(self, *args, **kwargs):
        future = submit(self, *args, **kwargs)
        future.add_done_callback(lambda _: finished.__setitem__(0, time.perf_counter()))
        return future

    ProcessPoolExecutor.submit = timed_submit
    app = create_app()
    collecting = [0.0, 0, 0.0]  # seconds, collections, start of the current one

    def timed(phase, info):
        if phase == "start":
            collecting[2] = time.process_time()
        else:
            collecting[0] += time.process_time() - collecting[2]
            collecting[1] += 1

    with app.app_context():
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        db.session.commit()

        def backend() -> float:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        gc.callbacks.append(timed)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        b0, p0 = backend(), time.process_time()
        with open(path, encoding="utf-8") as lines:
            result = import_lines(lines, jobs=jobs)
        ended = time.perf_counter()
        p1, b1 = time.process_time(), backend()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        gc.callbacks.remove(timed)
    workers = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    print(
        json.dumps(
            {
                "loaded": result.loaded,
                "rate": result.rate,
                "writing": p1 - p0,
                "gc": collecting[0],
                "collections": collecting[1],
                "workers": workers,
                "backend": b1 - b0,
                "tail": ended - finished[0] if finished[0] else 0.0,
                "seconds": result.seconds,
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server URL; a database <name>_import_cpu is created next to it",
    )
    parser.add_argument("--code", action="append", default=[], help="checkout; repeatable")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child, args.jobs)
        return

    import sqlalchemy as sa

    sys.path.insert(0, os.path.join(ROOT, "bench"))
    sys.path.insert(0, ROOT)
    from import_bench import import_env, run_flask, write_file

    from cms.config import sqlalchemy_url

    path = os.path.join(tempfile.mkdtemp(), "articles.jsonl")
    write_file(path, args.count, args.seed)
    base = sa.engine.make_url(sqlalchemy_url(args.database_url))
    name = f"{base.database}_import_cpu"
    target = base.set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    print(
        "| code | load average | import (its own figure) | writing process | of it: garbage "
        "collection | worker processes | PostgreSQL backend | all three | tail (share of the "
        "import) |"
    )
    print("| --- |" + " ---: |" * 8)
    for code in args.code or [ROOT]:
        code = os.path.abspath(code)
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            upgrade = run_flask(target, "db", "upgrade", code=code)
            if upgrade.returncode:
                sys.exit(upgrade.stdout + upgrade.stderr)
            load = os.getloadavg()[0]
            done = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--jobs", str(args.jobs)]
                + ["--child", code, target, path],
                env=import_env(target),
                check=True,
                capture_output=True,
                text=True,
            )
        finally:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        r = json.loads(done.stdout.strip().splitlines()[-1])
        n = r["loaded"]

        def ms(seconds: float, n: int = n) -> str:
            return f"{seconds / n * 1000:.2f} ms"

        print(
            f"| {os.path.basename(code)} | {load:.1f} | {r['rate']:.0f} articles/s | "
            f"{ms(r['writing'])} | {ms(r['gc'])} ({r['collections']} collections) | "
            f"{ms(r['workers'])} | {ms(r['backend'])} | "
            f"{ms(r['writing'] + r['workers'] + r['backend'])} | "
            f"{r['tail']:.2f} s ({r['tail'] / r['seconds']:.0%}) |"
        )
    admin.dispose()


if __name__ == "__main__":
    main()
