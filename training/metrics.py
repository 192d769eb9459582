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


#: How far below the best cross-validated F1 a threshold may score and still count as
#: near-optimal (see ``best_thresholds``).
PLATEAU_TOLERANCE = 0.01


def best_thresholds(scores, Y_true, topics, tolerance=PLATEAU_TOLERANCE) -> dict:
    """Return ``{topic: threshold}``: for each topic the centre of the near-optimal
    stretch of the grid, i.e. of the thresholds whose F1 of ``scores >= threshold``
    against ``Y_true`` is within ``tolerance`` of the best (rounded to the grid).

    The F1 curve of out-of-fold scores is noisy and often flat over a wide range; its
    single highest point tends to sit at one edge of that range (on labels.csv, at the
    low edge: short labelled pseudo-articles favour recall), while whole articles full
    of passing mentions need the margin the centre leaves.  ``tolerance=0`` gives the
    centre of the exact maxima."""
    scores, Y_true = np.asarray(scores), np.asarray(Y_true)
    step = float(THRESHOLD_GRID[1] - THRESHOLD_GRID[0])
    out = {}
    for j, topic in enumerate(topics):
        f1 = np.array([_f1(scores[:, j] >= thr, Y_true[:, j]) for thr in THRESHOLD_GRID])
        near = THRESHOLD_GRID[f1 >= f1.max() - tolerance - 1e-12]
        centre = (near.min() + near.max()) / 2
        out[topic] = float(np.round(np.round(centre / step) * step, 3))
    return out


def _f1(pred, truth) -> float:
    """Return the F1 of boolean predictions ``pred`` against 0/1 ``truth``."""
    tp = np.sum(pred & (truth == 1))
    denom = pred.sum() + truth.sum()
    return float(2 * tp / denom) if denom else 0.0


def format_table(metrics: dict, title: str) -> str:
    """Return a plain-text table of ``per_topic`` output."""
    lines = [title, f"{'topic':<18}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}"]
    for topic, m in metrics.items():
        lines.append(
            f"{topic:<18}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}{m['support']:>9d}"
        )
    return "\n".join(lines)
