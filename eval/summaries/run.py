"""Evaluate the extractive summarizer against reference summaries with ROUGE.

Usage (from the repository root):

    .venv/bin/python eval/summaries/run.py [--per-article]

Compares, on eval/summaries/articles.json:

* ours, TL;DR only (1-3 sentences) and TL;DR + key points;
* lead-3 (first three body sentences) and lead-N (first N, N = our length);
* sumy LexRank and TextRank, at 3 sentences and at our length.

ROUGE-1/2/L F1 from ``rouge-score``.  English uses its default tokenizer with
the Porter stemmer; German uses a regex tokenizer that keeps umlauts and ß plus
NLTK's Snowball German stemmer (bundled code, no download).  sumy gets a
tokenizer built on our own sentence splitter, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nltk.stem.snowball import SnowballStemmer  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402
from sumy.nlp.stemmers import Stemmer  # noqa: E402
from sumy.parsers.plaintext import PlaintextParser  # noqa: E402
from sumy.summarizers.lex_rank import LexRankSummarizer  # noqa: E402
from sumy.summarizers.text_rank import TextRankSummarizer  # noqa: E402
from sumy.utils import get_stop_words  # noqa: E402

from cms.services.summaries.summarizer import _strip_html, split_sentences, summarize  # noqa: E402

ARTICLES = Path(__file__).with_name("articles.json")
METRICS = ("rouge1", "rouge2", "rougeL")
SUMY_LANG = {"en": "english", "de": "german"}
WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


class RegexTokenizer:
    """rouge-score tokenizer for German: keeps umlauts/ß, Snowball stemming."""

    def __init__(self, language: str) -> None:
        self.stemmer = SnowballStemmer(language)

    def tokenize(self, text: str) -> list[str]:
        return [self.stemmer.stem(t) for t in WORD_RE.findall(text.lower())]


class SumyTokenizer:
    """Duck-typed sumy tokenizer (to_sentences/to_words) without NLTK punkt."""

    def __init__(self, language: str) -> None:
        self.language = language

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(split_sentences(paragraph, self.language))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(WORD_RE.findall(sentence))


def body_paragraphs(article: dict) -> list[str]:
    """Plain text of the sentence-bearing blocks, one entry per block/list item."""
    out: list[str] = []
    for block in article["blocks"]:
        if block["type"] in ("paragraph", "quote"):
            out.append(_strip_html(block["text"]))
        elif block["type"] == "list":
            out.extend(_strip_html(item) for item in block["items"])
    return [p for p in out if p]


def body_sentences(article: dict) -> list[str]:
    lang = article["language"]
    return [s for p in body_paragraphs(article) for s in split_sentences(p, lang)]


def sumy_summary(article: dict, algo: str, n: int) -> str:
    lang = article["language"]
    tokenizer = SumyTokenizer(lang)
    parser = PlaintextParser.from_string("\n\n".join(body_paragraphs(article)), tokenizer)
    stemmer = Stemmer(SUMY_LANG[lang])
    summarizer = (LexRankSummarizer if algo == "lexrank" else TextRankSummarizer)(stemmer)
    summarizer.stop_words = get_stop_words(SUMY_LANG[lang])
    return " ".join(str(s) for s in summarizer(parser.document, n))


def make_scorers() -> dict[str, rouge_scorer.RougeScorer]:
    return {
        "en": rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True),
        "de": rouge_scorer.RougeScorer(list(METRICS), tokenizer=RegexTokenizer("german")),
    }


def time_ours(article: dict, repeats: int = 20) -> float:
    summarize(article["title"], article["blocks"], article["language"])  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        summarize(article["title"], article["blocks"], article["language"])
    return (time.perf_counter() - start) / repeats * 1000


def long_article(articles: list[dict], words: int = 1500) -> dict:
    """Concatenate English bodies into one ~1,500-word article for a speed check."""
    blocks: list[dict] = []
    count = 0
    for art in (a for a in articles if a["language"] == "en"):
        for block in art["blocks"]:
            if count >= words:
                break
            blocks.append(block)
            count += len(block.get("text", "").split())
            count += sum(len(i.split()) for i in block.get("items", []))
    return {"title": articles[0]["title"], "blocks": blocks, "language": "en", "words": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-article", action="store_true", help="print per-article ROUGE-1")
    args = parser.parse_args()

    articles = json.loads(ARTICLES.read_text(encoding="utf-8"))
    scorers = make_scorers()
    systems = [
        "ours: TL;DR",
        "lead-3",
        "LexRank-3 (sumy)",
        "TextRank-3 (sumy)",
        "ours: TL;DR + key points",
        "lead-N",
        "LexRank-N (sumy)",
        "TextRank-N (sumy)",
    ]
    scores: dict[str, list[tuple[str, dict[str, float]]]] = {s: [] for s in systems}
    timings: list[float] = []
    lengths: list[int] = []
    per_article_rows: list[str] = []

    for art in articles:
        lang = art["language"]
        result = summarize(art["title"], art["blocks"], lang)
        ours_tldr = result["tldr"]
        ours_full = " ".join([ours_tldr] + [p["text"] for p in result["key_points"]])
        n = len(split_sentences(ours_tldr, lang)) + len(result["key_points"])
        lengths.append(n)
        sents = body_sentences(art)
        outputs = {
            "ours: TL;DR": ours_tldr,
            "lead-3": " ".join(sents[:3]),
            "LexRank-3 (sumy)": sumy_summary(art, "lexrank", 3),
            "TextRank-3 (sumy)": sumy_summary(art, "textrank", 3),
            "ours: TL;DR + key points": ours_full,
            "lead-N": " ".join(sents[:n]),
            "LexRank-N (sumy)": sumy_summary(art, "lexrank", n),
            "TextRank-N (sumy)": sumy_summary(art, "textrank", n),
        }
        row = []
        for system, text in outputs.items():
            s = scorers[lang].score(art["reference"], text)
            scores[system].append((lang, {m: s[m].fmeasure for m in METRICS}))
            row.append(f"{s['rouge1'].fmeasure:.3f}")
        per_article_rows.append(f"| {art['id']} | {lang} | {n} | " + " | ".join(row) + " |")
        timings.append(time_ours(art))

    def table(lang: str | None) -> str:
        lines = ["| system | R-1 F1 | R-2 F1 | R-L F1 |", "|---|---:|---:|---:|"]
        for system in systems:
            vals = [v for lg, v in scores[system] if lang is None or lg == lang]
            means = [statistics.mean(v[m] for v in vals) for m in METRICS]
            lines.append(f"| {system} | " + " | ".join(f"{x:.3f}" for x in means) + " |")
        return "\n".join(lines)

    n_en = sum(1 for a in articles if a["language"] == "en")
    n_de = sum(1 for a in articles if a["language"] == "de")
    print(f"## All articles (n={len(articles)})\n\n{table(None)}\n")
    print(f"## English (n={n_en})\n\n{table('en')}\n")
    print(f"## German (n={n_de})\n\n{table('de')}\n")
    print(
        f"N (our summary length in sentences): mean {statistics.mean(lengths):.1f}, "
        f"range {min(lengths)}-{max(lengths)}"
    )
    print(
        f"Ours, mean time per article: {statistics.mean(timings):.1f} ms "
        f"(max {max(timings):.1f} ms)"
    )
    big = long_article(articles)
    print(f"Ours, {big['words']}-word article: {time_ours(big):.1f} ms")
    for ours, base in (("ours: TL;DR", "lead-3"), ("ours: TL;DR + key points", "lead-N")):
        wins = sum(
            statistics.mean(a.values()) > statistics.mean(b.values())
            for (_, a), (_, b) in zip(scores[ours], scores[base], strict=True)
        )
        print(f"{ours} beats {base} (mean of R-1/2/L F1) on {wins} of {len(articles)} articles")
    if args.per_article:
        print("\n## Per-article ROUGE-1 F1\n")
        print("| article | lang | N | " + " | ".join(systems) + " |")
        print("|---|---|---:|" + "---:|" * len(systems))
        print("\n".join(per_article_rows))


if __name__ == "__main__":
    main()
