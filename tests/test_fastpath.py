"""The fast paths of scoring give scikit-learn's numbers exactly: counting
(features.count), TF-IDF (TopicModel._weight) and probabilities (TopicModel._proba)."""
from pathlib import Path

import numpy as np
from sklearn.pipeline import FeatureUnion

from newstag.model.features import count, make_counter
from newstag.model.normalize import normalize
from newstag.model.pages import decode_page, split_page

PAGES = Path(__file__).resolve().parent.parent / "examples" / "archive"
ODD = ["a  b\t\tc", "制\t表", "x", "供热 季", "\u00a0\u00a0空白", "𠀀𠀁字", "ok", "单"]


def paragraphs():
    out = []
    for page in sorted(PAGES.glob("*.txt")):
        for art in split_page(decode_page(page.read_bytes())):
            out += [line for p in [art.title] + art.paragraphs for line in normalize(p).split("\n") if line]
    return out + ODD


def same_csr(a, b):
    a = a.tocsr()
    return (a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data))


def test_count_gives_the_counters_matrix(shipped_model):
    texts = paragraphs()
    assert same_csr(shipped_model.counter_.transform(texts), count(shipped_model.counter_, texts))
    small = make_counter((1, 1), (1, 2), min_df=1)
    small.fit(texts[:50])
    assert isinstance(small, FeatureUnion)
    assert same_csr(small.transform(texts), count(small, texts))


def test_weights_and_probabilities_are_scikit_learns(shipped_model):
    counts = shipped_model.counter_.transform(paragraphs())
    X = shipped_model.weighting_.transform(counts)
    assert same_csr(X, shipped_model._weight(counts))
    assert np.array_equal(shipped_model.classifier_.predict_proba(X), shipped_model._proba(X))
