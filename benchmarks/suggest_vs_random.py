"""Are the paragraphs `newstag suggest` picks worth more than random ones?

Usage:  python benchmarks/suggest_vs_random.py [--seeds 3] [--steps 50,100,200,400,800]
                                              [--seed-share 0.25] [--out FILE]

A simulation on labels.csv.  For each seed, a quarter of labels.csv's articles
(grouped by the ``article`` column; every topic carried by at least 5 of them) is
the seed set; the paragraphs of the other articles are the pool.  Two arms start from
the same seed model and, round after round, grow the labelled set to seed + N rows
(N cumulative, ``--steps``):

* ``suggest``: the rows ``newstag suggest`` would pick -- the same code,
  ``training.suggest.score_articles`` over the pool's articles (each paragraph with
  its article around it) and ``training.suggest.pick`` with the labelled rows as the
  near-duplicate index -- scored by the model of the previous round; only the picked
  rows' labels are revealed, as if a person gave them;
* ``random``: as many rows drawn at random from the rest of the pool.

After each round the model is retrained as ``newstag train`` trains it
(``DEFAULT_PARAMS``; paragraph and article thresholds chosen by grouped 5-fold
cross-validation, ``training.train.evaluate_cv``) and measured on the evaluation set
(tests/data/eval_articles.jsonl, never in labels.csv): article macro-F1.  The report
gives the medians over seeds side by side, every seed's figure, and for each N the
rows the suggestion arm needed to reach the random arm's F1 at N (linear between
steps; the seed set alone is N = 0).  The goal: the same F1 with at most half the rows.

Segmentation and normalisation are memoised in this process (pure functions, same
results) so the 5 + 1 fits of a round cost well under a second of tokenising.
"""
from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _memoise():
    """Memoise tokenize and normalize where the model code looks them up."""
    from newstag.model import classifier, features, segment
    from newstag.model import normalize as normalize_module
    from newstag.training import crossval

    tok = functools.lru_cache(maxsize=None)(lambda text: tuple(segment.tokenize(text)))
    features.tokenize = tok
    norm = functools.lru_cache(maxsize=None)(normalize_module.normalize)
    classifier.normalize = norm
    crossval.normalize = norm
    import newstag.training.suggest as suggest_module

    suggest_module.normalize = norm


def fit(labelset, params):
    """Return a ``TopicModel`` trained as ``newstag train`` trains it (CV thresholds)."""
    from newstag.model.classifier import TopicModel
    from newstag.training.train import evaluate_cv

    cv = evaluate_cv(labelset, params)
    return TopicModel(
        labelset.topic_names,
        thresholds=cv["by_combine"][params["combine"]]["thresholds"],
        paragraph_thresholds=cv["paragraph_thresholds"],
        **params,
    ).fit(labelset.texts, labelset.Y)


def subset(full, rows):
    """Return the ``LabelSet`` of ``full`` restricted to the row indices ``rows``."""
    from newstag.training.labels import LabelSet

    rows = list(rows)
    return LabelSet(
        topics=full.topics,
        texts=[full.texts[i] for i in rows],
        Y=full.Y[rows],
        groups=[full.groups[i] for i in rows],
        sources=[full.sources[i] for i in rows],
        sha256="",
        path=full.path,
    )


def measure(model, articles):
    """Return ``(article macro-F1, article macro average precision)`` on the
    evaluation set: F1 of the tags, and the threshold-free ranking quality of the
    scores (finer-grained than F1 on 130 articles)."""
    from sklearn.metrics import average_precision_score

    from newstag.training.evaluate import evaluate_predictions, truth_matrix

    results = model.tag_articles([a.text for a in articles], evidence=False)
    f1 = evaluate_predictions(articles, [r["labels"] for r in results], model.topics)["macro"]["f1"]
    Y = truth_matrix(articles, model.topics)
    S = np.array([[r["scores"][t] for t in model.topics] for r in results])
    ap = float(np.mean([average_precision_score(Y[:, j], S[:, j]) for j in range(len(model.topics))]))
    return f1, ap


