"""Concurrent additions to the same count rows on PostgreSQL: deadlocks and throughput.

Eight threads add to the ``listed_count`` of three rows, in transactions that also insert a
row naming one of them (the foreign-key check of an article or link insert), as concurrent
publishes do. It runs the statements ``cms.services.public.counts`` sends (the rows locked in
id order, then updated; for one table, and for two tables at once, the second table's rows
locked after the first's) against the earlier single statement, whose lock was a CTE of the
UPDATE, and prints the transactions done and the deadlocks of each.

    python bench/count_lock_bench.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import random
import threading
import time

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from cms.services.public.counts import _add_statements_pg

# The statement used before: lock and update in one, the lock in a materialized CTE.
ONE_STATEMENT = (
    "WITH locked AS MATERIALIZED (SELECT id FROM sections WHERE id = ANY(%(ids)s) "
    "ORDER BY id FOR NO KEY UPDATE), "
    "added AS (SELECT * FROM unnest(%(ids)s::integer[], %(ns)s::integer[]) AS added (id, n)) "
    "UPDATE sections SET listed_count = sections.listed_count + added.n "
    "FROM locked JOIN added ON added.id = locked.id WHERE sections.id = locked.id"
)


def _pyformat(statement: sa.TextClause) -> str:
    return str(statement.compile(dialect=postgresql.dialect(paramstyle="pyformat")))


def run(url: str, statements: list[str], seconds: float, threads: int, tables: int) -> dict:
    stats = {"done": 0, "deadlocks": 0}
    lock = threading.Lock()

    def work():
        with psycopg.connect(url) as conn:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                params = {}
                for i in range(tables):
                    ids = sorted(random.sample([1, 2, 3], random.choice([1, 1, 2])))
                    params |= {f"ids{i}": ids, f"ns{i}": [1] * len(ids)}
                params |= {"ids": params["ids0"], "ns": params["ns0"]}
                try:
                    with conn.transaction():
                        if random.random() < 0.5:
                            conn.execute(
                                "INSERT INTO child (section_id, tag_id) VALUES (%s, %s)",
                                (params["ids0"][0], params.get("ids1", [None])[0]),
                            )
                        for sql in statements:
                            conn.execute(sql, params)
                        time.sleep(random.random() * 0.002)
                    key = "done"
                except psycopg.errors.DeadlockDetected:
                    key = "deadlocks"
                with lock:
                    stats[key] += 1

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database-name", default="count_lock_bench")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    admin = args.database_url
    url = admin.rsplit("/", 1)[0] + "/" + args.database_name
    variants = {
        "lock, then update (counts.py)": (
            [_pyformat(s) for s in _add_statements_pg(("sections",))], 1
        ),
        "lock, then update, two tables (counts.py)": (
            [_pyformat(s) for s in _add_statements_pg(("sections", "tags"))], 2
        ),
        "one statement, lock in a CTE (before)": ([ONE_STATEMENT], 1),
    }
    for name, (statements, tables) in variants.items():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database_name}"')
            conn.execute(f'CREATE DATABASE "{args.database_name}"')
        with psycopg.connect(url, autocommit=True) as conn:
            for table in ("sections", "tags"):
                conn.execute(
                    f"CREATE TABLE {table} (id int PRIMARY KEY, listed_count int NOT NULL)"
                )
                conn.execute(f"INSERT INTO {table} SELECT g, 0 FROM generate_series(1, 3) g")
            conn.execute("CREATE TABLE child (id serial PRIMARY KEY, section_id int "
                         "REFERENCES sections (id), tag_id int REFERENCES tags (id))")
        stats = run(url, statements, args.seconds, args.threads, tables)
        print(f"{name}: {stats['done']} transactions, {stats['deadlocks']} deadlocks "
              f"in {args.seconds:g} s with {args.threads} threads")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database_name}"')


if __name__ == "__main__":
    main()
