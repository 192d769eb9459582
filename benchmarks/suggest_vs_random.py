"""Are the paragraphs `newstag suggest` picks worth more than random ones?

Usage:
  final comparison (evaluation set):
    python benchmarks/suggest_vs_random.py [--seeds 20] [--steps 25,50,100,200,400]
                                           [--seed-share 0.05] [--jobs 2] [--out FILE]
  choosing the scoring (held-out labels.csv articles; the evaluation set is not read):
    python benchmarks/suggest_vs_random.py --select [--seeds 10] [--holdout 0.25] [--out FILE]

A simulation on labels.csv.  For each seed, ``--seed-share`` of labels.csv's articles
(grouped by the ``article`` column; every topic carried by at least 5 of them, the
least ``newstag train`` accepts for its 5-fold cross-validation) is the seed set; the
paragraphs of the other articles are the pool.  Two arms start from the same seed
model and, round after round, grow the labelled set to seed + N rows (N cumulative,
``--steps``):

* ``suggest``: the rows ``newstag suggest`` would pick -- the same code,
  ``training.suggest.score_articles`` over the pool's articles (each paragraph with
  its article around it) and ``training.suggest.pick`` with the labelled rows as the
  near-duplicate index -- scored by the model of the previous round; only the picked
  rows' labels are revealed, as if a person gave them;
* ``random``: as many rows drawn at random from the rest of the pool (one random
  order per seed, its first N rows).

After each round the model is retrained as ``newstag train`` trains it
(``DEFAULT_PARAMS``; paragraph and article thresholds chosen by grouped 5-fold
cross-validation on the labelled rows, ``training.train.evaluate_cv``, in both arms
alike) and measured: article macro-F1 of the tags, and macro average precision of the
article scores (threshold-free).

Final mode measures on the evaluation set (tests/data/eval_articles.jsonl, never in
labels.csv) and reports the medians over seeds, the per-seed paired differences
(suggest - random at the same seed and N), the paired "half the rows" differences
(suggest at N/2 - random at N), and the rows the suggestion arm needs to reach the
random arm's figure at N (linear between steps; the seed set alone is N = 0).  The
goal: the same F1 with at most half the rows.

``--select`` compares scoring variants (weights of the signals, spreading of the picks;
``VARIANTS``) without reading the evaluation set: ``--holdout`` of labels.csv's
articles are set aside per seed (neither seed nor pool), and every model is measured on
them as articles (truth = the union of their paragraphs' labels; scored as
cross-validation scores an article).  Seeds of this mode are 1000 + i, apart from the
final mode's.

Segmentation and normalisation are memoised (pure functions, same results) and warmed
in the parent process before the seeds are forked, so the 5 + 1 fits of a round cost
well under a second of tokenising.
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

#: Scoring variants ``--select`` compares: keyword arguments of ``score_articles``
#: (``weights``) and ``pick`` (``decay``: queue, file, article).  ``current`` is the
#: scoring as it stood before the selection (WEIGHTS 1/0.8/0.6, decay 0.8/0.9/0.5).
VARIANTS = {
    "current": {"weights": {"near": 1.0, "disagree": 0.8, "new": 0.6}, "decay": (0.8, 0.9, 0.5)},
    "near only": {"weights": {"near": 1.0, "disagree": 0.0, "new": 0.0}, "decay": (0.8, 0.9, 0.5)},
    "near+disagree": {"weights": {"near": 1.0, "disagree": 0.8, "new": 0.0}, "decay": (0.8, 0.9, 0.5)},
    "near+new": {"weights": {"near": 1.0, "disagree": 0.0, "new": 0.6}, "decay": (0.8, 0.9, 0.5)},
    "current, no spreading": {"weights": {"near": 1.0, "disagree": 0.8, "new": 0.6}, "decay": (1.0, 1.0, 1.0)},
    "current, strong article spreading": {"weights": {"near": 1.0, "disagree": 0.8, "new": 0.6},
                                          "decay": (0.8, 0.9, 0.1)},
    "near only, no spreading": {"weights": {"near": 1.0, "disagree": 0.0, "new": 0.0}, "decay": (1.0, 1.0, 1.0)},
}
SELECT_SEED_BASE = 1000


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


def _warm(full, params, eval_articles=None):
    """Fill the memo caches in this process (forked workers inherit them)."""
    from newstag.model.classifier import TopicModel
    from newstag.model import classifier

    model = TopicModel(full.topic_names, **params).fit(full.texts, full.Y)
    model.score_groups([[classifier.normalize(t)] for t in full.texts])
    if eval_articles is not None:
        model.tag_articles([a.text for a in eval_articles], evidence=False)


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


def _macro_ap(Y, S):
    from sklearn.metrics import average_precision_score

    return float(np.mean([average_precision_score(Y[:, j], S[:, j]) for j in range(Y.shape[1])]))


def eval_set_measure(articles):
    """Return ``measure(model) -> (article macro-F1, article macro AP)`` on the
    evaluation set ``articles``, tagged as ``newstag tag`` tags them."""
    from newstag.training.evaluate import evaluate_predictions, truth_matrix

    def measure(model):
        results = model.tag_articles([a.text for a in articles], evidence=False)
        f1 = evaluate_predictions(articles, [r["labels"] for r in results], model.topics)["macro"]["f1"]
        Y = truth_matrix(articles, model.topics)
        S = np.array([[r["scores"][t] for t in model.topics] for r in results])
        return f1, _macro_ap(Y, S)

    return measure


def heldout_measure(full, rows):
    """Return ``measure(model) -> (article macro-F1, article macro AP)`` on the
    labels.csv articles of ``rows`` (truth: the union of their paragraphs' labels;
    scores: their paragraphs scored together, combined as the model combines, against
    its article thresholds -- as cross-validation scores a held-out article)."""
    from newstag.model import classifier
    from newstag.training.metrics import per_topic

    by_key = defaultdict(list)
    for i in rows:
        by_key[full.groups[i]].append(i)
    keys = list(by_key)
    Y = np.array([np.bitwise_or.reduce(full.Y[by_key[k]], axis=0) for k in keys])

    def measure(model):
        norm = [[classifier.normalize(full.texts[i]) for i in by_key[k]] for k in keys]
        per_article, whole, _ = model.score_groups(norm)
        S = np.array([classifier.combine_scores(p, w, model.combine) for p, w in zip(per_article, whole)])
        f1 = per_topic(Y, S >= model._threshold_vector("article"), model.topics)["macro"]["f1"]
        return f1, _macro_ap(Y, S)

    return measure


def split(full, seed, share, holdout=0.0, min_articles=5):
    """Return ``(seed rows, pool rows, held-out rows)``: ``holdout`` of the articles
    set aside (none by default), then ``share`` of all articles from the rest as the
    seed set (every topic carried by at least ``min_articles`` of them), the rest of
    the rest as the pool."""
    rng = np.random.default_rng(seed)
    keys = sorted(set(full.groups))
    by_key = defaultdict(list)
    for i, g in enumerate(full.groups):
        by_key[g].append(i)
    held = set(rng.choice(keys, size=round(holdout * len(keys)), replace=False)) if holdout else set()
    rest = [k for k in keys if k not in held]
    for _ in range(1000):
        chosen = set(rng.choice(rest, size=round(share * len(keys)), replace=False))
        rows = [i for k in chosen for i in by_key[k]]
        carried = [len({full.groups[i] for i in rows if full.Y[i, j]}) for j in range(full.Y.shape[1])]
        if min(carried) >= min_articles:
            pool = [i for i in range(len(full.texts)) if full.groups[i] not in chosen and full.groups[i] not in held]
            held_rows = [i for i in range(len(full.texts)) if full.groups[i] in held]
            return sorted(rows), pool, held_rows
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


def suggest_arm(full, seed_rows, pool, seed_model, steps, params, measure, rng, options):
    """Return the suggestion arm of one seed: ``{"curve": [(F1, AP) per step],
    "reasons": {first reason: rows}, "short": rows filled at random, "positive": share
    of the added rows carrying a topic}``.  ``options``: keyword arguments of
    ``score_articles`` / ``pick`` (empty: the defaults of ``newstag suggest``)."""
    from newstag.model import classifier
    from newstag.training.suggest import ShingleIndex, pick, score_articles

    score_kw = {k: v for k, v in options.items() if k == "weights"}
    pick_kw = {k: v for k, v in options.items() if k == "decay"}
    contexts = pool_contexts(full, pool)
    labelled = list(seed_rows)
    model = seed_model
    out = {"curve": [], "reasons": defaultdict(int), "short": 0}
    for n in steps:
        want = n - (len(labelled) - len(seed_rows))
        index = ShingleIndex(classifier.normalize(full.texts[i]) for i in labelled)
        chosen = pick(score_articles(model, contexts, **score_kw), want, index, **pick_kw)
        rows = [int(c.source) for c in chosen]
        for c in chosen:
            first = c.reason.split(";")[0]
            out["reasons"]["new vocabulary" if first.startswith("new vocabulary") else first.split(":")[0]] += 1
        if len(rows) < want:  # pool exhausted of suggestible rows: fill up at random
            taken = set(labelled) | set(rows)
            rest = [i for i in pool if i not in taken]
            extra = list(rng.choice(rest, size=min(want - len(rows), len(rest)), replace=False))
            out["short"] += len(extra)
            rows += [int(i) for i in extra]
        labelled += rows
        model = fit(subset(full, labelled), params)
        out["curve"].append(measure(model))
    added = labelled[len(seed_rows):]
    out["positive"] = float(full.Y[added].any(axis=1).mean()) if added else 0.0
    out["reasons"] = dict(out["reasons"])
    return out


def run_seed(full, eval_articles, params, share, steps, holdout, variants, seed):
    """Return one seed's runs: ``{"seed": (F1, AP), "seed_rows", "pool_rows",
    "random": {"curve", "positive"}, "arms": {variant: suggest_arm(...)}, "seconds"}``."""
    t = time.perf_counter()
    seed_rows, pool, held = split(full, seed, share, holdout)
    measure = heldout_measure(full, held) if holdout else eval_set_measure(eval_articles)
    seed_model = fit(subset(full, seed_rows), params)
    out = {"seed": measure(seed_model), "seed_rows": len(seed_rows),
           "seed_articles": len({full.groups[i] for i in seed_rows}), "pool_rows": len(pool),
           "held_articles": len({full.groups[i] for i in held})}
    order = list(np.random.default_rng(seed + 10_000).permutation(pool))
    curve = [measure(fit(subset(full, seed_rows + order[:n]), params)) for n in steps]
    added = order[:steps[-1]]
    out["random"] = {"curve": curve, "positive": float(full.Y[added].any(axis=1).mean())}
    out["arms"] = {}
    for name, options in variants.items():
        out["arms"][name] = suggest_arm(full, seed_rows, pool, seed_model, steps, params, measure,
                                        np.random.default_rng(seed + 20_000), options)
    out["seconds"] = time.perf_counter() - t
    _log(f"seed {seed}: {len(seed_rows)} seed rows / {out['seed_articles']} articles, seed F1 {out['seed'][0]:.3f}; "
         f"random F1 " + " ".join(f"{f:.3f}" for f, _ in curve) + "; "
         + "; ".join(f"{k} " + " ".join(f"{f:.3f}" for f, _ in a["curve"]) for k, a in out["arms"].items())
         + f" ({out['seconds']:.0f} s)")
    return out


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


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


def _wilcoxon(d):
    """Two-sided Wilcoxon signed-rank p of paired differences ``d`` ("-" if all zero)."""
    from scipy.stats import wilcoxon

    d = [x for x in d if abs(x) > 1e-12]
    if not d:
        return "-"
    return f"{wilcoxon(d).pvalue:.3f}"


def _diff_row(label, d):
    wins, losses = sum(x > 1e-12 for x in d), sum(x < -1e-12 for x in d)
    return (f"{label:>10}  {statistics.mean(d):+7.3f}  {statistics.median(d):+7.3f}  {wins:>2}/{losses:<2}"
            f"  {_wilcoxon(d):>5}   " + " ".join(f"{x:+.3f}" for x in d))


def _parallel(job, seeds, jobs):
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(job, seeds))
    return [job(s) for s in seeds]


def _defaults():
    from newstag.training import suggest

    return suggest.WEIGHTS, (suggest.DECAY_QUEUE, suggest.DECAY_FILE, suggest.DECAY_ARTICLE)


def report_final(runs, steps, n_eval, n_rows, args, seconds, seeds):
    arm = "default"
    lines = [
        f"suggest vs random: evaluation-set article metrics ({n_eval} articles of tests/data/eval_articles.jsonl), "
        f"labels.csv {n_rows} rows; seed set {args.seed_share:.0%} of the articles (every topic in >= 5 of them), "
        f"pool = the rest; {len(runs)} seeds ({', '.join(map(str, seeds))}); scoring = training.suggest defaults "
        f"(the code of newstag suggest); thresholds by grouped 5-fold CV at every retrain in both arms "
        f"(as newstag train)",
        f"command: python benchmarks/suggest_vs_random.py --seeds {args.seeds} --steps {args.steps} "
        f"--seed-share {args.seed_share} --jobs {args.jobs}" + (f" --out {args.out}" if args.out else ""),
        f"scoring: training.suggest.WEIGHTS {_defaults()[0]}, pick decay (queue, file, article) {_defaults()[1]} "
        f"(chosen without the evaluation set: docs/measurements/suggest_vs_random_selection.txt)",
        f"seed sets: rows {statistics.median(r['seed_rows'] for r in runs):.0f} (median; "
        f"{min(r['seed_rows'] for r in runs)}-{max(r['seed_rows'] for r in runs)}), articles "
        f"{statistics.median(r['seed_articles'] for r in runs):.0f}; pool rows {statistics.median(r['pool_rows'] for r in runs):.0f}",
    ]
    goal = {}
    for m, name in ((0, "macro-F1 (tags)"), (1, "macro average precision (scores, threshold-free)")):
        rnd = [[r["random"]["curve"][k][m] for k in range(len(steps))] for r in runs]
        sug = [[r["arms"][arm]["curve"][k][m] for k in range(len(steps))] for r in runs]
        base = [r["seed"][m] for r in runs]
        med_r = [statistics.median(c[k] for c in rnd) for k in range(len(steps))]
        med_s = [statistics.median(c[k] for c in sug) for k in range(len(steps))]
        med_b = statistics.median(base)
        lines += [
            "",
            f"== {name}",
            "medians over seeds; 'rows to reach' = rows the median suggestion curve needs to reach the median random "
            "figure at N; 'per-seed ratio' = the same per seed (suggest's curve vs random's at that seed), median and "
            "seeds <= 0.50",
            f"{'rows added':>10}  {'random':>7}  {'suggest':>7}  {'rows to reach':>16}  {'ratio':>5}  {'per-seed ratio':>14}",
            f"{0:>10}  {med_b:7.3f}  {med_b:7.3f}",
        ]
        goal[name] = []
        for k, n in enumerate(steps):
            need = rows_to_reach(med_r[k], steps, med_s, med_b)
            ratio = None if need is None else need / n
            per = []
            for rc, sc, b in zip(rnd, sug, base):
                q = rows_to_reach(rc[k], steps, sc, b)
                per.append(float("inf") if q is None else q / n)
            shown = "never" if need is None else f"{need:.0f}"
            if med_r[k] <= med_b:
                shown += " (rnd<=seed)"
            per_med = statistics.median(per)
            lines.append(f"{n:>10}  {med_r[k]:7.3f}  {med_s[k]:7.3f}  {shown:>16}  "
                         f"{('-' if ratio is None else f'{ratio:.2f}'):>5}  "
                         f"{('never' if per_med == float('inf') else f'{per_med:.2f}'):>6}, {sum(q <= 0.5 for q in per):>2}/{len(per)} <=.5")
            goal[name].append((n, ratio, per_med))
        lines += [
            "",
            "paired differences per seed, suggest - random at the same N (mean, median, seeds suggest better/worse, "
            "Wilcoxon signed-rank two-sided p, then every seed)",
            f"{'N':>10}  {'mean':>7}  {'median':>7}  {'+/-':>5}  {'p':>5}   per seed",
        ]
        for k, n in enumerate(steps):
            lines.append(_diff_row(n, [s[k] - r[k] for s, r in zip(sug, rnd)]))
        lines.append(_diff_row("all N", [statistics.mean(s[k] - r[k] for k in range(len(steps)))
                                         for s, r in zip(sug, rnd)]) + "   (per-seed mean over N)")
        halves = [(k, steps.index(n // 2)) for k, n in enumerate(steps) if n % 2 == 0 and n // 2 in steps]
        if halves:
            lines += [
                "",
                "the goal paired directly: suggest with N/2 rows - random with N rows, per seed (>= 0: half the rows did as well)",
                f"{'N':>10}  {'mean':>7}  {'median':>7}  {'+/-':>5}  {'p':>5}   per seed",
            ]
            for k, h in halves:
                lines.append(_diff_row(f"{steps[h]} vs {steps[k]}", [s[h] - r[k] for s, r in zip(sug, rnd)]))
    reasons = defaultdict(int)
    for r in runs:
        for k, v in r["arms"][arm]["reasons"].items():
            reasons[k] += v
    lines += [
        "",
        "first reason of the suggested rows (all seeds): "
        + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])),
        f"share of added rows carrying a topic (not 'none'), median over seeds, all {steps[-1]} rows: "
        f"suggest {statistics.median(r['arms'][arm]['positive'] for r in runs):.2f}, "
        f"random {statistics.median(r['random']['positive'] for r in runs):.2f}",
        f"suggestion arm rows filled at random (pool out of suggestible rows): {sum(r['arms'][arm]['short'] for r in runs)}",
    ]
    for name, triples in goal.items():
        lines.append(f"goal, {name.split(' (')[0]}: suggest reaches random's figure at N with at most N/2 rows "
                     "(median curves / median per-seed ratio <= 0.50): "
                     + ", ".join(f"N={n} {'fails' if q is None or q > 0.5 else 'holds'}/"
                                 f"{'fails' if p > 0.5 else 'holds'}" for n, q, p in triples))
    lines.append(f"wall time {seconds:.0f} s ({args.jobs} processes; per seed "
                 f"{statistics.median(r['seconds'] for r in runs):.0f} s median)")
    return lines


def report_select(runs, steps, n_rows, args, seconds, seeds):
    names = list(VARIANTS)
    lines = [
        f"suggest scoring variants: held-out labels.csv articles ({args.holdout:.0%} of the articles per seed, "
        f"neither seed nor pool; median {statistics.median(r['held_articles'] for r in runs):.0f} articles); "
        f"tests/data/eval_articles.jsonl not read; labels.csv {n_rows} rows; seed set {args.seed_share:.0%} of the "
        f"articles; {len(runs)} seeds ({', '.join(map(str, seeds))}); steps {args.steps}; thresholds by grouped "
        f"5-fold CV at every retrain in all arms",
        f"command: python benchmarks/suggest_vs_random.py --select --seeds {args.seeds} --steps {args.steps} "
        f"--seed-share {args.seed_share} --holdout {args.holdout} --jobs {args.jobs}"
        + (f" --out {args.out}" if args.out else ""),
        "rule (fixed before the run): choose the variant with the highest mean held-out macro-F1 over all seeds and N; "
        "it replaces 'current' only if its paired advantage over 'current' (per-seed mean over N) is more than one "
        "standard error above 0; otherwise 'current' stays",
        "variants: " + "; ".join(f"{k} = weights {v['weights']}, decay (queue, file, article) {v['decay']}"
                                for k, v in VARIANTS.items()),
    ]
    choice = None
    for m, name in ((0, "held-out macro-F1"), (1, "held-out macro AP")):
        lines += ["", f"== {name}: mean over seeds at each N; 'mean' over N; paired vs random and vs current: "
                      "mean of per-seed mean-over-N differences +- standard error, seeds better/worse",
                  f"{'arm':<36}" + "".join(f"{n:>7}" for n in steps)
                  + f"{'mean':>8}  {'vs random':>18}  {'vs current':>18}  added rows with a topic"]

        def per_seed(arm, r):
            return r["random"]["curve"] if arm == "random" else r["arms"][arm]["curve"]

        means = {}
        for arm in ["random"] + names:
            at = [statistics.mean(per_seed(arm, r)[k][m] for r in runs) for k in range(len(steps))]
            means[arm] = statistics.mean(at)
            cells = []
            for ref in ("random", "current"):
                if arm == ref or (ref == "current" and arm == "random"):
                    cells.append(f"{'':>18}")
                    continue
                d = [statistics.mean(per_seed(arm, r)[k][m] - per_seed(ref, r)[k][m] for k in range(len(steps)))
                     for r in runs]
                se = statistics.stdev(d) / len(d) ** 0.5
                w, l_ = sum(x > 1e-12 for x in d), sum(x < -1e-12 for x in d)
                cells.append(f"{statistics.mean(d):+.3f}+-{se:.3f} {w:>2}/{l_:<2}")
            pos = statistics.median(r["random"]["positive"] if arm == "random" else r["arms"][arm]["positive"]
                                    for r in runs)
            lines.append(f"{arm:<36}" + "".join(f"{x:7.3f}" for x in at) + f"{means[arm]:8.3f}  "
                         + "  ".join(cells) + f"  {pos:.2f}")
        if m == 0:
            best = max(names, key=lambda a: means[a])
            d = [statistics.mean(r["arms"][best]["curve"][k][0] - r["arms"]["current"]["curve"][k][0]
                                 for k in range(len(steps))) for r in runs]
            se = statistics.stdev(d) / len(d) ** 0.5 if best != "current" else 0.0
            choice = best if best != "current" and statistics.mean(d) > se else "current"
            lines.append(f"highest mean held-out macro-F1: {best}"
                         + ("" if best == "current" else f" (vs current {statistics.mean(d):+.3f} +- {se:.3f})")
                         + f"; chosen: {choice}")
    lines.append(f"wall time {seconds:.0f} s ({args.jobs} processes)")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default=str(ROOT / "labels.csv"))
    ap.add_argument("--select", action="store_true", help="compare VARIANTS on held-out labels.csv articles")
    ap.add_argument("--seeds", type=int, default=None, help="default 20 (final), 10 (--select)")
    ap.add_argument("--steps", default="25,50,100,200,400")
    ap.add_argument("--seed-share", type=float, default=0.05)
    ap.add_argument("--holdout", type=float, default=0.25, help="--select: share of articles held out")
    ap.add_argument("--jobs", type=int, default=2, help="seeds run in parallel processes")
    ap.add_argument("--out", default=None, help="also write the report here")
    args = ap.parse_args(argv)
    steps = [int(s) for s in args.steps.split(",")]
    args.seeds = args.seeds or (10 if args.select else 20)

    from newstag.training.evaluate import read_eval_set
    from newstag.training.labels import read_labels
    from newstag.training.train import DEFAULT_PARAMS

    _memoise()
    started = time.perf_counter()
    full = read_labels(args.labels)
    params = dict(DEFAULT_PARAMS)
    if args.select:
        eval_articles, holdout, variants = None, args.holdout, VARIANTS
        seeds = [SELECT_SEED_BASE + i for i in range(args.seeds)]
    else:
        eval_articles, holdout, variants = read_eval_set(topics=full.topic_names), 0.0, {"default": {}}
        seeds = list(range(args.seeds))
    _warm(full, params, eval_articles)
    job = functools.partial(run_seed, full, eval_articles, params, args.seed_share, steps, holdout, variants)
    runs = _parallel(job, seeds, args.jobs)
    seconds = time.perf_counter() - started
    if args.select:
        lines = report_select(runs, steps, len(full.texts), args, seconds, seeds)
    else:
        lines = report_final(runs, steps, len(eval_articles), len(full.texts), args, seconds, seeds)
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
