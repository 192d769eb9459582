"""The topic model: trained on paragraphs, tags whole articles.

Data flows one way: article text -> paragraphs (normalised) -> n-gram counts ->
TF-IDF -> one logistic regression per topic -> paragraph probabilities -> the
article's scores (``combine``) -> tags (per-topic ``thresholds``) with their evidence.

How paragraph scores become an article's score is the ``combine`` parameter:

``"max"``     the highest paragraph probability;
``"whole"``   the probability of the article taken as one document (the sum of its
              paragraphs' counts, TF-IDF weighted);
``"mean"``    the mean paragraph probability;
``"blend"``   the mean of ``"max"`` and ``"whole"``.

``training.crossval`` measures all four and the README reports them.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import normalize as normalize_rows
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from .features import count, feature_names, make_counter, make_weighting
from .normalize import normalize

COMBINE_METHODS = ("max", "whole", "mean", "blend")


def split_paragraphs(text: str, title_first: bool = False) -> tuple[str, list[str]]:
    """Return ``(title, paragraphs)`` of an article's text after normalisation.

    Paragraphs are the non-blank lines.  With ``title_first`` the first line is the
    headline and is returned apart (empty string otherwise)."""
    lines = [line for line in normalize(text).split("\n") if line]
    if title_first and len(lines) > 1:
        return lines[0], lines[1:]
    return "", lines


def combine_scores(paragraph_probs: np.ndarray, whole_probs: np.ndarray, method: str) -> np.ndarray:
    """Return one article's per-topic scores from its paragraphs' probabilities
    (shape ``(n_paragraphs, n_topics)``) and its whole-document probabilities."""
    if method == "whole" or paragraph_probs.shape[0] == 0:
        return whole_probs
    if method == "max":
        return paragraph_probs.max(axis=0)
    if method == "mean":
        return paragraph_probs.mean(axis=0)
    if method == "blend":
        return (paragraph_probs.max(axis=0) + whole_probs) / 2
    raise ValueError(f"combine={method!r} is not one of {COMBINE_METHODS}")


class TopicModel:
    """Multi-label topic classifier over Chinese news.

    Parameters are only stored here; ``fit`` learns.  ``thresholds`` and
    ``paragraph_thresholds`` (dicts topic -> probability) are chosen by
    cross-validation in ``newstag.training`` and passed in; a topic missing from them
    uses 0.5.
    """

    def __init__(
        self,
        topics,
        display_names=None,
        word_ngram_range=(1, 2),
        char_ngram_range=None,
        min_df=1,
        C=10.0,
        class_weight="balanced",
        combine="blend",
        thresholds=None,
        paragraph_thresholds=None,
        random_state=0,
    ):
        self.topics = topics
        self.display_names = display_names
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.C = C
        self.class_weight = class_weight
        self.combine = combine
        self.thresholds = thresholds
        self.paragraph_thresholds = paragraph_thresholds
        self.random_state = random_state

    # -- learning -----------------------------------------------------------
    def _check_params(self):
        if not self.topics or len(set(self.topics)) != len(self.topics):
            raise ValueError(f"topics={self.topics!r} must be a non-empty list of distinct names")
        if self.combine not in COMBINE_METHODS:
            raise ValueError(f"combine={self.combine!r} is not one of {COMBINE_METHODS}")
        if not (isinstance(self.C, (int, float)) and self.C > 0):
            raise ValueError(f"C={self.C!r} must be a positive number")
        for name in ("thresholds", "paragraph_thresholds"):
            values = getattr(self, name) or {}
            for topic, value in values.items():
                if topic not in self.topics:
                    raise ValueError(f"{name} names topic {topic!r}, which is not in topics")
                if not 0.0 < value < 1.0:
                    raise ValueError(f"{name}[{topic!r}]={value!r} must lie strictly between 0 and 1")

    def fit(self, paragraphs, Y):
        """Learn from ``paragraphs`` (raw texts) and ``Y`` (0/1 array, one column per
        topic, in ``topics`` order).  Returns ``self``."""
        self._check_params()
        Y = np.asarray(Y, dtype=int)
        if Y.ndim != 2 or Y.shape != (len(paragraphs), len(self.topics)):
            raise ValueError(
                f"Y has shape {Y.shape}; expected ({len(paragraphs)}, {len(self.topics)}) "
                "= (paragraphs, topics)"
            )
        empty = [t for t, col in zip(self.topics, Y.T) if col.sum() == 0]
        if empty:
            raise ValueError(f"no training paragraph carries topic(s) {empty}")
        texts = [normalize(p) for p in paragraphs]
        self.counter_ = make_counter(self.word_ngram_range, self.char_ngram_range, self.min_df)
        counts = self.counter_.fit_transform(texts)
        self.weighting_ = make_weighting().fit(counts)
        X = self.weighting_.transform(counts)
        base = LogisticRegression(
            C=self.C,
            class_weight=self.class_weight,
            solver="liblinear",
            random_state=self.random_state,
            max_iter=1000,
        )
        self.classifier_ = OneVsRestClassifier(base).fit(X, Y)
        self.feature_names_ = np.asarray(feature_names(self.counter_), dtype=object)
        self.coef_ = np.vstack([est.coef_.ravel() for est in self.classifier_.estimators_])
        return self

    # -- scoring ------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "classifier_"):
            raise RuntimeError("this TopicModel is not fitted yet: call fit() first")

    def _threshold_vector(self, which="article") -> np.ndarray:
        values = (self.thresholds if which == "article" else self.paragraph_thresholds) or {}
        return np.array([values.get(t, 0.5) for t in self.topics])

    def _proba(self, X) -> np.ndarray:
        """Return the topic probabilities of TF-IDF rows ``X``: each topic's logistic
        regression, ``expit(X @ coef + intercept)``.  These are the numbers
        ``classifier_.predict_proba`` returns (multilabel: not renormalised), bit for
        bit, without its per-estimator input validation, which costs more than the
        arithmetic on a page's few dozen rows."""
        estimators = self.classifier_.estimators_
        if len(estimators) < 2 or not all(hasattr(e, "coef_") for e in estimators):
            return self.classifier_.predict_proba(X)
        coef = np.vstack([e.coef_.ravel() for e in estimators]).T
        intercept = np.array([e.intercept_[0] for e in estimators])
        return expit(safe_sparse_dot(X, coef) + intercept)

    def _weight(self, counts):
        """Return the TF-IDF rows of a count matrix: what ``weighting_.transform`` returns
        (sublinear tf, idf, row norm), bit for bit, without its per-call validation."""
        w = self.weighting_
        if type(w) is not TfidfTransformer or not hasattr(w, "idf_"):
            return w.transform(counts)
        X = sp.csr_matrix(counts, dtype=np.float64, copy=True)
        if w.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1.0
        X.data *= w.idf_[X.indices]
        if w.norm == "l2":
            inplace_csr_row_normalize_l2(X)  # what normalize_rows does, without its checks
            return X
        return normalize_rows(X, norm=w.norm, copy=False) if w.norm is not None else X

    def score_groups(self, groups):
        """Score articles given as lists of normalised paragraphs.

        Returns ``(paragraph_probs, whole_probs, X)``: a list with one
        ``(n_paragraphs, n_topics)`` array per article, an ``(n_articles, n_topics)``
        array of whole-document probabilities, and the TF-IDF rows of all paragraphs
        (article after article).  Each paragraph is segmented once."""
        self._check_fitted()
        flat = [p for g in groups for p in g]
        counts = count(self.counter_, flat) if flat else sp.csr_matrix((0, len(self.feature_names_)))
        sizes = [len(g) for g in groups]
        # sum the counts of each article's paragraphs: an indicator matrix times counts
        rows = np.repeat(np.arange(len(groups)), sizes)
        agg = sp.csr_matrix((np.ones(len(flat)), (rows, np.arange(len(flat)))), shape=(len(groups), len(flat)))
        whole_counts = agg @ counts
        X_para = self._weight(counts)
        X_whole = self._weight(whole_counts)
        proba = self._proba(X_para) if flat else np.zeros((0, len(self.topics)))
        whole = self._proba(X_whole)
        bounds = np.cumsum([0] + sizes)
        per_article = [proba[bounds[i]:bounds[i + 1]] for i in range(len(groups))]
        return per_article, whole, X_para

    def predict_paragraphs(self, paragraphs) -> np.ndarray:
        """Return the ``(n, n_topics)`` topic probabilities of raw paragraphs."""
        self._check_fitted()
        texts = [normalize(p) for p in paragraphs]
        return self._proba(self.weighting_.transform(self.counter_.transform(texts)))

    def tag_articles(self, texts, title_first=True, evidence=True, n_terms=6):
        """Tag raw article texts (headline line first when ``title_first``).

        Returns one dict per text: ``labels`` (topics over their threshold, best
        first), ``scores`` (topic -> probability) and, with ``evidence``, ``evidence``
        (topic -> the paragraphs that carried it and the terms that weighed most)."""
        return self.tag_split([split_paragraphs(t, title_first) for t in texts], evidence, n_terms)

    def tag_split(self, split, evidence=True, n_terms=6):
        """Tag articles already split as ``(title, paragraphs)`` pairs of normalised
        text (``title`` may be empty).  Returns the dicts described in ``tag_articles``."""
        self._check_fitted()
        groups = [[title] + list(paras) if title else list(paras) for title, paras in split]
        per_article, whole, X_para = self.score_groups(groups)
        thr = self._threshold_vector("article")
        pthr = self._threshold_vector("paragraph")
        results = []
        offset = 0
        for i, group in enumerate(groups):
            has_title = bool(split[i][0])
            body_probs = per_article[i][1:] if has_title else per_article[i]
            scores = combine_scores(body_probs, whole[i], self.combine)
            order = np.argsort(-scores, kind="stable")
            labels = [self.topics[j] for j in order if scores[j] >= thr[j]]
            result = {
                "labels": labels,
                "scores": {t: round(float(s), 4) for t, s in zip(self.topics, scores)},
            }
            if evidence:
                start = offset + (1 if has_title else 0)
                result["evidence"] = {
                    t: self._evidence(self.topics.index(t), body_probs, X_para[start:offset + len(group)],
                                      split[i][1], pthr, n_terms)
                    for t in labels
                }
            offset += len(group)
            results.append(result)
        return results

    def tag_article(self, text, title_first=True, evidence=True):
        """Tag one raw article text; returns the dict described in ``tag_articles``."""
        return self.tag_articles([text], title_first=title_first, evidence=evidence)[0]

    def _evidence(self, j, probs, X, paragraphs, pthr, n_terms):
        """Return the paragraphs carrying topic ``j`` and the terms that weighed most."""
        if len(paragraphs) == 0:
            return {"paragraphs": [], "terms": []}
        col = probs[:, j]
        carrying = [int(i) for i in np.argsort(-col, kind="stable") if col[i] >= pthr[j]]
        if not carrying:
            carrying = [int(np.argmax(col))]
        contrib = np.asarray(X[carrying].multiply(self.coef_[j]).sum(axis=0)).ravel()
        k_top = min(n_terms * 3, contrib.size)
        cand = np.argpartition(-contrib, k_top - 1)[:k_top]  # top k without sorting the vocabulary
        top = [k for k in cand[np.argsort(-contrib[cand], kind="stable")] if contrib[k] > 0]
        terms, seen = [], set()
        for k in top:
            term = self.feature_names_[k].split(":", 1)[1]
            if term in seen:
                continue
            seen.add(term)
            terms.append({"term": term, "weight": round(float(contrib[k]), 4)})
            if len(terms) == n_terms:
                break
        return {
            "paragraphs": [
                {"index": i, "score": round(float(col[i]), 4), "text": paragraphs[i]} for i in carrying
            ],
            "terms": terms,
        }
