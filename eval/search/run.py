"""Evaluate search ranking through the public API, as an outside check would.

The set: ``queries.json`` (queries as readers type them, each with graded judgments of the
documents, 0-3) over the 288 documents of ``collection.py``. The script

1. creates a fresh database (SQLite, or with ``--database-url`` a new PostgreSQL database on
   that server, dropped at exit) with the app's migrations, an editor login and the set's
   sections and tags;
2. publishes every document through the editor API in publication order, the app's clock set
   to the document's publication time;
3. reads ``GET /api/v1/search?q=<query>&limit=10`` for every query (``sort=relevance``, the
   default) and, as the baseline that does not rank, ``sort=newest``; and scores each list
   against the judgments: nDCG@10 (gain ``2^grade - 1``, the ideal ranking made of every judged
   document, found or not), P@5 (grade >= 2) and reciprocal rank of the first grade-3
   document, with 95% bootstrap intervals over the queries, overall, per query class and per
   split. Documents a list returns that the query does not judge are counted (they score 0):
   a large count means the judgments miss documents the engine finds.

``--save FILE`` writes the per-query scores; ``--against FILE`` compares with a saved run,
paired per query. ``--before REV`` runs the same evaluation on the app as of git revision REV
(its ``cms``, ``migrations`` and ``site``, unpacked into a temporary directory) in a subprocess, and
compares this tree with it on the same database kind.

    python eval/search/run.py                                   # SQLite
    python eval/search/run.py --database-url postgresql://postgres@127.0.0.1:5432/test
    python eval/search/run.py --database-url ... --before main --verbose
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from collection import documents  # noqa: E402

from eval.harness import add_taxonomy, article_body, bootstrap_ci, fresh_app, publish  # noqa: E402

K = 10
CLASSES_ORDER = ("broad", "two-word", "entity", "german", "phrase", "question-like")


def load_queries(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["queries"]


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


def dcg(grades: list[int]) -> float:
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(grades))


def scores(ranked: list[str], judgments: dict[str, int]) -> dict:
    """nDCG@K, P@5 and reciprocal rank of ``ranked`` (document keys, best first)."""
    got = [judgments.get(key, 0) for key in ranked[:K]]
    ideal = dcg(sorted(judgments.values(), reverse=True)[:K])
    first = next((i for i, key in enumerate(ranked) if judgments.get(key, 0) >= 3), None)
    return {
        "ndcg": dcg(got) / ideal if ideal else 0.0,
        "p5": sum(1 for g in got[:5] if g >= 2) / 5,
        "rr": 0.0 if first is None else 1.0 / (first + 1),
        "unjudged": sum(1 for key in ranked[:K] if key not in judgments),
        "found": len(ranked),
    }


# --------------------------------------------------------------------------------------------
# Through the app
# --------------------------------------------------------------------------------------------


def run_queries(database_url: str | None, queries: list[dict]) -> dict:
    """Publish the collection through a fresh app and run every query both ways; the ranked
    document keys, ``{"relevance": {id: [...]}, "newest": {...}}``, and the timings."""
    from cms.clock import set_clock

    _app, client, auth = fresh_app("cms-search-eval-", database_url)
    docs = documents()
    add_taxonomy(docs)
    key_of = {}
    started = time.perf_counter()
    for doc in sorted(docs, key=lambda d: (d["published_at"], d["key"])):
        set_clock(lambda t=doc["published_at"]: t)
        created = publish(client, auth, article_body(doc, doc["blocks"]))
        key_of[created["slug"]] = doc["key"]
    published = time.perf_counter() - started
    set_clock(None)
    ranked: dict[str, dict[str, list[str]]] = {"relevance": {}, "newest": {}}
    started = time.perf_counter()
    for sort in ranked:
        for q in queries:
            response = client.get(
                "/api/v1/search", query_string={"q": q["query"], "limit": K, "sort": sort}
            )
            assert response.status_code == 200, (q["query"], response.get_json())
            ranked[sort][q["id"]] = [key_of[hit["slug"]] for hit in response.get_json()["data"]]
    return {
        "ranked": ranked,
        "publish_s": published,
        "query_ms": (time.perf_counter() - started) * 1000 / (2 * len(queries)),
        "documents": len(docs),
    }


def run_before(rev: str, database_url: str | None, queries_path: Path) -> dict:
    """:func:`run_queries` on the app as of ``rev``, in a subprocess."""
    where = Path(tempfile.mkdtemp(prefix="cms-search-eval-before-"))
    archive = subprocess.run(
        ["git", "archive", rev, "cms", "migrations", "site"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(where, filter="data")
    out = where / "ranked.json"
    command = [sys.executable, __file__, "--code", str(where), "--ranked-json", str(out)]
    command += ["--queries", str(queries_path)]
    if database_url:
        command += ["--database-url", database_url]
    subprocess.run(command, check=True)
    return json.loads(out.read_text())


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def table(queries: list[dict], systems: dict[str, dict[str, list[str]]]) -> str:
    groups = [("all", queries)]
    for cls in CLASSES_ORDER:
        members = [q for q in queries if q["class"] == cls]
        if members:
            groups.append((cls, members))
    for split in ("dev", "test"):
        groups.append((split, [q for q in queries if q.get("split") == split]))
    lines = [
        "| system | queries | nDCG@10 [95% CI] | P@5 | MRR | unjudged in top 10 |",
        "|---|---|---|---:|---:|---:|",
    ]
    for group, members in groups:
        for name, ranked in systems.items():
            rows = [scores(ranked[q["id"]], q["judgments"]) for q in members]
            ndcgs = [r["ndcg"] for r in rows]
            low, high = bootstrap_ci(ndcgs)
            mean = sum(ndcgs) / len(ndcgs)
            lines.append(
                f"| {name} | {group} ({len(rows)}) | {mean:.3f} [{low:.3f}, {high:.3f}] "
                f"| {sum(r['p5'] for r in rows) / len(rows):.3f} "
                f"| {sum(r['rr'] for r in rows) / len(rows):.3f} "
                f"| {sum(r['unjudged'] for r in rows)} |"
            )
    return "\n".join(lines)


def paired(queries: list[dict], a: dict[str, list[str]], b: dict[str, list[str]]) -> str:
    """nDCG@10 of ``a`` minus ``b``, per query: mean, 95% CI and wins/ties/losses."""
    diffs = [
        scores(a[q["id"]], q["judgments"])["ndcg"] - scores(b[q["id"]], q["judgments"])["ndcg"]
        for q in queries
    ]
    low, high = bootstrap_ci(diffs)
    wins = sum(1 for d in diffs if d > 1e-9)
    losses = sum(1 for d in diffs if d < -1e-9)
    return (
        f"{sum(diffs) / len(diffs):+.3f} [{low:+.3f}, {high:+.3f}], "
        f"W/T/L {wins}/{len(diffs) - wins - losses}/{losses}"
    )


def verbose(queries: list[dict], ranked: dict[str, list[str]]) -> None:
    for q in queries:
        row = scores(ranked[q["id"]], q["judgments"])
        shown = " ".join(f"{key}={q['judgments'].get(key, '?')}" for key in ranked[q["id"]][:K])
        print(f"{q['id']} {q['query']!r} nDCG {row['ndcg']:.2f}: {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=Path, default=HERE / "queries.json")
    parser.add_argument("--database-url", help="a PostgreSQL server to make a new database on")
    parser.add_argument("--before", help="also evaluate the app as of this git revision")
    parser.add_argument("--save", help="write the per-query rankings to this JSON file")
    parser.add_argument("--against", help="a --save file of another run: paired difference")
    parser.add_argument("--verbose", action="store_true", help="each query's top 10, graded")
    parser.add_argument("--code", help=argparse.SUPPRESS)
    parser.add_argument("--ranked-json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.code:  # the subprocess of --before: that revision's app, this tree's evaluation
        sys.path.insert(0, args.code)
        os.chdir(args.code)
    queries = load_queries(args.queries)
    result = run_queries(args.database_url, queries)
    if args.ranked_json:
        Path(args.ranked_json).write_text(json.dumps(result))
        return
    systems = {
        "relevance": result["ranked"]["relevance"],
        "newest (no ranking)": result["ranked"]["newest"],
    }
    others = {}
    if args.before:
        before = run_before(args.before, args.database_url, args.queries)
        systems[f"relevance at {args.before}"] = before["ranked"]["relevance"]
        others[f"at {args.before}"] = before["ranked"]["relevance"]
    if args.against:
        others[args.against] = json.loads(Path(args.against).read_text())["relevance"]
    kind = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"{kind}: {result['documents']} documents published in {result['publish_s']:.1f} s; "
        f"{len(queries)} queries, {result['query_ms']:.1f} ms per search"
    )
    print(table(queries, systems))
    print()
    others = {"newest": result["ranked"]["newest"], **others}
    for name, ranked in others.items():
        print(f"relevance − {name}, nDCG@10: {paired(queries, systems['relevance'], ranked)}")
    if args.verbose:
        verbose(queries, systems["relevance"])
    if args.save:
        Path(args.save).write_text(json.dumps(result["ranked"]))


if __name__ == "__main__":
    main()
