"""Per-topic precision, recall and F1, and threshold choice."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

THRESHOLD_GRID = np.round(np.arange(0.10, 0.91, 0.025), 3)


def per_topic(Y_true, Y_pred, topics) -> dict:
    """Return ``{topic: {precision, recall, f1, support}}`` plus ``"macro"`` (unweighted
    mean of the per-topic figures)."""
    p, r, f, s = precision_recall_fscore_support(
        np.asarray(Y_true), np.asarray(Y_pred), average=None, zero_division=0, labels=range(len(topics))
    )
    out = {
        t: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, t in enumerate(topics)
    }
    out["macro"] = {
        "precision": float(np.mean(p)),
        "recall": float(np.mean(r)),
        "f1": float(np.mean(f)),
        "support": int(np.asarray(Y_true).sum()),
    }
    return out


def best_thresholds(scores, Y_true, topics) -> dict:
    """Return ``{topic: threshold}``: for each topic the grid value that gives the
    highest F1 of ``scores >= threshold`` against ``Y_true`` (ties: the value nearest
    0.5, so thresholds do not drift on flat stretches)."""
    scores, Y_true = np.asarray(scores), np.asarray(Y_true)
    out = {}
    for j, topic in enumerate(topics):
        best, best_key = 0.5, None
        for thr in THRESHOLD_GRID:
            pred = scores[:, j] >= thr
            tp = np.sum(pred & (Y_true[:, j] == 1))
            denom = pred.sum() + Y_true[:, j].sum()
            f1 = 2 * tp / denom if denom else 0.0
            key = (round(f1, 6), -abs(thr - 0.5))
            if best_key is None or key > best_key:
                best, best_key = float(thr), key
        out[topic] = best
    return out


def format_table(metrics: dict, title: str) -> str:
    """Return a plain-text table of ``per_topic`` output."""
    lines = [title, f"{'topic':<18}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}"]
    for topic, m in metrics.items():
        lines.append(
            f"{topic:<18}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}{m['support']:>9d}"
        )
    return "\n".join(lines)
