"""Cost of scoring one pair of articles: this checkout's scoring module against another commit's.

    python bench/related_pair_bench.py --before b371e3e

Loads ``cms/services/related/scoring.py`` of ``--before`` (``git show``) next to the current
one, extracts the features of every article of the labelled sets in ``eval/related`` (wire,
wire2, corpus) with each, and times ``score(a, b, idf)`` over all ordered pairs after one
``score(f, f, idf)`` per features object (which builds the cached, idf-weighted vectors, as
``rank`` does once per candidate). Rounds alternate between the two modules; medians are
printed with their ratio, which is what to compare on a shared machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cms.services.related import scoring as current  # noqa: E402

SETS = ("wire", "wire2", "corpus")


def _load_module(source: str, name: str):
    path = Path(tempfile.mkdtemp(prefix="scoring-")) / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _articles() -> list[dict]:
    arts = []
    for name in SETS:
        data = json.loads((ROOT / "eval" / "related" / f"{name}.json").read_text("utf-8"))
        arts += data["articles"]
    return arts


def _features(module, arts):
    started = time.perf_counter()
    feats = [
        module.extract_features(
            title=a["title"],
            subtitle=a.get("subtitle", ""),
            text=a["text"],
            tags=a.get("tags"),
            section=a.get("section"),
            sources=a.get("sources"),
            authors=a.get("authors"),
            published_at=None,
            language=a.get("language", "en"),
        )
        for a in arts
    ]
    return feats, (time.perf_counter() - started) / len(arts)


def _per_pair(module, feats) -> float:
    df: Counter[str] = Counter()
    for f in feats:
        df.update(module.df_keys(f))
    idf = module.make_idf(df, len(feats))
    for f in feats:
        module.score(f, f, idf)
    started = time.perf_counter()
    for a in feats:
        for b in feats:
            module.score(a, b, idf)
    return (time.perf_counter() - started) / len(feats) ** 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="commit whose scoring module to compare")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    source = subprocess.run(
        ["git", "show", f"{args.before}:cms/services/related/scoring.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    before = _load_module(source, "scoring_before")
    arts = _articles()
    pair = {"before": [], "after": []}
    extract = {"before": [], "after": []}
    for _ in range(args.rounds):
        for label, module in (("before", before), ("after", current)):
            feats, cost = _features(module, arts)
            extract[label].append(cost)
            pair[label].append(_per_pair(module, feats))
    b, a = statistics.median(pair["before"]), statistics.median(pair["after"])
    eb, ea = statistics.median(extract["before"]), statistics.median(extract["after"])
    print(f"{len(arts)} articles, {len(arts) ** 2} pairs per round, {args.rounds} rounds, medians")
    print(f"score per pair: before {b * 1e6:.2f} us, after {a * 1e6:.2f} us, ratio {a / b:.2f}")
    print(
        f"extract_features per article: before {eb * 1e3:.2f} ms, after {ea * 1e3:.2f} ms, "
        f"ratio {ea / eb:.2f}"
    )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
