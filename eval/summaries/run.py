"""Evaluate the extractive summarizer against reference summaries with ROUGE.

Usage (from the repository root):

    .venv/bin/python eval/summaries/run.py                      # both sets, tables + intervals
    .venv/bin/python eval/summaries/run.py --set wire --split dev --per-article
    .venv/bin/python eval/summaries/run.py --api                # also through the HTTP API
    .venv/bin/python eval/summaries/run.py --show en-live-storm # one article's outputs
    .venv/bin/python eval/summaries/run.py --before main        # paired diff vs main's code

Two sets:

* ``articles.json`` (12 long articles, 8 en / 4 de, tagged, with sub-headings);
* ``wire.json`` (66 short wire-copy articles, 36 en / 30 de, untagged, each with a ``kind``:
  hard news, dateline, feature, quote lead, byline/boilerplate, live blog, correction note,
  explainer, brief, list; and a ``split``: ``dev`` was used to decide changes, ``test`` was
  not looked at article by article).

Systems: ours (TL;DR, and TL;DR + key points), lead-3 and lead-N (first N body sentences,
N = our length), sumy LexRank / TextRank at 3 and N sentences. ROUGE-1/2/L F1 from
``rouge-score``: English with its default tokenizer and the Porter stemmer, German with a
regex tokenizer that keeps umlauts and ß plus NLTK's Snowball German stemmer (bundled code,
no download). The headline comparison is TL;DR against lead-3, as a paired difference per
article with a 95% bootstrap interval (2,000 resamples of articles, fixed seed), overall,
by language and by kind.

With ``--api`` the set is also published through the editor API of a fresh app (SQLite,
Flask test client, migrations as in production) and the TL;DR and key points are read from
the public ``GET /api/v1/articles/<slug>/summary``; that output is scored as its own row and
checked to be the same text the function gives.

Beside ROUGE, every system's output is checked for wire-copy furniture a reader should not see
in a summary (``FURNITURE_RE``: datelines, time stamps, bylines, notes, credits, contact lines).

With ``--before REF`` the summarizer module of git revision REF is loaded beside the current
one (``git show REF:cms/services/summaries/summarizer.py``, or its older path), both run on the
same articles in the same process, and the paired TL;DR difference (now − REF) and the time
ratio are reported.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
from eval.harness import add_taxonomy, article_body, bootstrap_ci, fresh_app, publish  # noqa: E402

HERE = Path(__file__).resolve().parent
SETS = {"articles": HERE / "articles.json", "wire": HERE / "wire.json"}
METRICS = ("rouge1", "rouge2", "rougeL")
SUMY_LANG = {"en": "english", "de": "german"}
WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
SYSTEMS = [
    "ours: TL;DR",
    "lead-3",
    "LexRank-3 (sumy)",
    "TextRank-3 (sumy)",
    "ours: TL;DR + key points",
    "lead-N",
    "LexRank-N (sumy)",
    "TextRank-N (sumy)",
]
API_SYSTEMS = ["API: TL;DR", "API: TL;DR + key points"]
# What a reader should not find in a summary of wire copy: datelines, live-blog time stamps,
# bylines, notes about the article, agency credits, copyright, contact and cross-link lines.
# Written for this evaluation, independently of the summarizer's own rules.
FURNITURE_RE = re.compile(
    r"\((?:AP|AFP|Reuters|dpa|dpa/\w+|epd|KNA)\)\s*[-–—]"
    r"|(?:^|\s)\d{1,2}[:.]\d{2}(?: Uhr)?(?::|\s[—–-])\s"
    r"|(?:^|\s)(?:By|Von) [A-ZÄÖÜ]\w+ [A-ZÄÖÜ]\w+(?:,| und |\s[A-ZÄÖÜ]\w+\s|$)"
    r"|Autorin?:|Our reporter|Correction:|Korrektur:|Anmerkung der Redaktion"
    r"|earlier version of this|has been corrected|früheren (?:Version|Fassung)|Richtig ist der"
    r"|Wir bitten, den Fehler|Reporting by|contributed to this report|-- AFP|©|Copyright"
    r"|All rights reserved|Alle Rechte|@|Mehr zum Thema|Lesen Sie auch|Sign up|Published \d"
    r"|Foto:|Photo:"
)
FURNITURE_SYSTEMS = [
    "lead-3",
    "before: TL;DR",
    "ours: TL;DR",
    "lead-N",
    "before: TL;DR + key points",
    "ours: TL;DR + key points",
    "API: TL;DR + key points",
]


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


def load(name: str, split: str) -> list[dict]:
    arts = json.loads(SETS[name].read_text(encoding="utf-8"))
    for a in arts:
        a.setdefault("kind", "long")
        a.setdefault("split", "all")
    if split != "all":
        arts = [a for a in arts if a["split"] == split]
    return arts


# --------------------------------------------------------------------------------------------
# Through the app: publish with the editor API, read the public summary endpoint
# --------------------------------------------------------------------------------------------


def api_summaries(arts: list[dict]) -> dict[str, dict]:
    """Publish ``arts`` through a fresh app; ``{id: public summary}`` read over HTTP."""
    _app, client, auth = fresh_app("cms-summaries-eval-")
    add_taxonomy(arts)  # the sources the blocks cite
    out: dict[str, dict] = {}
    for a in arts:
        created = publish(client, auth, article_body(a, a["blocks"]))
        summary = client.get(f"/api/v1/articles/{created['slug']}/summary")
        assert summary.status_code == 200, summary.get_json()
        out[a["id"]] = summary.get_json()
    return out


# --------------------------------------------------------------------------------------------
# Scoring and statistics
# --------------------------------------------------------------------------------------------




def load_before(ref: str):
    """The summarizer module as of git revision ``ref``, imported under another name."""
    for where in ("cms/services/summaries/summarizer.py", "cms/services/summarizer.py"):
        shown = subprocess.run(
            ["git", "show", f"{ref}:{where}"], cwd=ROOT, capture_output=True, text=True
        )
        if shown.returncode == 0:
            source = shown.stdout
            break
    else:
        sys.exit(f"no summarizer module at {ref}")
    path = Path(tempfile.mkdtemp(prefix="summarizer-before-")) / "summarizer_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("summarizer_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["summarizer_before"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def time_fn(fn, article: dict, repeats: int = 20) -> float:
    fn(article["title"], article["blocks"], article["language"])  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn(article["title"], article["blocks"], article["language"])
    return (time.perf_counter() - start) / repeats * 1000


def run_set(arts: list[dict], scorers, *, api: bool, timing: bool, before=None) -> dict:
    """Outputs and ROUGE of every system on every article of ``arts``."""
    via_api = api_summaries(arts) if api else {}
    rows = []
    mismatches = []
    for art in arts:
        lang = art["language"]
        result = summarize(art["title"], art["blocks"], lang)
        tldr = result["tldr"]
        full = " ".join([tldr] + [p["text"] for p in result["key_points"]])
        n = len(split_sentences(tldr, lang)) + len(result["key_points"])
        sents = body_sentences(art)
        outputs = {
            "ours: TL;DR": tldr,
            "lead-3": " ".join(sents[:3]),
            "LexRank-3 (sumy)": sumy_summary(art, "lexrank", 3),
            "TextRank-3 (sumy)": sumy_summary(art, "textrank", 3),
            "ours: TL;DR + key points": full,
            "lead-N": " ".join(sents[:n]),
            "LexRank-N (sumy)": sumy_summary(art, "lexrank", n),
            "TextRank-N (sumy)": sumy_summary(art, "textrank", n),
        }
        ms_before = None
        if before is not None:
            then = before.summarize(art["title"], art["blocks"], lang)
            outputs["before: TL;DR"] = then["tldr"]
            outputs["before: TL;DR + key points"] = " ".join(
                [then["tldr"]] + [p["text"] for p in then["key_points"]]
            )
            if timing:
                ms_before = time_fn(before.summarize, art)
        if api:
            public = via_api[art["id"]]
            outputs["API: TL;DR"] = public["tldr"]
            outputs["API: TL;DR + key points"] = " ".join(
                [public["tldr"]] + [p["text"] for p in public["key_points"]]
            )
            if outputs["API: TL;DR + key points"] != full:
                mismatches.append(art["id"])
        scores = {}
        for system, text in outputs.items():
            s = scorers[lang].score(art["reference"], text)
            scores[system] = {m: s[m].fmeasure for m in METRICS}
        rows.append(
            {
                "id": art["id"],
                "lang": lang,
                "kind": art["kind"],
                "split": art["split"],
                "n": n,
                "outputs": outputs,
                "scores": scores,
                "ms": time_fn(summarize, art) if timing else None,
                "ms_before": ms_before,
            }
        )
    return {"rows": rows, "api_mismatches": mismatches}


def mean_table(rows: list[dict], systems: list[str]) -> str:
    lines = ["| system | R-1 F1 | R-2 F1 | R-L F1 |", "|---|---:|---:|---:|"]
    for system in systems:
        means = [statistics.mean(r["scores"][system][m] for r in rows) for m in METRICS]
        lines.append(f"| {system} | " + " | ".join(f"{x:.3f}" for x in means) + " |")
    return "\n".join(lines)


def paired(rows: list[dict], a: str, b: str, metric: str) -> tuple[float, float, float]:
    diffs = [r["scores"][a][metric] - r["scores"][b][metric] for r in rows]
    low, high = bootstrap_ci(diffs)
    return statistics.mean(diffs), low, high


def wtl(rows: list[dict], a: str, b: str) -> str:
    """Wins/ties/losses of ``a`` over ``b`` on the mean of R-1/2/L F1 per article."""
    w = t = lo = 0
    for r in rows:
        d = statistics.mean(r["scores"][a].values()) - statistics.mean(r["scores"][b].values())
        if d > 1e-9:
            w += 1
        elif d < -1e-9:
            lo += 1
        else:
            t += 1
    return f"{w}/{t}/{lo}"


def diff_table(
    rows: list[dict], group: Callable[[dict], str], a: str = "ours: TL;DR", b: str = "lead-3"
) -> str:
    """Per group: means of ``a`` and ``b`` (R-1) and the paired R-1/2/L difference with CIs."""
    lines = [
        f"| group | n | {a} R-1 | {b} R-1 | Δ R-1 [95% CI] | Δ R-2 [95% CI] | Δ R-L [95% CI] "
        "| W/T/L |",
        "|---|---:|---:|---:|---|---|---|---|",
    ]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(group(r), []).append(r)
    for name in sorted(groups, key=lambda g: (g != "all", g)):
        sub = groups[name]
        cells = []
        for m in METRICS:
            d, low, high = paired(sub, a, b, m)
            cells.append(f"{d:+.3f} [{low:+.3f}, {high:+.3f}]")
        ra = statistics.mean(r["scores"][a]["rouge1"] for r in sub)
        rb = statistics.mean(r["scores"][b]["rouge1"] for r in sub)
        lines.append(
            f"| {name} | {len(sub)} | {ra:.3f} | {rb:.3f} | "
            + " | ".join(cells)
            + f" | {wtl(sub, a, b)} |"
        )
    return "\n".join(lines)


def report(name: str, result: dict, *, api: bool, per_article: bool, before: str | None) -> None:
    rows = result["rows"]
    systems = SYSTEMS + (API_SYSTEMS if api else [])
    n_en = sum(r["lang"] == "en" for r in rows)
    n_de = len(rows) - n_en
    print(f"## {name} (n={len(rows)}: {n_en} en, {n_de} de)\n")
    print(mean_table(rows, systems) + "\n")
    for lang in ("en", "de"):
        sub = [r for r in rows if r["lang"] == lang]
        if sub:
            print(f"### {name}, {lang} (n={len(sub)})\n\n{mean_table(sub, systems)}\n")
    print(f"### {name}: TL;DR − lead-3, paired, by language\n")
    print(diff_table(rows, lambda r: "all") + "\n")
    print(diff_table(rows, lambda r: r["lang"]).split("\n", 2)[2] + "\n")
    if len({r["kind"] for r in rows}) > 1:
        print(f"### {name}: TL;DR − lead-3, paired, by kind\n")
        print(diff_table(rows, lambda r: r["kind"]) + "\n")
    if len({r["split"] for r in rows}) > 1:
        print(f"### {name}: TL;DR − lead-3, paired, by split\n")
        print(diff_table(rows, lambda r: r["split"]) + "\n")
    print(f"### {name}: TL;DR + key points − lead-N, paired\n")
    print(diff_table(rows, lambda r: "all", "ours: TL;DR + key points", "lead-N") + "\n")
    if before:
        print(f"### {name}: TL;DR now − TL;DR at {before}, paired\n")

        def versus(group):
            return diff_table(rows, group, "ours: TL;DR", "before: TL;DR")

        print(versus(lambda r: "all"))
        print(versus(lambda r: r["lang"]).split("\n", 2)[2])
        if len({r["split"] for r in rows}) > 1:
            print(versus(lambda r: r["split"]).split("\n", 2)[2])
        changed = sum(r["outputs"]["ours: TL;DR"] != r["outputs"]["before: TL;DR"] for r in rows)
        print(f"\nTL;DR text changed on {changed} of {len(rows)} articles")
        pairs = [(r["ms"], r["ms_before"]) for r in rows if r["ms"] and r["ms_before"]]
        if pairs:
            now_ms = sum(p[0] for p in pairs)
            then_ms = sum(p[1] for p in pairs)
            print(
                f"time per article now / at {before}: {now_ms / then_ms:.2f} "
                f"({now_ms / len(pairs):.1f} ms vs {then_ms / len(pairs):.1f} ms, same run)"
            )
        print()
    present = [sys_ for sys_ in FURNITURE_SYSTEMS if sys_ in rows[0]["outputs"]]
    print(f"### {name}: summaries showing wire-copy furniture\n")
    print("| system | articles | which |")
    print("|---|---:|---|")
    for system in present:
        hit = [r["id"] for r in rows if FURNITURE_RE.search(r["outputs"][system])]
        which = ", ".join(hit)
        print(f"| {system} | {len(hit)} of {len(rows)} | {which} |")
    print()
    lengths = [r["n"] for r in rows]
    print(
        f"N (our summary length in sentences): mean {statistics.mean(lengths):.1f}, "
        f"range {min(lengths)}-{max(lengths)}"
    )
    times = [r["ms"] for r in rows if r["ms"] is not None]
    if times:
        print(
            f"Ours, time per article: mean {statistics.mean(times):.1f} ms, max {max(times):.1f} ms"
        )
    if api:
        bad = result["api_mismatches"]
        print(
            f"API output identical to summarize() on {len(rows) - len(bad)} of {len(rows)} "
            "articles" + (f" (differs: {', '.join(bad)})" if bad else "")
        )
    if per_article:
        cols = ["ours: TL;DR", "lead-3", "ours: TL;DR + key points", "lead-N"]
        print(f"\n### {name}: per-article ROUGE-1 F1\n")
        print("| article | lang | kind | split | N | " + " | ".join(cols) + " |")
        print("|---|---|---|---|---:|" + "---:|" * len(cols))
        for r in rows:
            print(
                f"| {r['id']} | {r['lang']} | {r['kind']} | {r['split']} | {r['n']} | "
                + " | ".join(f"{r['scores'][c]['rouge1']:.3f}" for c in cols)
                + " |"
            )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["articles", "wire", "both"], default="both")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--api", action="store_true", help="also score the public endpoint")
    parser.add_argument("--per-article", action="store_true", help="print per-article ROUGE-1")
    parser.add_argument("--show", metavar="ID", help="print one article's outputs and exit")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--before", metavar="REF", help="compare with the summarizer at REF")
    args = parser.parse_args()
    names = ["articles", "wire"] if args.set == "both" else [args.set]
    scorers = make_scorers()

    if args.show:
        for name in names:
            for art in load(name, "all"):
                if art["id"] != args.show:
                    continue
                res = run_set([art], scorers, api=False, timing=False)["rows"][0]
                print(f"{art['id']} ({art['language']}, {art['kind']})")
                print(f"REFERENCE: {art['reference']}")
                for system in ("ours: TL;DR", "lead-3", "ours: TL;DR + key points"):
                    sc = res["scores"][system]
                    print(f"\n{system} [R-1 {sc['rouge1']:.3f} R-2 {sc['rouge2']:.3f}]:")
                    print(res["outputs"][system])
                return
        sys.exit(f"no article {args.show!r}")

    before = load_before(args.before) if args.before else None
    for name in names:
        arts = load(name, args.split if name == "wire" else "all")
        result = run_set(arts, scorers, api=args.api, timing=not args.no_timing, before=before)
        report(name, result, api=args.api, per_article=args.per_article, before=args.before)
        if not args.no_timing and name == "articles":
            big = long_article(arts)
            print(f"Ours, {big['words']}-word article: {time_fn(summarize, big):.1f} ms\n")


if __name__ == "__main__":
    main()
