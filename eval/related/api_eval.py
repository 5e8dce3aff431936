"""Evaluate suggested related articles through the public API, as an outside check would.

For one labelled set (``wire.json``, ``wire2.json`` or ``corpus.json``) and one backend, the
script

1. creates a fresh SQLite database with the app's migrations, an editor login and the
   taxonomy the set names (sections, tags, sources, authors; the wire set names none);
2. publishes every article through the editor API (``POST /api/v1/editor/articles``, then
   ``POST .../publish``), in publication order, with the app's clock set to the article's
   ``published_at`` when the set has one (so recency is as in the set); after each publish the
   derived jobs the worker would run are drained (``derived run-pending``), so the article is
   offered to the lists of earlier articles as in a deployment with a worker;
3. reads ``GET /api/v1/articles/<slug>/related?limit=5`` for every article and scores the
   suggested items against the grades: nDCG@5 (gain ``2^grade - 1``) and P@5 (grade >= 1) over
   the articles that have at least one relevant other article, with 95% bootstrap intervals over
   those queries; coverage is the share of articles with 5 suggestions. A set whose articles
   carry a ``split`` (``wire2.json``: whole topics in ``dev`` or ``heldout``) is also reported
   per split (all articles are still published together and are all candidates).

A plain TF-IDF cosine over all articles (``run.py``'s baseline, no API) is reported beside it.

    python eval/related/api_eval.py --set wire --backend lexical
    python eval/related/api_eval.py --set wire --backend semantic
    python eval/related/api_eval.py --set wire2 --backend lexical
    python eval/related/api_eval.py --set corpus --backend lexical
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from run import K, ndcg_at_k, precision_at_k, tfidf_ranker  # noqa: E402

from eval.harness import add_taxonomy, article_body, bootstrap_ci, fresh_app, publish  # noqa: E402


def load(name: str):
    data = json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))
    arts = data["articles"]
    for a in arts:
        a.setdefault("subtitle", "")
    by_id = {a["id"]: a for a in arts}
    overrides = {frozenset((o["a"], o["b"])): int(o["grade"]) for o in data.get("overrides", [])}

    def grade(q: int, d: int) -> int:
        key = frozenset((q, d))
        if key in overrides:
            return overrides[key]
        if by_id[q]["story"] == by_id[d]["story"]:
            return 2
        if by_id[q]["topic"] == by_id[d]["topic"] and by_id[q]["topic"] != "misc":
            return 1
        return 0

    return arts, grade


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def publish_all(arts, backend: str):
    """Publish the set through a fresh app; returns the test client and ``{id: slug}``."""
    os.environ["CMS_RELATED_BACKEND"] = backend
    from cms.clock import set_clock
    from cms.services.derived import jobs as derived_jobs

    _app, client, auth = fresh_app("cms-related-eval-")
    add_taxonomy(arts)
    slugs = {}
    order = sorted(arts, key=lambda a: (a.get("published_at") or "", a["id"]))
    started = time.perf_counter()
    for a in order:
        when = _when(a.get("published_at"))
        set_clock((lambda t=when: t) if when else None)
        blocks = [
            {"type": "paragraph", "text": p, "attribution": None}
            for p in a["text"].split("\n\n")
            if p.strip()
        ]
        body = article_body(a, blocks)
        created = publish(client, auth, body)
        slugs[a["id"]] = created["slug"]
        derived_jobs.run_pending()  # the worker, within seconds of the publish
    elapsed = time.perf_counter() - started
    set_clock(None)
    return client, slugs, elapsed


def evaluate(arts, grade, ranked_of, queries=None) -> dict:
    ids = [a["id"] for a in arts]
    ndcgs, precisions, per_query = [], [], {}
    for q in ids if queries is None else queries:
        grades = {d: grade(q, d) for d in ids if d != q}
        if not any(grades.values()):
            continue
        ranked = ranked_of(q)
        ndcgs.append(ndcg_at_k(ranked, grades))
        precisions.append(precision_at_k(ranked, grades))
        per_query[q] = ndcgs[-1]
    return {
        "per_query": per_query,
        "queries": len(ndcgs),
        "ndcg": sum(ndcgs) / len(ndcgs),
        "ndcg_ci": bootstrap_ci(ndcgs),
        "p": sum(precisions) / len(precisions),
        "p_ci": bootstrap_ci(precisions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=["wire", "wire2", "corpus"], default="wire")
    parser.add_argument("--backend", choices=["lexical", "semantic"], default="lexical")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--save", help="write the per-query nDCG@5 to this JSON file")
    parser.add_argument(
        "--against", help="a --save file of another run: paired nDCG@5 difference with a 95%% CI"
    )
    args = parser.parse_args()
    arts, grade = load(args.set)
    client, slugs, elapsed = publish_all(arts, args.backend)
    id_of = {slug: aid for aid, slug in slugs.items()}
    suggested: dict[int, list[int]] = {}
    for aid, slug in slugs.items():
        response = client.get(f"/api/v1/articles/{slug}/related?limit={K}")
        assert response.status_code == 200, response.get_json()
        items = response.get_json()["related"]
        suggested[aid] = [id_of[r["article"]["slug"]] for r in items if r["kind"] == "suggested"]
    tfidf = tfidf_ranker(arts)
    splits = sorted({a["split"] for a in arts if a.get("split") not in (None, "none")})
    rows = []
    for split in [None, *splits]:
        queries = None if split is None else [a["id"] for a in arts if a.get("split") == split]
        label = "" if split is None else f", {split}"
        rows.append((f"/related, {args.backend}{label}", queries))
        rows.append((f"TF-IDF cosine (offline){label}", queries))
    results = {}
    for name, queries in rows:
        if name.startswith("/related"):
            results[name] = evaluate(arts, grade, lambda q: suggested[q], queries)
        else:
            results[name] = evaluate(arts, grade, lambda q: [d for d, _, _ in tfidf(q)], queries)
    ours = results[rows[0][0]]
    full = sum(1 for ranked in suggested.values() if len(ranked) >= K)
    print(
        f"set={args.set} articles={len(arts)} queries={ours['queries']} backend={args.backend} "
        f"publish={elapsed / len(arts) * 1000:.0f} ms/article"
    )
    print("| method | nDCG@5 [95% CI] | P@5 [95% CI] |")
    print("|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} ({r['queries']} queries) "
            f"| {r['ndcg']:.3f} [{r['ndcg_ci'][0]:.3f}, {r['ndcg_ci'][1]:.3f}] "
            f"| {r['p']:.3f} [{r['p_ci'][0]:.3f}, {r['p_ci'][1]:.3f}] |"
        )
    print(f"coverage: {full}/{len(arts)} articles have {K} suggestions")
    if args.save:
        Path(args.save).write_text(json.dumps(ours["per_query"]))
    if args.against:
        other = {int(k): v for k, v in json.loads(Path(args.against).read_text()).items()}
        split_of = {a["id"]: a.get("split") for a in arts}
        for split in [None, *splits]:
            qs = [q for q in ours["per_query"] if split is None or split_of[q] == split]
            diffs = [ours["per_query"][q] - other[q] for q in qs]
            wins = sum(d > 1e-9 for d in diffs)
            losses = sum(d < -1e-9 for d in diffs)
            low, high = bootstrap_ci(diffs)
            print(
                f"vs {args.against}{'' if split is None else ', ' + split}: "
                f"W/T/L {wins}/{len(diffs) - wins - losses}/{losses}, "
                f"nDCG@5 {sum(diffs) / len(diffs):+.3f} [{low:+.3f}, {high:+.3f}]"
            )
    if args.verbose:
        titles = {a["id"]: a["title"] for a in arts}
        for q, ranked in sorted(suggested.items()):
            marks = " ".join(f"{d}:{grade(q, d)}" for d in ranked)
            print(f"{q:3d} {titles[q][:50]:50s} -> {marks}")
    print(f"(run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
