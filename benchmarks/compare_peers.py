"""Compare newstag with three peers on the article-level evaluation set.

Peers, all given the same labels.csv and the same evaluation articles:
  keyword  - an editor's keyword search: a topic when any of its obvious words occurs
             (供热/暖气, 人大, 旅游/文旅, 巡察/巡视);
  recipe   - the scikit-learn tutorial recipe: TfidfVectorizer(tokenizer=jieba.lcut) +
             one-vs-rest LinearSVC, trained on the paragraphs, predicting on the article;
  fasttext - fastText supervised, loss='ova', on jieba tokens, predicting on the article
             with threshold 0.5.

Usage:  python benchmarks/compare_peers.py [--model PATH] [--labels labels.csv] [--json OUT]
Needs the peers extra for fastText:  pip install -e '.[peers]'
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def keyword_peer(labelset, articles):
    from newstag.training.evaluate import keyword_labels

    return keyword_labels(articles, labelset.topic_names)


def recipe_model(labelset):
    """Return a predict(articles) function of the tutorial recipe trained on ``labelset``."""
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    jieba.setLogLevel(60)
    pipe = make_pipeline(TfidfVectorizer(tokenizer=jieba.lcut), OneVsRestClassifier(LinearSVC()))
    pipe.fit(labelset.texts, labelset.Y)

    def predict(articles):
        pred = pipe.predict([a.text for a in articles])
        return [[t for t, v in zip(labelset.topic_names, row) if v] for row in pred]

    return predict


def fasttext_model(labelset, seed=0):
    """Return a predict(articles) function of fastText trained on ``labelset``, or None
    when fastText is not installed."""
    try:
        import fasttext
    except ImportError:
        print("fastText not installed (pip install -e '.[peers]'); skipped", file=sys.stderr)
        return None
    import jieba

    def toks(text):
        return " ".join(w for w in jieba.lcut(text.replace("\n", " ")) if w.strip())

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
        for text, y in zip(labelset.texts, labelset.Y):
            labels = [f"__label__{t}" for t, v in zip(labelset.topic_names, y) if v] or ["__label__none"]
            fh.write(" ".join(labels) + " " + toks(text) + "\n")
        name = fh.name
    try:
        model = fasttext.train_supervised(name, loss="ova", epoch=25, lr=0.5, wordNgrams=2, seed=seed, thread=1, verbose=0)
    finally:
        os.unlink(name)

    def predict(articles):
        return [one(a) for a in articles]

    def one(a):
        # model.f.predict: fastText 0.9.2's model.predict breaks on numpy 2 (np.array(copy=False))
        pairs = model.f.predict(toks(a.text) + "\n", -1, 0.5, "strict")
        got = {label.replace("__label__", "") for _, label in pairs}
        return [t for t in labelset.topic_names if t in got]

    return predict


def main(argv=None):
    from newstag.model import load_model
    import opencc

    from newstag.training.evaluate import EVAL_SET, EvalArticle, evaluate_predictions, read_eval_set
    from newstag.training.labels import read_labels

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--labels", default=str(ROOT / "labels.csv"))
    ap.add_argument("--set", default=str(EVAL_SET))
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    labelset = read_labels(args.labels)
    topics = labelset.topic_names
    model = load_model(args.model)
    simplified = read_eval_set(args.set, topics)
    s2t = opencc.OpenCC("s2t")
    reprints = [EvalArticle(a.id, s2t.convert(a.title), [s2t.convert(p) for p in a.paragraphs], a.labels, a.kind)
                for a in simplified]
    trained = {"recipe": recipe_model(labelset), "fasttext": fasttext_model(labelset)}
    all_figures = {}
    for variant, articles in (("as written (Simplified)", simplified), ("as Traditional-character reprints (OpenCC s2t)", reprints)):
        systems = {"newstag": [r["labels"] for r in model.tag_articles([a.text for a in articles], evidence=False)]}
        systems["keyword"] = keyword_peer(labelset, articles)
        for name, predict in trained.items():
            if predict is not None:
                systems[name] = predict(articles)
        figures = {name: evaluate_predictions(articles, pred, topics) for name, pred in systems.items()}
        figures_by_batch = {
            batch: {name: evaluate_predictions([articles[i] for i in idx], [pred[i] for i in idx], topics)
                    for name, pred in systems.items()}
            for batch, idx in batches(articles).items()
        }
        all_figures[variant] = {"all": figures, "by_batch": figures_by_batch}
        report(f"Evaluation set {variant}: {len(articles)} articles; F1 per topic", figures, topics)
        report_batches(figures_by_batch, {b: len(i) for b, i in batches(articles).items()})
    if args.json:
        Path(args.json).write_text(json.dumps(all_figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return all_figures


def batches(articles) -> dict:
    """Return ``{batch: [index, ...]}``: articles grouped by the batch their id names
    (``eval-d-07`` is in batch ``eval-d``), in order of first appearance."""
    out = {}
    for i, a in enumerate(articles):
        out.setdefault(a.id.rsplit("-", 1)[0], []).append(i)
    return out


def report_batches(figures_by_batch, sizes):
    """Print the macro-F1 of every system on each batch of the set."""
    names = list(next(iter(figures_by_batch.values())))
    print("Macro-F1 by batch:")
    print(f"  {'batch':<8}{'articles':>9}" + "".join(f"{n:>10}" for n in names))
    for batch, figures in figures_by_batch.items():
        print(f"  {batch:<8}{sizes[batch]:>9}" + "".join(f"{figures[n]['macro']['f1']:>10.3f}" for n in names))
    print()


def report(title, figures, topics):
    print(title)
    print(f"{'system':<10}" + "".join(f"{t:>17}" for t in topics) + f"{'macro-F1':>10}")
    for name, m in figures.items():
        print(f"{name:<10}" + "".join(f"{m[t]['f1']:>17.3f}" for t in topics) + f"{m['macro']['f1']:>10.3f}")
    ours = figures["newstag"]
    for name, m in figures.items():
        if name != "newstag":
            print(f"newstag - {name}: " + ", ".join(f"{t} {ours[t]['f1'] - m[t]['f1']:+.3f}" for t in topics)
                  + f"; macro {ours['macro']['f1'] - m['macro']['f1']:+.3f}")
    print("Exact match by kind:")
    for name, m in figures.items():
        print(f"  {name:<10}" + ", ".join(f"{k} {v['exact']}/{v['articles']}" for k, v in m["by_kind"].items()))
    print()


if __name__ == "__main__":
    main()
