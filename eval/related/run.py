"""Evaluate related-article ranking on the labelled set in ``corpus.json``.

Every article is used as a query against all other articles. For each method we report the
mean nDCG@5 (gain ``2**grade - 1``, log2 discount, ideal ranking from all graded pairs) and
precision@5 (relevant = grade >= 1) over the queries that have at least one relevant article.

Methods:
  tfidf      plain TF-IDF cosine over title + subtitle + body (lower-case ``\\w\\w+`` tokens,
             raw tf, smoothed idf, no stop words/stemming) -- the baseline
  ours       cms.services.related.scoring.rank (text + entities + tags, editorial context)
  ours-noed  ablation: same, with tags/section/sources/authors/published_at removed
  ours-text  ablation: only our text cosine (stemmed, title-weighted tf-idf)
  semantic   optional (--semantic): MiniLM embedding cosine blended with ``ours``

Usage:  python eval/related/run.py [--verbose] [--semantic]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cms.services.related import scoring as sim  # noqa: E402

HERE = Path(__file__).resolve().parent
K = 5

Ranker = Callable[[int], list[tuple[int, float, str]]]


def load() -> tuple[list[dict[str, Any]], Callable[[int, int], int]]:
    data = json.loads((HERE / "corpus.json").read_text(encoding="utf-8"))
    arts = data["articles"]
    by_id = {a["id"]: a for a in arts}
    overrides: dict[frozenset[int], int] = {}
    for o in data.get("overrides", []):
        overrides[frozenset((o["a"], o["b"]))] = int(o["grade"])

    def grade(q: int, d: int) -> int:
        key = frozenset((q, d))
        if key in overrides:
            return overrides[key]
        if by_id[q]["story"] == by_id[d]["story"]:
            return 2
        if by_id[q]["topic"] == by_id[d]["topic"]:
            return 1
        return 0

    return arts, grade


def ndcg_at_k(ranked: list[int], grades: dict[int, int], k: int = K) -> float:
    dcg = sum((2 ** grades[d] - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def precision_at_k(ranked: list[int], grades: dict[int, int], k: int = K) -> float:
    return sum(1 for d in ranked[:k] if grades[d] >= 1) / k


# ---------------------------------------------------------------------------------------------
# Baseline: plain TF-IDF cosine


def tfidf_ranker(arts: list[dict[str, Any]]) -> Ranker:
    token_re = re.compile(r"(?u)\b\w\w+\b")
    tfs = {
        a["id"]: Counter(token_re.findall(f"{a['title']} {a['subtitle']} {a['text']}".lower()))
        for a in arts
    }
    df: Counter[str] = Counter()
    for tf in tfs.values():
        df.update(tf.keys())
    n = len(arts)
    vecs: dict[int, dict[str, float]] = {}
    for aid, tf in tfs.items():
        v = {t: c * (math.log((1 + n) / (1 + df[t])) + 1) for t, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in v.values()))
        vecs[aid] = {t: x / norm for t, x in v.items()}

    def rank(q: int) -> list[tuple[int, float, str]]:
        qv = vecs[q]
        scored = [
            (d, sum(w * dv.get(t, 0.0) for t, w in qv.items()), "tf-idf")
            for d, dv in vecs.items()
            if d != q
        ]
        return sorted(scored, key=lambda x: (-x[1], x[0]))

    return rank


# ---------------------------------------------------------------------------------------------
# Our method


def features_for(arts: list[dict[str, Any]]) -> tuple[dict[int, sim.ArticleFeatures], float]:
    t0 = time.perf_counter()
    feats = {
        a["id"]: sim.extract_features(
            title=a["title"],
            subtitle=a["subtitle"],
            text=a["text"],
            tags=a["tags"],
            section=a["section"],
            sources=a["sources"],
            authors=a["authors"],
            published_at=datetime.fromisoformat(a["published_at"].replace("Z", "+00:00")),
            language=a["language"],
        )
        for a in arts
    }
    per_article = (time.perf_counter() - t0) / len(arts)
    return feats, per_article


def make_idf(feats: dict[int, sim.ArticleFeatures]) -> sim.Idf:
    df: Counter[str] = Counter()
    for f in feats.values():
        df.update(sim.df_keys(f))
    return sim.make_idf(df, len(feats))


def ours_ranker(feats: dict[int, sim.ArticleFeatures]) -> Ranker:
    idf = make_idf(feats)

    def rank(q: int) -> list[tuple[int, float, str]]:
        cands = [(d, f) for d, f in feats.items() if d != q]
        return sim.rank(feats[q], cands, idf, len(cands))

    return rank


def strip_editorial(f: sim.ArticleFeatures) -> sim.ArticleFeatures:
    return replace(f, tags=[], section=None, sources=[], authors=[], published_at=None)


def strip_all_but_text(f: sim.ArticleFeatures) -> sim.ArticleFeatures:
    return replace(strip_editorial(f), entities=[])


def semantic_rankers(
    arts: list[dict[str, Any]], feats: dict[int, sim.ArticleFeatures]
) -> tuple[list[tuple[str, Ranker]], float]:
    """(d) MiniLM cosine alone and (e) blended with ours, via cms.services.related.embeddings."""
    from cms.services.related import embeddings

    embeddings.embed(["warm-up"])  # load the model outside the timing
    texts = [embeddings.article_text(a["title"], a["subtitle"], a["text"]) for a in arts]
    t0 = time.perf_counter()
    vectors = embeddings.embed(texts)
    per_article = (time.perf_counter() - t0) / len(arts)
    emb = {a["id"]: v for a, v in zip(arts, vectors, strict=True)}
    idf = make_idf(feats)

    def cosine_only(q: int) -> list[tuple[int, float, str]]:
        scored = [(d, embeddings.cosine(emb[q], v), "embedding") for d, v in emb.items() if d != q]
        return sorted(scored, key=lambda x: (-x[1], x[0]))

    def blended(q: int) -> list[tuple[int, float, str]]:
        scored = []
        for d, f in feats.items():
            if d != q:
                s, reason = embeddings.score_semantic(feats[q], f, emb[q], emb[d], idf)
                scored.append((d, s, reason))
        return sorted(scored, key=lambda x: (-x[1], x[0]))

    methods: list[tuple[str, Ranker]] = [
        ("(d) MiniLM embedding cosine only", cosine_only),
        ("(e) ours + MiniLM blend (score_semantic)", blended),
    ]
    return methods, per_article


# ---------------------------------------------------------------------------------------------


def evaluate(name: str, ranker: Ranker, arts: list[dict[str, Any]], grade: Any) -> dict[str, Any]:
    ndcgs: list[float] = []
    precs: list[float] = []
    ceilings: list[float] = []
    for a in arts:
        q = a["id"]
        grades = {b["id"]: grade(q, b["id"]) for b in arts if b["id"] != q}
        n_rel = sum(1 for g in grades.values() if g >= 1)
        if n_rel == 0:
            continue
        ranked = [d for d, _, _ in ranker(q)]
        ndcgs.append(ndcg_at_k(ranked, grades))
        precs.append(precision_at_k(ranked, grades))
        ceilings.append(min(K, n_rel) / K)
    return {
        "method": name,
        "per_query_ndcg": ndcgs,
        "queries": len(ndcgs),
        "ndcg@5": sum(ndcgs) / len(ndcgs),
        "p@5": sum(precs) / len(precs),
        "p@5 ceiling": sum(ceilings) / len(ceilings),
    }


def bootstrap_ci(diffs: list[float], n: int = 2000, seed: int = 7) -> tuple[float, float]:
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(diffs, k=len(diffs))) / len(diffs) for _ in range(n))
    return means[int(0.025 * n)], means[int(0.975 * n) - 1]


def candidate_recall(feats: dict[int, sim.ArticleFeatures], arts: list[dict[str, Any]], grade: Any):
    """Share of relevant (grade>=1 / ==2) pairs that share at least one candidate key."""
    keys = {aid: set(sim.candidate_keys(f)) for aid, f in feats.items()}
    hit = {1: [0, 0], 2: [0, 0]}
    for a in arts:
        for b in arts:
            if a["id"] == b["id"]:
                continue
            g = grade(a["id"], b["id"])
            for level in (1, 2):
                if g >= level:
                    hit[level][1] += 1
                    hit[level][0] += bool(keys[a["id"]] & keys[b["id"]])
    return {level: h / t for level, (h, t) in hit.items()}


def score_timing(feats: dict[int, sim.ArticleFeatures], rounds: int = 20) -> float:
    idf = make_idf(feats)
    items = list(feats.values())
    for a in items:  # warm the per-object caches, as a long-running process would
        sim.score(a, a, idf)
    pairs = [(a, b) for a in items for b in items if a is not b]
    t0 = time.perf_counter()
    for _ in range(rounds):
        for a, b in pairs:
            sim.score(a, b, idf)
    return (time.perf_counter() - t0) / (rounds * len(pairs)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print top-5 per query")
    parser.add_argument("--semantic", action="store_true", help="add the MiniLM blend column")
    args = parser.parse_args()

    arts, grade = load()
    feats, extract_s = features_for(arts)
    methods: list[tuple[str, Ranker]] = [
        ("(a) TF-IDF cosine baseline", tfidf_ranker(arts)),
        ("(b) ours", ours_ranker(feats)),
        (
            "(c) ours without editorial signals",
            ours_ranker({k: strip_editorial(f) for k, f in feats.items()}),
        ),
        (
            "(c') ours, text cosine only",
            ours_ranker({k: strip_all_but_text(f) for k, f in feats.items()}),
        ),
    ]
    embed_s = None
    if args.semantic:
        sem_methods, embed_s = semantic_rankers(arts, feats)
        methods.extend(sem_methods)

    rows = [evaluate(name, r, arts, grade) for name, r in methods]
    print(f"{len(arts)} articles, {rows[0]['queries']} queries with >= 1 relevant article\n")
    print("| method | nDCG@5 | P@5 |")
    print("|---|---:|---:|")
    for r in rows:
        print(f"| {r['method']} | {r['ndcg@5']:.3f} | {r['p@5']:.3f} |")
    print(f"| (ceiling: perfect ranking) | 1.000 | {rows[0]['p@5 ceiling']:.3f} |")

    print("\npaired vs (a), nDCG@5 per query: wins/ties/losses, mean diff [95% bootstrap CI]")
    base = rows[0]["per_query_ndcg"]
    for r in rows[1:]:
        diffs = [x - y for x, y in zip(r["per_query_ndcg"], base, strict=True)]
        lo, hi = bootstrap_ci(diffs)
        w = sum(d > 1e-9 for d in diffs)
        losses = sum(d < -1e-9 for d in diffs)
        print(
            f"  {r['method']}: {w}/{len(diffs) - w - losses}/{losses}, "
            f"{sum(diffs) / len(diffs):+.3f} [{lo:+.3f}, {hi:+.3f}]"
        )

    rec = candidate_recall(feats, arts, grade)
    print(
        f"\ncandidate_keys recall: same-story pairs {rec[2]:.1%}, "
        f"relevant (grade>=1) pairs {rec[1]:.1%}"
    )
    print(f"extract_features: {extract_s * 1e3:.2f} ms/article (cold stemmer cache)")
    print(f"score(): {score_timing(feats):.1f} us/pair (warm per-object caches)")
    if embed_s is not None:
        print(f"embed(): {embed_s * 1e3:.1f} ms/article (CPU, batch of {len(arts)}, model loaded)")

    if args.verbose:
        by_id = {a["id"]: a for a in arts}
        ours = methods[1][1]
        for a in arts:
            print(f"\n#{a['id']} {a['title']}")
            for d, s, reason in ours(a["id"])[:K]:
                print(
                    f"   g={grade(a['id'], d)} {s:.3f} #{d} {by_id[d]['title'][:60]!r} [{reason}]"
                )


if __name__ == "__main__":
    main()
