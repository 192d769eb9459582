"""Label quality of labels.csv: agreement of a blind second pass, and text variety.

1. Agreement: docs/label-check/second_pass.csv holds a second labeller's labels for
   random rows (chosen with a fixed seed, labelled from the guide alone without seeing
   the first labels).  Prints per topic the raw agreement and Cohen's kappa, and lists
   every disagreement with both labels.
2. Variety: per topic, how many of its paragraphs share a run of 15 identical characters
   with another paragraph of labels.csv (templated text teaches a template).

Usage:  python benchmarks/label_quality.py [--labels labels.csv] [--second docs/label-check/second_pass.csv]
"""
from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

ROOT = Path(__file__).resolve().parent.parent
RUN = 15


def shared_runs(texts, n=RUN):
    """Return the set of indices of texts that share an ``n``-character run with another text."""
    owners = defaultdict(set)
    for i, t in enumerate(texts):
        for k in range(len(t) - n + 1):
            owners[t[k:k + n]].add(i)
    hit = set()
    for ids in owners.values():
        if len(ids) > 1:
            hit |= ids
    return hit


def main(argv=None):
    from newstag.model.normalize import normalize
    from newstag.training.labels import parse_label_field, read_labels

    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default=str(ROOT / "labels.csv"))
    ap.add_argument("--second", default=str(ROOT / "docs" / "label-check" / "second_pass.csv"))
    args = ap.parse_args(argv)
    ls = read_labels(args.labels)
    topics = ls.topic_names
    rows = list(csv.DictReader(open(args.labels, encoding="utf-8")))

    if Path(args.second).is_file():
        second = list(csv.DictReader(open(args.second, encoding="utf-8")))
        first_sets, second_sets = [], []
        for r in second:
            i = int(r["row"]) - 1
            assert rows[i]["text"] == r["text"], f"row {r['row']} text differs from labels.csv"
            first_sets.append(set(parse_label_field(rows[i]["labels"], topics)[0]))
            second_sets.append(set(parse_label_field(r["labels"], topics)[0]))
        print(f"Second pass: {len(second)} random rows")
        print(f"{'topic':<18}{'agree':>8}{'kappa':>8}{'first+':>8}{'second+':>9}")
        for t in topics:
            a = [int(t in s) for s in first_sets]
            b = [int(t in s) for s in second_sets]
            agree = sum(x == y for x, y in zip(a, b)) / len(a)
            print(f"{t:<18}{agree:>8.3f}{cohen_kappa_score(a, b):>8.3f}{sum(a):>8d}{sum(b):>9d}")
        exact = sum(x == y for x, y in zip(first_sets, second_sets))
        print(f"rows with identical label sets: {exact}/{len(second)}")
        for r, x, y in zip(second, first_sets, second_sets):
            if x != y:
                print(f"  row {r['row']}: first {sorted(x)} second {sorted(y)}  {r['text'][:40]}")

    texts = [normalize(t) for t in ls.texts]
    hit = shared_runs(texts)
    print(f"\nVariety: paragraphs sharing a {RUN}-character run with another paragraph")
    authored = [s == "authored" for s in ls.sources]
    for j, t in enumerate(topics + ["none"]):
        idx = [i for i in range(len(texts)) if (ls.Y[i].sum() == 0 if t == "none" else ls.Y[i, j])]
        n_hit = sum(i in hit for i in idx)
        n_auth = sum(i in hit and authored[i] for i in idx)
        print(f"  {t:<18}{n_hit:>5} of {len(idx):>4} ({n_auth} of them authored)")


if __name__ == "__main__":
    main()
