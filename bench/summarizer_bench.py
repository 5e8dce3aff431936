"""The automatic summary: same output as another revision's summarizer, and its CPU time.

    python bench/summarizer_bench.py --before main --count 3000

Loads ``cms/services/summaries/summarizer.py`` of git revision ``--before`` beside the current
one and runs both in this process on the articles of ``bench/import_bench.py`` (``--count``,
same generator and seed) and on both evaluation sets of ``eval/summaries``. Counts the articles
whose summary differs and the text blocks whose sentences (``split_sentences``) differ, and
prints the CPU time per article of each (``time.process_time``, best of ``--rounds``
alternating runs, caches warm).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import import_bench  # noqa: E402

from cms.services.summaries import summarizer as current  # noqa: E402

MODULE = "cms/services/summaries/summarizer.py"


def _load(ref: str):
    source = subprocess.run(
        ["git", "show", f"{ref}:{MODULE}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    path = os.path.join(tempfile.mkdtemp(), "summarizer_before.py")
    with open(path, "w", encoding="utf-8") as out:
        out.write(source)
    spec = importlib.util.spec_from_file_location("summarizer_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _sets(count: int, seed: int) -> dict[str, list[tuple[str, list, str]]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    articles = (import_bench.article(rng, i, now) for i in range(count))
    sets = {"bench": [(a["title"], a["body"], a["language"]) for a in articles]}
    for name in ("articles", "wire"):
        with open(os.path.join(ROOT, "eval", "summaries", f"{name}.json"), encoding="utf-8") as f:
            sets[name] = [(a["title"], a["blocks"], a["language"]) for a in json.load(f)]
    return sets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="main", help="git revision to compare with")
    parser.add_argument("--count", type=int, default=3000, help="generated bench articles")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    before = _load(args.before)
    print(f"load average {os.getloadavg()[0]:.1f}")
    print()
    print(
        f"| set | articles | summaries different | blocks split differently | "
        f"{args.before} | this checkout | ratio |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, items in _sets(args.count, args.seed).items():
        summaries = blocks = 0
        for title, body, language in items:
            summaries += before.summarize(title, body, language) != current.summarize(
                title, body, language
            )
            for block in body:
                for text in current._block_texts(block):
                    blocks += before.split_sentences(text, language) != current.split_sentences(
                        text, language
                    )
        best = {"before": float("inf"), "current": float("inf")}
        for _ in range(args.rounds):
            for label, module in (("before", before), ("current", current)):
                started = time.process_time()
                for title, body, language in items:
                    module.summarize(title, body, language)
                spent = (time.process_time() - started) / len(items) * 1000
                best[label] = min(best[label], spent)
        print(
            f"| {name} | {len(items):,} | {summaries} | {blocks} | "
            f"{best['before']:.2f} ms | {best['current']:.2f} ms | "
            f"{best['current'] / best['before']:.2f} |"
        )


if __name__ == "__main__":
    main()
