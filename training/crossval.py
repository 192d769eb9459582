"""Grouped cross-validation of a ``TopicModel`` on a ``LabelSet``.

Folds are cut by article key (``GroupKFold``), so no article has paragraphs on both
sides.  Each held-out article is scored as the tagger scores it (its paragraphs,
and the paragraphs summed into one document), which gives out-of-fold scores at
paragraph level and, for every ``combine`` method, at article level.  An article's
true labels in cross-validation are the union of its paragraphs' labels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GroupKFold

from newstag.model.classifier import COMBINE_METHODS, TopicModel, combine_scores
from newstag.model.normalize import normalize


@dataclass
class CVResult:
    """Out-of-fold scores: ``paragraph_scores`` (n_paragraphs, n_topics) against
    ``paragraph_truth``; ``article_scores[method]`` (n_articles, n_topics) against
    ``article_truth``."""

    paragraph_scores: np.ndarray
    paragraph_truth: np.ndarray
    article_scores: dict
    article_truth: np.ndarray
    article_keys: list


def cross_validate(labelset, params: dict, n_splits: int = 5) -> CVResult:
    """Return the out-of-fold scores of a ``TopicModel(**params)`` on ``labelset``."""
    texts, Y, groups = labelset.texts, labelset.Y, np.asarray(labelset.groups)
    keys = list(dict.fromkeys(labelset.groups))
    key_index = {k: i for i, k in enumerate(keys)}
    k = len(labelset.topics)
    para = np.zeros((len(texts), k))
    art = {m: np.zeros((len(keys), k)) for m in COMBINE_METHODS}
    art_truth = np.zeros((len(keys), k), dtype=int)
    for i, g in enumerate(labelset.groups):
        art_truth[key_index[g]] |= Y[i]
    normalised = [normalize(t) for t in texts]
    for train_idx, test_idx in GroupKFold(n_splits=n_splits).split(texts, Y, groups):
        model = TopicModel(labelset.topic_names, **params).fit([texts[i] for i in train_idx], Y[train_idx])
        held_keys = list(dict.fromkeys(groups[test_idx]))
        members = {g: [i for i in test_idx if groups[i] == g] for g in held_keys}
        per_article, whole, _ = model.score_groups([[normalised[i] for i in members[g]] for g in held_keys])
        for g, probs, w in zip(held_keys, per_article, whole):
            para[members[g]] = probs
            for m in COMBINE_METHODS:
                art[m][key_index[g]] = combine_scores(probs, w, m)
    return CVResult(para, Y.copy(), art, art_truth, keys)
