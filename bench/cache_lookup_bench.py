"""Cost of one response-cache lookup with the content generation read from the database
(what every cached answer pays when no Redis is configured), against the same lookup with the
generation held in memory (what it cost before the generation moved to the database).

    python bench/cache_lookup_bench.py --database-url sqlite:////tmp/cms_bench_5k.sqlite3
    python bench/cache_lookup_bench.py --database-url postgresql://postgres@127.0.0.1:5432/cms_bench

The database must have been migrated (``flask --app wsgi db upgrade``). Prints microseconds
per lookup for both, alternating five rounds and keeping the median, and their difference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cms.cache.store import CachedResponse, MemoryStore  # noqa: E402
from cms.config import sqlalchemy_url  # noqa: E402


def per_lookup(store: MemoryStore, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        store.lookup("https  /api/v1/articles?")
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("CMS_DATABASE_URL"))
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()
    engine = sa.create_engine(sqlalchemy_url(args.database_url))
    from_database = MemoryStore(engine)
    in_memory = MemoryStore(engine)
    in_memory._generation = lambda: 0
    entry = CachedResponse(0, 200, (("Content-Type", "application/json"),), b"{}")
    for store in (from_database, in_memory):
        store.set("https  /api/v1/articles?", entry, ttl=3600)
        per_lookup(store, 1000)  # warm up: connect, prepare
    db_times, memory_times = [], []
    for _ in range(5):
        db_times.append(per_lookup(from_database, args.lookups))
        memory_times.append(per_lookup(in_memory, args.lookups))
    db_us, memory_us = statistics.median(db_times), statistics.median(memory_times)
    print(
        f"{engine.dialect.name}: lookup with the generation from the database {db_us:.1f} µs, "
        f"in memory {memory_us:.1f} µs, difference {db_us - memory_us:.1f} µs per cached answer"
    )


if __name__ == "__main__":
    main()
