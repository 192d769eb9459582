"""How the shipped model's parameters were chosen: grouped 5-fold cross-validation on
labels.csv for a grid of settings, every combine method measured in the same folds.
The choice is made on the cross-validated article macro-F1 only; the evaluation set's
macro-F1 is printed beside it for information, not used to choose.

Usage:  python benchmarks/choose_params.py [--labels labels.csv] [--jobs 2] [--out results.json]
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from joblib import Parallel, delayed

ROOT = Path(__file__).resolve().parent.parent

GRID = {
    "word_ngram_range": [(1, 1), (1, 2)],
    "char_ngram_range": [None, (1, 2), (2, 3)],
    "C": [1.0, 3.0, 10.0, 30.0],
    "class_weight": ["balanced", None],
}


def run(labels_path, params):
    from newstag.model.classifier import TopicModel
    from newstag.training.evaluate import evaluate_model, read_eval_set
    from newstag.training.labels import read_labels
    from newstag.training.train import evaluate_cv

    labelset = read_labels(labels_path)
    articles = read_eval_set(topics=labelset.topic_names)
    p = dict(params, min_df=1, random_state=0)
    cv = evaluate_cv(labelset, dict(p, combine="whole"))
    model = TopicModel(labelset.topic_names, **p).fit(labelset.texts, labelset.Y)
    out = []
    for combine, figures in cv["by_combine"].items():
        model.combine, model.thresholds = combine, figures["thresholds"]
        eval_m, _ = evaluate_model(model, articles)
        out.append({"params": dict(p, combine=combine), "cv_paragraph_f1": cv["paragraph_metrics"]["macro"]["f1"],
                    "cv_article_f1": figures["metrics"]["macro"]["f1"], "eval_f1": eval_m["macro"]["f1"]})
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default=str(ROOT / "labels.csv"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    combos = [dict(zip(GRID, values)) for values in itertools.product(*GRID.values())]
    results = [r for rs in Parallel(n_jobs=args.jobs)(delayed(run)(args.labels, c) for c in combos) for r in rs]
    results.sort(key=lambda r: -r["cv_article_f1"])
    print(f"{'cv article F1':>14}{'cv para F1':>11}{'eval F1':>9}  params")
    for r in results:
        p = r["params"]
        print(f"{r['cv_article_f1']:>14.3f}{r['cv_paragraph_f1']:>11.3f}{r['eval_f1']:>9.3f}  "
              f"words={p['word_ngram_range']} chars={p['char_ngram_range']} C={p['C']} "
              f"cw={p['class_weight']} combine={p['combine']}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
