"""Features of normalised text: counts of word n-grams over jieba tokens and, optionally,
of character n-grams, turned into TF-IDF.

Counting and weighting are kept apart (``make_counter`` and ``make_weighting``) so an
article's features can be built from the sum of its paragraphs' counts: each paragraph
is segmented once, whether it is scored alone or as part of its article.  Feature
names carry a prefix, ``w:`` for words and ``c:`` for characters.
"""
from __future__ import annotations

from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.pipeline import FeatureUnion

from .segment import tokenize


def make_counter(word_ngram_range=(1, 2), char_ngram_range=None, min_df=1):
    """Return an unfitted transformer from normalised texts to n-gram counts.

    ``char_ngram_range=None`` leaves character n-grams out.  Words come from
    :func:`newstag.model.segment.tokenize`; ``token_pattern=None`` because the tokenizer
    already decides what a token is (single-character words included).
    """
    parts = [
        (
            "w",
            CountVectorizer(
                tokenizer=tokenize,
                token_pattern=None,
                lowercase=False,
                ngram_range=tuple(word_ngram_range),
                min_df=min_df,
            ),
        )
    ]
    if char_ngram_range:
        parts.append(
            (
                "c",
                CountVectorizer(
                    analyzer="char",
                    lowercase=False,
                    ngram_range=tuple(char_ngram_range),
                    min_df=max(2, min_df),
                ),
            )
        )
    return FeatureUnion(parts)


def make_weighting(sublinear_tf=True):
    """Return an unfitted TF-IDF weighting of count rows (l2-normalised)."""
    return TfidfTransformer(sublinear_tf=sublinear_tf)


def feature_names(counter) -> list[str]:
    """Return the names of a fitted counter's features, as ``w:term`` / ``c:chars``."""
    return [name.replace("__", ":", 1) for name in counter.get_feature_names_out()]
