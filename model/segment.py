"""Word segmentation: jieba with the domain dictionary shipped beside this file.

``tokenize`` is a module-level function so that a fitted scikit-learn pipeline that
uses it pickles by reference.  The jieba tokenizer is built on first use, loads
``userdict.txt`` and keeps its prefix-dictionary cache in ``cache_dir()`` (ours, not a
shared /tmp).  Training and tagging go through the same function, so the tokens are
identical on both sides.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

import jieba

USER_DICT = Path(__file__).with_name("userdict.txt")

_tokenizer: jieba.Tokenizer | None = None
_lock = threading.Lock()
_SKIP = re.compile(r"^[\s\W_]+$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")

jieba.setLogLevel(logging.WARNING)


def cache_dir() -> Path:
    """Return the folder for jieba's dictionary cache: ``$NEWSTAG_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/newstag``, else ``~/.cache/newstag``; created if missing."""
    base = os.environ.get("NEWSTAG_CACHE_DIR")
    if base:
        path = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(xdg) / "newstag"
    path.mkdir(parents=True, exist_ok=True)
    return path


def get_tokenizer() -> jieba.Tokenizer:
    """Return this process's jieba tokenizer, with the domain dictionary loaded."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                tok = jieba.Tokenizer()
                tok.tmp_dir = str(cache_dir())
                tok.initialize()
                tok.load_userdict(str(USER_DICT))
                _tokenizer = tok
    return _tokenizer


def tokenize(text: str) -> list[str]:
    """Return the word tokens of ``text`` (already normalised).

    Punctuation and whitespace tokens are dropped; numbers become ``"0"`` so that
    figures do not become features; single-character words are kept.
    """
    text = _NUMBER.sub("0", text)
    return [tok for tok in get_tokenizer().lcut(text, HMM=False) if not _SKIP.match(tok)]
