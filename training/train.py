"""``newstag train``: validate labels.csv, cross-validate, choose thresholds, fit on all
rows, write the model atomically with its metadata."""
from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newstag.model.classifier import COMBINE_METHODS, TopicModel
from newstag.model.store import ModelFileError, read_payload, save_model

from .crossval import cross_validate
from .labels import LabelsError, read_labels
from .metrics import best_thresholds, format_table, per_topic

#: The parameters of the shipped model, chosen by the comparison in README ("How the model was chosen").
DEFAULT_PARAMS = {
    "word_ngram_range": (1, 1),
    "char_ngram_range": (1, 2),
    "min_df": 1,
    "C": 30.0,
    "class_weight": "balanced",
    "combine": "whole",
    "random_state": 0,
}
CV_FOLDS = 5
REGRESSION_TOLERANCE = 0.02


class RefusedError(Exception):
    """The new model is worse than the existing one by more than the tolerance."""


@dataclass
class TrainReport:
    meta: dict
    paragraph_metrics: dict
    article_metrics: dict
    combine_metrics: dict
    seconds: float
    written: Path | None
    warnings: list

    def text(self) -> str:
        """Return the report as printed by ``newstag train``."""
        parts = [
            format_table(self.paragraph_metrics, "Cross-validated, paragraph level"),
            "",
            format_table(self.article_metrics, f"Cross-validated, article level (combine={self.meta['params']['combine']})"),
            "",
            "Article-level macro-F1 by combine method: "
            + ", ".join(f"{m}={v:.3f}" for m, v in self.combine_metrics.items()),
            "Thresholds: " + ", ".join(f"{t}={v:.3f}" for t, v in self.meta["thresholds"].items()),
        ]
        return "\n".join(parts)


def check_enough(labelset, n_splits):
    """Raise ``LabelsError`` when a topic is carried by paragraphs of fewer articles
    than there are cross-validation folds (its thresholds could not be chosen)."""
    problems = []
    for j, topic in enumerate(labelset.topic_names):
        articles = {g for g, y in zip(labelset.groups, labelset.Y[:, j]) if y}
        if len(articles) < n_splits:
            problems.append(
                f"{labelset.path}: topic {topic!r} is carried by paragraphs of {len(articles)} article(s); "
                f"{n_splits}-fold cross-validation needs at least {n_splits}: label more"
            )
    if problems:
        raise LabelsError(problems)


def evaluate_cv(labelset, params, n_splits=CV_FOLDS) -> dict:
    """Return the grouped cross-validation figures of ``params`` on ``labelset``:
    ``{"paragraph_thresholds", "paragraph_metrics", "by_combine": {method:
    {"thresholds", "metrics"}}}``, every combine method measured in the same folds.

    Thresholds are chosen on the out-of-fold scores, and the metrics are measured on
    the same scores, so they lean optimistic; the evaluation set in tests/ is the
    unbiased figure."""
    topics = labelset.topic_names
    cv = cross_validate(labelset, params, n_splits)
    pthr = best_thresholds(cv.paragraph_scores, cv.paragraph_truth, topics)
    pvec = np.array([pthr[t] for t in topics])
    by_combine = {}
    for method in COMBINE_METHODS:
        thr = best_thresholds(cv.article_scores[method], cv.article_truth, topics)
        tvec = np.array([thr[t] for t in topics])
        by_combine[method] = {
            "thresholds": thr,
            "metrics": per_topic(cv.article_truth, cv.article_scores[method] >= tvec, topics),
        }
    return {
        "paragraph_thresholds": pthr,
        "paragraph_metrics": per_topic(cv.paragraph_truth, cv.paragraph_scores >= pvec, topics),
        "by_combine": by_combine,
    }


def train(labels_path, out_path, force=False, params=None, now=None) -> TrainReport:
    """Validate ``labels_path``, cross-validate, fit and write the model to ``out_path``.

    Raises ``LabelsError`` (nothing written) on invalid labels, and ``RefusedError``
    (nothing written) when a model already at ``out_path`` has a cross-validated
    article macro-F1 more than 0.02 higher, unless ``force``.  Returns a
    ``TrainReport``."""
    started = time.perf_counter()
    params = dict(DEFAULT_PARAMS, **(params or {}))
    labelset = read_labels(labels_path)
    topics = labelset.topic_names
    check_enough(labelset, CV_FOLDS)
    cv = evaluate_cv(labelset, params)
    pthr, para_m = cv["paragraph_thresholds"], cv["paragraph_metrics"]
    thresholds = cv["by_combine"][params["combine"]]["thresholds"]
    art_m = cv["by_combine"][params["combine"]]["metrics"]
    combine_m = {m: v["metrics"]["macro"]["f1"] for m, v in cv["by_combine"].items()}
    model = TopicModel(
        topics,
        display_names=labelset.display_names,
        thresholds=thresholds,
        paragraph_thresholds=pthr,
        **params,
    ).fit(labelset.texts, labelset.Y)
    meta = {
        "version": f"{(now or _dt.datetime.now(_dt.timezone.utc)).strftime('%Y%m%d%H%M%S')}-{labelset.sha256[:8]}",
        "trained_at": (now or _dt.datetime.now(_dt.timezone.utc)).isoformat(timespec="seconds"),
        "labels_sha256": labelset.sha256,
        "labels_file": labelset.path.name,
        "topics": topics,
        "display_names": labelset.display_names,
        "thresholds": thresholds,
        "paragraph_thresholds": pthr,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "n_paragraphs": len(labelset.texts),
        "n_articles": len(set(labelset.groups)),
        "paragraphs_per_topic": {t: int(labelset.Y[:, j].sum()) for j, t in enumerate(topics)},
        "cv": {"folds": CV_FOLDS, "paragraph": para_m, "article": art_m, "combine_macro_f1": combine_m},
    }
    out_path = Path(out_path)
    new_f1 = art_m["macro"]["f1"]
    if out_path.exists() and not force:
        try:
            old = read_payload(out_path)["meta"]
            old_f1 = old["cv"]["article"]["macro"]["f1"]
        except (ModelFileError, KeyError, TypeError):
            old_f1 = None
        if old_f1 is not None and old_f1 - new_f1 > REGRESSION_TOLERANCE:
            raise RefusedError(
                f"{out_path} has cross-validated article macro-F1 {old_f1:.3f}; the new model has "
                f"{new_f1:.3f} (more than {REGRESSION_TOLERANCE} lower). Nothing written; use --force to replace it."
            )
    save_model(model, meta, out_path)
    return TrainReport(meta, para_m, art_m, combine_m, time.perf_counter() - started, out_path, labelset.warnings)