def seed_split(full, seed, share, min_articles=5):
    """Return ``(seed rows, pool rows)``: a random ``share`` of the articles (every
    topic carried by at least ``min_articles`` of them) and the rest."""
    rng = np.random.default_rng(seed)
    keys = sorted(set(full.groups))
    by_key = defaultdict(list)
    for i, g in enumerate(full.groups):
        by_key[g].append(i)
    for _ in range(100):
        chosen = set(rng.choice(keys, size=round(share * len(keys)), replace=False))
        rows = [i for k in chosen for i in by_key[k]]
        carried = [len({full.groups[i] for i in rows if full.Y[i, j]}) for j in range(full.Y.shape[1])]
        if min(carried) >= min_articles:
            pool = [i for i in range(len(full.texts)) if full.groups[i] not in chosen]
            return sorted(rows), pool
    raise RuntimeError("no seed split carries every topic")


def pool_contexts(full, pool):
    """Return the pool as ``ArticleContext``s (paragraphs in labels.csv order; each
    paragraph's ``source`` is its row index, to map picks back)."""
    from newstag.training.suggest import ArticleContext

    by_key = defaultdict(list)
    for i in pool:
        by_key[full.groups[i]].append(i)
    contexts = []
    for key, rows in by_key.items():
        src = full.sources[rows[0]]
        file = src.split(":")[0] if src and src != "authored" else key
        contexts.append(ArticleContext(key, file, "", [full.texts[i] for i in rows], [str(i) for i in rows]))
    return contexts


def run_seed(full, articles, params, seed, share, steps, log):
    """Return ``{"suggest": [(F1, AP) at each step], "random": [...], "seed": (F1, AP),
    "short": rows filled at random, "picked_reasons": {first reason: rows}}``."""
    from newstag.model.normalize import normalize
    from newstag.training.suggest import ShingleIndex, pick, score_articles

    seed_rows, pool = seed_split(full, seed, share)
    contexts = pool_contexts(full, pool)
    t = time.perf_counter()
    seed_model = fit(subset(full, seed_rows), params)
    f_seed = measure(seed_model, articles)
    log(f"seed {seed}: {len(seed_rows)} seed rows in {len(set(full.groups[i] for i in seed_rows))} articles, "
        f"pool {len(pool)} rows; seed model F1 {f_seed[0]:.3f}, AP {f_seed[1]:.3f} ({time.perf_counter() - t:.1f} s)")
    out = {"seed": f_seed, "suggest": [], "random": [], "short": 0, "picked_reasons": defaultdict(int)}

    # random arm
    order = list(np.random.default_rng(seed + 10_000).permutation(pool))
    for n in steps:
        model = fit(subset(full, seed_rows + order[:n]), params)
        out["random"].append(measure(model, articles))
    log(f"seed {seed}: random  F1 " + " ".join(f"{f:.3f}" for f, _ in out["random"]))

    # suggestion arm
    labelled = list(seed_rows)
    model = seed_model
    rng = np.random.default_rng(seed + 20_000)
    for n in steps:
        want = n - (len(labelled) - len(seed_rows))
        index = ShingleIndex(normalize(full.texts[i]) for i in labelled)
        chosen = pick(score_articles(model, contexts), want, index)
        rows = [int(c.source) for c in chosen]
        for c in chosen:
            first = c.reason.split(";")[0]
            out["picked_reasons"][first.split(":")[0] if not first.startswith("new vocabulary") else "new vocabulary"] += 1
        if len(rows) < want:  # pool exhausted of suggestible rows: fill up at random
            taken = set(labelled) | set(rows)
            rest = [i for i in pool if i not in taken]
            extra = list(rng.choice(rest, size=min(want - len(rows), len(rest)), replace=False))
            out["short"] += len(extra)
            rows += [int(i) for i in extra]
        labelled += rows
        model = fit(subset(full, labelled), params)
        out["suggest"].append(measure(model, articles))
    log(f"seed {seed}: suggest F1 " + " ".join(f"{f:.3f}" for f, _ in out["suggest"]))
    return out


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def _run(full, articles, params, share, steps, seed):
    out = run_seed(full, articles, params, seed, share, steps, _log)
    out["picked_reasons"] = dict(out["picked_reasons"])
    return out


