"""Word segmentation: jieba's dictionary plus the domain dictionary shipped beside this
file, cut by jieba-rs (the ``rjieba`` package) when it is installed, else by jieba.

``tokenize`` is a module-level function so that a fitted scikit-learn pipeline that
uses it pickles by reference.  Both engines read the same words and frequencies --
jieba's own ``dict.txt`` and ``userdict.txt`` -- and cut the same way (precise mode,
no HMM), so they give the same tokens; jieba-rs is about 17 times faster, which is
what ``newstag tag`` spends most of its time on (benchmarks/bench_tag.py).  The
engine in use is ``ENGINE``.  jieba keeps its prefix-dictionary cache in
``cache_dir()`` (ours, not a shared /tmp).  Training and tagging go through the same
function, so the tokens are identical on both sides.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

import jieba

try:  # jieba-rs; optional only so that a machine without a wheel for it still works
    import rjieba
except ImportError:  # pragma: no cover - depends on the installation
    rjieba = None

USER_DICT = Path(__file__).with_name("userdict.txt")
JIEBA_DICT = Path(jieba.__file__).with_name("dict.txt")
ENGINE = "jieba-rs" if rjieba is not None and os.environ.get("NEWSTAG_SEGMENTER") != "jieba" else "jieba"

_tokenizer = None
_lock = threading.Lock()
_SKIP = re.compile(r"^[\s\W_]+$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
_USERDICT_LINE = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")  # jieba's own re_userdict
# A word that can never be cut out of text (no character of it is in a jieba text block):
# it carries the frequency total that jieba counts and jieba-rs does not (see below).
_BALANCE_WORD = "\u2042newstag-total\u2042"

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


def read_user_dict(path=USER_DICT) -> list:
    """Return ``(word, freq, tag)`` of each line of a jieba user dictionary, parsed as
    jieba parses it (``freq`` and ``tag`` may be None)."""
    entries = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip().lstrip("\ufeff")
            if not line:
                continue
            word, freq, tag = _USERDICT_LINE.match(line).groups()
            entries.append((word, int(freq) if freq else None, tag.strip() if tag else None))
    return entries


class RustTokenizer:
    """jieba-rs loaded with jieba's ``dict.txt`` and ``userdict.txt``, with jieba's
    ``lcut`` signature.

    jieba adds every dictionary line's frequency to its total, also when a word comes
    again (a user word already in dict.txt); jieba-rs replaces the old frequency.  The
    difference is given to a word that no text can contain, so the totals -- and with
    them every route score -- are the same as jieba's."""

    def __init__(self):
        rj = rjieba.Jieba.empty()
        jieba_total = 0
        freqs = {}
        with open(JIEBA_DICT, encoding="utf-8") as fh:
            for line in fh:
                parts = line.strip().split(" ")
                if len(parts) < 2:
                    continue
                word, freq = parts[0], int(parts[1])
                tag = parts[2] if len(parts) > 2 else None
                rj.add_word(word, freq, tag)
                freqs[word] = freq
                jieba_total += freq
        for word, freq, tag in read_user_dict():
            if freq is None:  # jieba would suggest one; ours all carry a frequency
                raise ValueError(f"{USER_DICT}: {word!r} needs a frequency")
            rj.add_word(word, freq, tag)
            freqs[word] = freq
            jieba_total += freq
        balance = jieba_total - sum(freqs.values())
        if balance > 0:
            rj.add_word(_BALANCE_WORD, balance, None)
        self._jieba = rj

    def lcut(self, text: str, HMM: bool = True) -> list:
        """Return the words of ``text`` (precise mode)."""
        return self._jieba.cut(text, HMM)


def _jieba_tokenizer() -> jieba.Tokenizer:
    tok = jieba.Tokenizer()
    tok.tmp_dir = str(cache_dir())
    tok.initialize()
    tok.load_userdict(str(USER_DICT))
    return tok


def get_tokenizer():
    """Return this process's tokenizer (``ENGINE``), with the domain dictionary loaded."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                _tokenizer = RustTokenizer() if ENGINE == "jieba-rs" else _jieba_tokenizer()
    return _tokenizer


def tokenize(text: str) -> list[str]:
    """Return the word tokens of ``text`` (already normalised).

    Punctuation and whitespace tokens are dropped; numbers become ``"0"`` so that
    figures do not become features; single-character words are kept.
    """
    text = _NUMBER.sub("0", text)
    return [tok for tok in get_tokenizer().lcut(text, HMM=False) if not _SKIP.match(tok)]
