"""The automatic summary: same output as another revision's summarizer, and its CPU time.

    python bench/summarizer_bench.py --before main --count 3000 --mixed 3000

Loads ``cms/services/summaries/summarizer.py`` of git revision ``--before`` beside the current
one and runs both in this process on the articles of ``bench/import_bench.py`` (``--count``,
same generator and seed), on both evaluation sets of ``eval/summaries``, and on ``--mixed``
articles recombined from the evaluation sets' paragraphs (English and German, half of the
sentences within quotation marks, with headings, lists and quote blocks). Counts the articles
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


_QUOTES = {"en": [("“", "”"), ('"', '"'), ("‘", "’")], "de": [("„", "“"), ("»", "«"), ('"', '"')]}


def _mixed(evaluation: list[tuple[str, list, str]], count: int, seed: int) -> list:
    """Articles recombined from the evaluation sets' texts, per language: paragraphs made of
    sentences of several articles, half of them quoted (with "he said" and the like after
    some), headings, lists and quote blocks."""
    rng = random.Random(seed)
    pools: dict[str, list[str]] = {}
    for _, blocks, language in evaluation:
        for block in blocks:
            for text in current._block_texts(block):
                pools.setdefault(language[:2], []).extend(current.split_sentences(text, language))
    tails = {
        "en": [" he said.", " she said.", " officials said."],
        "de": [" sagte er.", " hieß es."],
    }
    out = []
    for _ in range(count):
        language = rng.choice(sorted(pools))
        pool = pools[language]

        def sentence(language=language, pool=pool) -> str:
            text = rng.choice(pool)
            if rng.random() < 0.5:
                opening, closing = rng.choice(_QUOTES[language])
                if rng.random() < 0.5 and text[-1:] == ".":
                    text = f"{opening}{text[:-1]},{closing}{rng.choice(tails[language])}"
                else:
                    text = f"{opening}{text}{closing}"
            return text

        blocks = []
        for _ in range(rng.randint(3, 12)):
            kind = rng.choice(["paragraph"] * 6 + ["heading", "quote", "list"])
            if kind == "list":
                blocks.append({"type": "list", "items": [sentence() for _ in range(3)]})
            elif kind == "heading":
                blocks.append({"type": "heading", "text": rng.choice(pool)[:60]})
            else:
                text = " ".join(sentence() for _ in range(rng.randint(1, 5)))
                blocks.append({"type": kind, "text": text})
        out.append((rng.choice(pool)[:80], blocks, language))
    return out


def _sets(count: int, mixed: int, seed: int) -> dict[str, list[tuple[str, list, str]]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    articles = (import_bench.article(rng, i, now) for i in range(count))
    sets = {"bench": [(a["title"], a["body"], a["language"]) for a in articles]}
    for name in ("articles", "wire"):
        with open(os.path.join(ROOT, "eval", "summaries", f"{name}.json"), encoding="utf-8") as f:
            sets[name] = [(a["title"], a["blocks"], a["language"]) for a in json.load(f)]
    if mixed:
        sets["mixed"] = _mixed(sets["articles"] + sets["wire"], mixed, seed)
    return sets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="main", help="git revision to compare with")
    parser.add_argument("--count", type=int, default=3000, help="generated bench articles")
    parser.add_argument(
        "--mixed", type=int, default=0, help="articles recombined from the evaluation sets"
    )
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
    for name, items in _sets(args.count, args.mixed, args.seed).items():
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
