"""``newstag train``: validate labels.csv, cross-validate, choose thresholds, fit on all
rows, write the model atomically with its metadata."""
from __future__ import annotations

import datetime as _dt
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from newstag.model.classifier import COMBINE_METHODS, TopicModel
from newstag.model.store import ModelFileError, ModelVersionWarning, read_payload, save_model

from .crossval import cross_validate
from .evaluate import EVAL_SET, evaluate_predictions, read_eval_set
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
    """The new model is worse than the existing one by more than the tolerance;
    ``comparison`` (a ``Comparison``, or None) shows where, and is part of the message."""

    def __init__(self, message, comparison=None):
        self.comparison = comparison
        if comparison is not None:
            message = f"{message}\n\n{comparison.text()}"
        super().__init__(message)


@dataclass
class TrainReport:
    meta: dict
    paragraph_metrics: dict
    article_metrics: dict
    combine_metrics: dict
    seconds: float
    written: Path | None
    warnings: list
    comparison: "Comparison | None" = None

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
        if self.comparison is not None:
            parts += ["", self.comparison.text()]
        return "\n".join(parts)


# ---------------------------------------------------------------------------
# What the new rows did: the model at --out (before) against the new one (after)


def cv_metrics(meta: dict) -> dict:
    """Return the cross-validated metrics stored in a model's ``meta`` as a dict
    (``{"folds", "paragraph", "article", ...}``); older files may hold them as a JSON
    string, and a file without them gives ``{}``."""
    cv = meta.get("cv") or {}
    if isinstance(cv, str):
        try:
            cv = json.loads(cv)
        except ValueError:
            return {}
    return cv if isinstance(cv, dict) else {}


@dataclass
class ModelFigures:
    """What the comparison shows of one model: labelled rows per topic (and in all,
    and with no topic), cross-validated article F1 per topic (``"macro"`` included),
    and F1 on the evaluation set per topic it covers (``"macro"``: their mean), None
    where unknown."""

    topics: list
    rows: dict
    n_rows: int | None
    untagged_rows: int | None
    cv_f1: dict
    eval_f1: dict | None = None
    version: str | None = None


def figures_from_meta(meta: dict, topics=None) -> ModelFigures:
    """Return the ``ModelFigures`` stored in a model's metadata (no eval F1)."""
    topics = list(topics or meta.get("topics") or [])
    article = cv_metrics(meta).get("article") or {}
    cv_f1 = {t: m["f1"] for t, m in article.items() if isinstance(m, dict) and "f1" in m}
    return ModelFigures(
        topics,
        dict(meta.get("paragraphs_per_topic") or {}),
        meta.get("n_paragraphs"),
        meta.get("paragraphs_untagged"),
        cv_f1,
        version=meta.get("version"),
    )


def eval_f1(model, articles) -> dict:
    """Return ``{topic: F1}`` of ``model`` on the evaluation ``articles`` for each of
    its topics that some article carries (a topic the set has no article for cannot
    be measured and is left out)."""
    covered = {t for a in articles for t in a.labels}
    topics = [t for t in model.topics if t in covered]
    if not topics:
        return {}
    results = model.tag_articles([a.text for a in articles], evidence=False)
    metrics = evaluate_predictions(articles, [r["labels"] for r in results], topics)
    return {t: metrics[t]["f1"] for t in topics}


@dataclass
class Comparison:
    """The model at the output path (``before``, None when there is none) against the
    new one (``after``), with ``notes`` on what could not be compared."""

    before: ModelFigures | None
    after: ModelFigures
    before_name: str = ""
    eval_name: str = ""
    notes: list = field(default_factory=list)

    def eval_macro_topics(self) -> list:
        """Return the topics the eval macro-F1 is averaged over: measured for both
        models (for the new one alone when there is no old model)."""
        if self.after.eval_f1 is None:
            return []
        topics = [t for t in self.after.topics if t in self.after.eval_f1]
        if self.before is not None and self.before.eval_f1 is not None:
            topics = [t for t in topics if t in self.before.eval_f1]
        return topics

    def topics(self) -> list:
        """Return the topics of both models: the new model's, then any only the old one has."""
        before = self.before.topics if self.before else []
        return list(self.after.topics) + [t for t in before if t not in self.after.topics]

    def text(self) -> str:
        """Return the comparison table printed by ``newstag train``."""
        from .diff import table

        b, a = self.before, self.after
        title = "What the new rows did: " + (
            f"before = {self.before_name}" + (f" (version {b.version})" if b.version else "")
            if b is not None else "no model before"
        ) + ", after = the new model"
        rows = [["topic", "rows before → after", "CV F1 (article) before → after",
                 "eval F1 before → after"]]
        for t in self.topics():
            rows.append([
                t,
                _pair(_get(b, "rows", t), _get(a, "rows", t), "{}"),
                _pair(_get(b, "cv_f1", t), _get(a, "cv_f1", t)),
                _pair(_get(b, "eval_f1", t), _get(a, "eval_f1", t)),
            ])
        untagged_b = b.untagged_rows if b is not None else None
        if untagged_b is not None or a.untagged_rows is not None:
            rows.append(["(no topic)", _pair(untagged_b, a.untagged_rows, "{}", unknown="?" if b else "-"), "", ""])
        macro_topics = self.eval_macro_topics()
        rows.append([
            "macro / all rows",
            _pair(b.n_rows if b else None, a.n_rows, "{}"),
            _pair(b.cv_f1.get("macro") if b else None, a.cv_f1.get("macro")),
            _pair(_mean([(b.eval_f1 or {}).get(t) for t in macro_topics]) if b and b.eval_f1 is not None else None,
                  _mean([(a.eval_f1 or {}).get(t) for t in macro_topics]) if a.eval_f1 is not None else None),
        ])
        lines = [title] + table(rows)
        notes = list(self.notes)
        if b is not None and untagged_b is None and a.untagged_rows is not None:
            notes.append("rows with no topic \"?\": not recorded in the old model's metadata")
        if b is not None and set(b.topics) != set(a.topics):
            notes.append("the models' topics differ: CV macro-F1 is over each model's own topics")
        if a.eval_f1 is not None:
            uncovered = [t for t in self.topics() if t not in (a.eval_f1 or {}) and t not in ((b.eval_f1 or {}) if b else {})]
            if uncovered:
                notes.append(f"eval F1 \"-\": the evaluation set has no article of {', '.join(uncovered)}")
            if macro_topics:
                notes.append(f"eval macro-F1 over {', '.join(macro_topics)} ({self.eval_name})")
        lines += [f"note: {n}" for n in notes]
        return "\n".join(lines)