def rows_to_reach(target, steps, curve, f_seed):
    """Return the rows (linear between steps, 0 = the seed set) at which ``curve``
    first reaches ``target``; None when it never does."""
    xs, ys = [0] + list(steps), [f_seed] + list(curve)
    if ys[0] >= target:
        return 0.0
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if y1 >= target:
            return x0 + (x1 - x0) * (target - y0) / (y1 - y0) if y1 > y0 else float(x1)
    return None


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default=str(ROOT / "labels.csv"))
    ap.add_argument("--seeds", type=int, default=3)  # the measurement file also holds a 5-seed run
    ap.add_argument("--steps", default="50,100,200,400,800")
    ap.add_argument("--seed-share", type=float, default=0.25)
    ap.add_argument("--jobs", type=int, default=2, help="seeds run in parallel processes")
    ap.add_argument("--out", default=None, help="also write the report here")
    args = ap.parse_args(argv)
    steps = [int(s) for s in args.steps.split(",")]

    from newstag.training.evaluate import read_eval_set
    from newstag.training.labels import read_labels
    from newstag.training.train import DEFAULT_PARAMS

    _memoise()
    started = time.perf_counter()
    full = read_labels(args.labels)
    articles = read_eval_set(topics=full.topic_names)
    params = dict(DEFAULT_PARAMS)

    job = functools.partial(_run, full, articles, params, args.seed_share, steps)
    if args.jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            runs = list(pool.map(job, range(args.seeds)))
    else:
        runs = [job(s) for s in range(args.seeds)]
    seconds = time.perf_counter() - started

    lines = [
        f"suggest vs random: evaluation-set article metrics ({len(articles)} articles), labels.csv "
        f"{len(full.texts)} rows; seed set {args.seed_share:.0%} of the articles, pool = the rest; "
        f"{args.seeds} seeds; thresholds by grouped 5-fold CV at every retrain (as newstag train); medians over seeds",
        f"command: python benchmarks/suggest_vs_random.py --seeds {args.seeds} --steps {args.steps} "
        f"--seed-share {args.seed_share} --jobs {args.jobs}",
    ]
    verdicts = {}
    for m, name in ((0, "macro-F1 (tags)"), (1, "macro average precision (scores, threshold-free)")):
        med = {arm: [statistics.median(r[arm][k][m] for r in runs) for k in range(len(steps))]
               for arm in ("random", "suggest")}
        base = statistics.median(r["seed"][m] for r in runs)
        lines += [
            "",
            name,
            f"{'rows added':>10}  {'random':>7}  {'suggest':>7}  {'suggest rows to reach random':>28}  {'ratio':>5}"
            "   per seed (random/suggest)",
            f"{0:>10}  {base:7.3f}  {base:7.3f}  {'':>28}  {'':>5}   " + "  ".join(f"{r['seed'][m]:.3f}" for r in runs),
        ]
        verdicts[name] = []
        for k, n in enumerate(steps):
            need = rows_to_reach(med["random"][k], steps, med["suggest"], base)
            ratio = None if need is None else need / n
            verdicts[name].append((n, ratio))
            per_seed = "  ".join(f"{r['random'][k][m]:.3f}/{r['suggest'][k][m]:.3f}" for r in runs)
            shown = "never" if need is None else f"{need:.0f}"
            if med["random"][k] <= base:
                shown = f"{shown} (random <= seed)"
            lines.append(
                f"{n:>10}  {med['random'][k]:7.3f}  {med['suggest'][k]:7.3f}  "
                f"{shown:>28}  {('-' if ratio is None else f'{ratio:.2f}'):>5}"
                f"   {per_seed}"
            )
    reasons = defaultdict(int)
    for r in runs:
        for k, v in r["picked_reasons"].items():
            reasons[k] += v
    lines += [
        "",
        "first reason of the suggested rows (all seeds): " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])),
        f"suggestion arm rows filled at random (pool out of suggestible rows): {sum(r['short'] for r in runs)}",
    ]
    for name, pairs in verdicts.items():
        lines.append(f"goal, {name.split(' (')[0]}: suggest reaches random's figure at N with at most N/2 rows (ratio <= 0.50): "
                     + ", ".join(f"N={n} {'-' if q is None else ('holds' if q <= 0.5 else 'fails')}" for n, q in pairs))
    lines += [
        f"wall time {seconds:.0f} s",
    ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
