"""Features of normalised text: counts of word n-grams over jieba tokens and, optionally,
of character n-grams, turned into TF-IDF.

Counting and weighting are kept apart (``make_counter`` and ``make_weighting``) so an
article's features can be built from the sum of its paragraphs' counts: each paragraph
is segmented once, whether it is scored alone or as part of its article.  Feature
names carry a prefix, ``w:`` for words and ``c:`` for characters.
"""
from __future__ import annotations

import re
import weakref

import numpy as np
import scipy.sparse as sp
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


def count(counter, texts):
    """Return ``counter.transform(texts)`` as CSR: the same matrix, got faster.

    The union's parts are called directly (its dispatch and validation cost more than
    counting a page), and a character (1, 2)-gram part is counted by ``count_chars``
    instead of scikit-learn's loop over every n-gram.  Anything else -- weights, other
    analyzers or options -- goes through ``counter.transform``."""
    if not isinstance(counter, FeatureUnion) or counter.transformer_weights is not None:
        return counter.transform(texts)
    blocks = []
    for _, part in counter.transformer_list:
        if not isinstance(part, CountVectorizer):
            return counter.transform(texts)
        blocks.append(count_chars(part, texts) if _chars_countable(part) else part.transform(texts))
    return blocks[0].tocsr() if len(blocks) == 1 else sp.hstack(blocks, format="csr")


_WHITE_SPACES = re.compile(r"\s\s+")  # what CountVectorizer's char analyzer folds to one space
_BIGRAM = np.uint64(1 << 42)  # marks bigram keys: (first code point << 21) | second | _BIGRAM
_char_tables: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _chars_countable(vectorizer) -> bool:
    """Whether ``count_chars`` reproduces this fitted vectorizer's ``transform``."""
    return (
        vectorizer.analyzer == "char"
        and tuple(vectorizer.ngram_range) == (1, 2)
        and vectorizer.input == "content"
        and not vectorizer.lowercase
        and vectorizer.preprocessor is None
        and vectorizer.strip_accents is None
        and not vectorizer.binary
        and hasattr(vectorizer, "vocabulary_")
        and _tables(vectorizer) is not None
    )


def _tables(vectorizer):
    """Return the sorted keys of a char vocabulary and their columns (cached per
    vectorizer); None when an n-gram holds NUL, the separator of ``count_chars``."""
    if vectorizer in _char_tables:
        return _char_tables[vectorizer]
    if any("\x00" in gram for gram in vectorizer.vocabulary_):
        tables = _char_tables[vectorizer] = None
    else:
        keys, cols = [], []
        for gram, col in vectorizer.vocabulary_.items():
            if len(gram) == 1:
                keys.append(ord(gram))
            else:
                keys.append((ord(gram[0]) << 21) | ord(gram[1]) | (1 << 42))
            cols.append(col)
        keys = np.asarray(keys, dtype=np.uint64)
        order = np.argsort(keys)
        tables = _char_tables[vectorizer] = (keys[order], np.asarray(cols, dtype=np.int64)[order])
    return tables


def count_chars(vectorizer, texts):
    """Return the character 1- and 2-gram counts of ``texts`` for a fitted
    ``CountVectorizer(analyzer="char", ngram_range=(1, 2))``: the matrix its
    ``transform`` returns, counted with numpy over all texts at once."""
    keys, cols = _tables(vectorizer)
    docs = [_WHITE_SPACES.sub(" ", t) for t in texts]
    # one array of code points, the texts joined by NUL (no n-gram of the vocabulary holds it)
    joined = "\x00".join(docs).encode("utf-32-le", "surrogatepass")  # 4 bytes a character
    cp = np.frombuffer(joined, dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(d) + 1 for d in docs), dtype=np.int64, count=len(docs))
    row = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)[: len(cp)]
    text = cp != 0
    pair = text[:-1] & text[1:]
    grams = np.concatenate([cp[text], ((cp[:-1] << np.uint64(21)) | cp[1:] | _BIGRAM)[pair]])
    rows = np.concatenate([row[text], row[:-1][pair]])
    at = np.searchsorted(keys, grams)
    at[at == len(keys)] = 0
    known = keys[at] == grams
    X = sp.csr_matrix(
        (np.ones(int(known.sum()), dtype=vectorizer.dtype), (rows[known], cols[at[known]])),
        shape=(len(texts), len(vectorizer.vocabulary_)),
    )
    X.sum_duplicates()
    return X
