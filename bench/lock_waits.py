"""Sample lock waits in one database while something else runs (e.g. ``publish_bench.py``).

    python bench/lock_waits.py writepath_publish_bench &
    python bench/publish_bench.py ...; kill %1

Every 0.1 s reads ``pg_stat_activity`` of the database (active backends, and those waiting on a
lock with the start of their statement); on SIGTERM prints the averages per sample: how many
backends were active, how many waited on a lock, and on which statements.
"""

from __future__ import annotations

import collections
import signal
import sys
import time

import psycopg

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def main() -> None:
    database = sys.argv[1]
    connection = psycopg.connect(SERVER, autocommit=True)
    samples = active = 0
    waits: collections.Counter = collections.Counter()

    def done(*_):
        n = max(samples, 1)
        top = ", ".join(f"{k}: {v / n:.2f}" for k, v in waits.most_common(8))
        print(
            f"samples {samples}, active backends {active / n:.2f} avg, "
            f"lock-waiting {sum(waits.values()) / n:.2f} avg; {top}",
            flush=True,
        )
        sys.exit(0)

    signal.signal(signal.SIGTERM, done)
    while True:
        rows = connection.execute(
            "SELECT wait_event_type, wait_event, left(query, 60) FROM pg_stat_activity "
            "WHERE datname = %s AND state = 'active' AND pid != pg_backend_pid()",
            (database,),
        ).fetchall()
        samples += 1
        active += len(rows)
        for kind, event, query in rows:
            if kind == "Lock":
                statement = " ".join(query.split(" WHERE")[0].split())[:50]
                waits[f"{event} [{statement}]"] += 1
        time.sleep(0.1)


if __name__ == "__main__":
    main()