def _get(fig, what, topic):
    if fig is None or topic not in fig.topics:
        return None
    values = getattr(fig, what)
    return None if values is None else values.get(topic)


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _pair(before, after, fmt="{:.3f}", unknown="-") -> str:
    def show(v):
        return unknown if v is None else fmt.format(v)

    text = f"{show(before)} → {show(after)}"
    if fmt != "{}" and before is not None and after is not None:
        text += f" ({round(after, 3) - round(before, 3):+.3f})"
    elif fmt == "{}" and before is not None and after is not None and after != before:
        text += f" ({after - before:+d})"
    return text


def compare_models(old_path, new_model, new_meta, eval_path=EVAL_SET) -> Comparison:
    """Return the ``Comparison`` of the model at ``old_path`` (if any) with the newly
    trained ``new_model``: rows per topic and CV F1 from both metadata, F1 on the
    evaluation set at ``eval_path`` measured now for both (skipped, with a note, when
    the set is absent or unreadable)."""
    old_path = Path(old_path)
    after = figures_from_meta(new_meta, new_model.topics)
    before, old_model, notes = None, None, []
    if old_path.exists():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ModelVersionWarning)
                payload = read_payload(old_path)
            old_model = payload["model"]
            before = figures_from_meta(payload["meta"], getattr(old_model, "topics", None))
        except (ModelFileError, KeyError, TypeError) as exc:
            notes.append(f"{old_path} is not a readable model ({exc}): nothing to compare with")
    eval_name = ""
    if eval_path is None:
        notes.append("no evaluation set given: eval F1 not measured")
    elif not Path(eval_path).is_file():
        notes.append(f"no evaluation set at {eval_path} (it lives in tests/data of a checkout): eval F1 not measured")
    else:
        try:
            articles = read_eval_set(eval_path)
            eval_name = f"{Path(eval_path).name}, {len(articles)} articles"
            after.eval_f1 = eval_f1(new_model, articles)
        except (ValueError, OSError) as exc:
            notes.append(f"evaluation set not usable ({exc}): eval F1 not measured")
            after.eval_f1 = None
        else:
            if old_model is not None:
                try:
                    before.eval_f1 = eval_f1(old_model, articles)
                except Exception as exc:  # noqa: BLE001 - an old model that cannot tag must not stop training
                    notes.append(f"{old_path} could not tag the evaluation set ({type(exc).__name__}: {exc})")
    return Comparison(before, after, str(old_path), eval_name, notes)


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


def train(labels_path, out_path, force=False, params=None, now=None, eval_path=EVAL_SET) -> TrainReport:
    """Validate ``labels_path``, cross-validate, fit and write the model to ``out_path``.

    Raises ``LabelsError`` (nothing written) on invalid labels, and ``RefusedError``
    (nothing written) when a model already at ``out_path`` has a cross-validated
    article macro-F1 more than 0.02 higher over the topics both have, unless ``force``.  Returns a
    ``TrainReport`` whose ``comparison`` sets the model that was at ``out_path``
    against the new one (rows per topic, CV F1, F1 on the evaluation set at
    ``eval_path``; None skips it); a refusal carries the same comparison."""
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
        "paragraphs_untagged": int((labelset.Y.sum(axis=1) == 0).sum()),
        "cv": {"folds": CV_FOLDS, "paragraph": para_m, "article": art_m, "combine_macro_f1": combine_m},
    }
    out_path = Path(out_path)
    new_f1 = art_m["macro"]["f1"]
    comparison = compare_models(out_path, model, meta, eval_path)
    # the rule compares like with like: the topics both models have (a new topic has no
    # old figure to fall below, and its own F1 is in the comparison table)
    old_f1 = new_f1_common = None
    if comparison.before is not None:
        common = [t for t in topics if t in comparison.before.cv_f1 and t in art_m]
        if set(common) == set(topics) == set(comparison.before.topics) and "macro" in comparison.before.cv_f1:
            old_f1, new_f1_common = comparison.before.cv_f1["macro"], new_f1
        elif common:
            old_f1 = float(np.mean([comparison.before.cv_f1[t] for t in common]))
            new_f1_common = float(np.mean([art_m[t]["f1"] for t in common]))
    if not force and old_f1 is not None and old_f1 - new_f1_common > REGRESSION_TOLERANCE:
        over = "" if len(common) == len(topics) else f" over the topics both models have ({', '.join(common)})"
        message = (
            f"{out_path} has cross-validated article macro-F1 {old_f1:.3f}{over}; the new model has "
            f"{new_f1_common:.3f} (more than {REGRESSION_TOLERANCE} lower). Nothing written; use --force to replace it."
        )
        raise RefusedError(message, comparison)
    save_model(model, meta, out_path)
    return TrainReport(meta, para_m, art_m, combine_m, time.perf_counter() - started, out_path, labelset.warnings,
                       comparison)
