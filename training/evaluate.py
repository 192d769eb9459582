"""The article-level evaluation set: whole articles written for evaluation only (none
of their paragraphs are in labels.csv), each with its true topics and a ``kind``
(plain, rare-words, passing, multi, none).

File format: JSON lines ``{"id", "title", "paragraphs": [...], "labels": [...],
"kind", "note"}``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .metrics import per_topic

#: What an editor searches for without a model: a topic's obvious words.
KEYWORDS = {
    "heating": ["供热", "暖气"],
    "people_congress": ["人大"],
    "culture_tourism": ["旅游", "文旅"],
    "inspection": ["巡察", "巡视"],
}

#: Where the evaluation set lives in a source checkout.
EVAL_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "eval_articles.jsonl"


@dataclass
class EvalArticle:
    id: str
    title: str
    paragraphs: list
    labels: list
    kind: str

    @property
    def text(self) -> str:
        """Return the article as ``newstag classify`` reads it: headline line, then paragraphs."""
        return "\n".join([self.title] + self.paragraphs)


def read_eval_set(path=EVAL_SET, topics=None) -> list:
    """Return the ``EvalArticle`` list of the evaluation set at ``path``; raises
    ``ValueError`` naming the line of a malformed record or an undeclared topic."""
    articles = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                art = EvalArticle(obj["id"], obj["title"], list(obj["paragraphs"]), list(obj["labels"]), obj.get("kind", ""))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}: line {lineno}: malformed evaluation record ({exc})") from None
            bad = [t for t in art.labels if topics is not None and t not in topics]
            if bad:
                raise ValueError(f"{path}: line {lineno}: undeclared topic(s) {bad}")
            articles.append(art)
    return articles


def truth_matrix(articles, topics) -> np.ndarray:
    """Return the 0/1 ``(n_articles, n_topics)`` matrix of the articles' true topics."""
    return np.array([[int(t in a.labels) for t in topics] for a in articles], dtype=int)


def evaluate_predictions(articles, predicted_labels, topics) -> dict:
    """Return ``per_topic`` metrics of ``predicted_labels`` (one list of topics per
    article) against the articles' true topics, plus per-kind exact-match accuracy
    under ``"by_kind"``."""
    Y = truth_matrix(articles, topics)
    P = np.array([[int(t in labels) for t in topics] for labels in predicted_labels], dtype=int)
    metrics = per_topic(Y, P, topics)
    kinds = {}
    for a, y, p in zip(articles, Y, P):
        k = kinds.setdefault(a.kind, [0, 0])
        k[0] += int((y == p).all())
        k[1] += 1
    metrics["by_kind"] = {k: {"exact": v[0], "articles": v[1]} for k, v in sorted(kinds.items())}
    return metrics


def evaluate_model(model, articles) -> tuple[dict, list]:
    """Tag the evaluation ``articles`` with ``model``; return ``(metrics, results)``."""
    results = model.tag_articles([a.text for a in articles], evidence=False)
    return evaluate_predictions(articles, [r["labels"] for r in results], model.topics), results


def keyword_labels(articles, topics) -> list:
    """Return, per article, the topics whose obvious words (``KEYWORDS``; a topic not
    listed there searches for its own name) occur in it: the keyword-search baseline."""
    return [[t for t in topics if any(k in a.text for k in KEYWORDS.get(t, [t]))] for a in articles]
