"""Whether two checkouts' bulk imports write the same database, table by table, ids included.

    python bench/import_compare.py --count 1000 \
        --database-url postgresql://postgres@127.0.0.1:5432/postgres \
        --code /tmp/cms-main --code . [--pieces 100] [--drain]

Writes the JSON lines of ``bench/import_bench.py`` (``--count``, ``--seed``; or ``--file``), and
for each of the two ``--code`` checkouts creates ``<name>_import_compare_<n>`` next to the given
server URL, migrates it and runs ``importing.import_lines`` (``--jobs``, ``--batch-size``) in a
process of that checkout, then, with ``--drain``, ``flask --app wsgi derived run-pending``.
Every table of both databases is read whole and compared row by row (all columns, ids
included); masked are only the times of the run itself (timestamp columns and timestamps inside
JSON from the run's start on) and the events' random ids. ``--pieces N`` makes the second
checkout write every batch in pieces of N articles (``importing.PIECE``, and
``_Batch.waiting_for`` always true: code of this round and later). Prints the rows and
differing rows per table; exits 1 if any row differs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import sys, os
code, path, pieces, batch_size, jobs = sys.argv[1:6]
sys.path.insert(0, code)
os.chdir(code)
from cms import create_app
from cms.services.content import importing
if int(pieces):
    importing.PIECE = int(pieces)
    importing._Batch.waiting_for = lambda self, number: True
app = create_app()
with app.app_context():
    with open(path, encoding="utf-8") as lines:
        result = importing.import_lines(lines, jobs=int(jobs), batch_size=int(batch_size))
    print(result.loaded, "loaded,", len(result.errors), "bad lines")
"""
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
_EVENT_ID = re.compile(r"evt_[0-9a-f]{32}")


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def dump(url: str, since: datetime.datetime) -> dict[str, list[str]]:
    """Every row of every table as JSON text, the run's times and event ids masked."""

    def mask(match: re.Match) -> str:
        try:
            moment = datetime.datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))
        except ValueError:
            return match.group(0)
        return "NOW" if _utc(moment) >= since else match.group(0)

    engine = sa.create_engine(url)
    tables: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            rows = []
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')).mappings():
                values = {
                    key: "NOW"
                    if isinstance(value, datetime.datetime) and _utc(value) >= since
                    else value
                    for key, value in row.items()
                }
                text = json.dumps(values, sort_keys=True, default=str)
                rows.append(_EVENT_ID.sub("evt_X", _TIMESTAMP.sub(mask, text)))
            tables[table] = sorted(rows)
    engine.dispose()
    return tables


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--file", help="JSON lines to import instead of generated ones")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--pieces", type=int, default=0)
    parser.add_argument("--drain", action="store_true")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--code", action="append", required=True, help="two checkouts")
    args = parser.parse_args(argv)
    if len(args.code) != 2:
        parser.error("give --code twice")

    sys.path.insert(0, os.path.join(ROOT, "bench"))
    sys.path.insert(0, ROOT)
    from import_bench import import_env, run_flask, write_file

    from cms.config import sqlalchemy_url

    path = args.file
    if not path:
        path = os.path.join(tempfile.mkdtemp(), "articles.jsonl")
        write_file(path, args.count, args.seed)
    base = sa.engine.make_url(sqlalchemy_url(args.database_url))
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    dumps = []
    try:
        for n, code in enumerate(args.code):
            code = os.path.abspath(code)
            name = f"{base.database}_import_compare_{n}"
            url = base.set(database=name).render_as_string(hide_password=False)
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                c.execute(sa.text(f'CREATE DATABASE "{name}"'))
            upgrade = run_flask(url, "db", "upgrade", code=code)
            if upgrade.returncode:
                sys.exit(upgrade.stdout + upgrade.stderr)
            since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)
            pieces = args.pieces if n == 1 else 0
            done = subprocess.run(
                [sys.executable, "-c", CHILD, code, path, str(pieces)]
                + [str(args.batch_size), str(args.jobs)],
                env=import_env(url),
                check=True,
                capture_output=True,
                text=True,
            )
            print(f"{code} (pieces: {pieces or 'as it decides'}): {done.stdout.strip()}")
            if args.drain:
                drained = run_flask(url, "derived", "run-pending", code=code)
                print("  " + drained.stdout.strip())
            dumps.append(dump(url, since))
    finally:
        with admin.connect() as c:
            for n in range(len(args.code)):
                name = f"{base.database}_import_compare_{n}"
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    first, second = dumps
    different = 0
    print("| table | rows | differing rows |")
    print("| --- | ---: | ---: |")
    for table in sorted(set(first) | set(second)):
        a, b = first.get(table, []), second.get(table, [])
        differ = len(set(a) ^ set(b))
        different += differ
        rows = f"{len(a):,}" if len(a) == len(b) else f"{len(a):,} / {len(b):,}"
        print(f"| {table} | {rows} | {differ} |")
    print(f"\n{different} differing rows")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
