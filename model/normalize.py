"""Text normalisation applied to every text before segmentation, in training and in tagging alike.

Steps, in order: Unicode NFKC (full-width letters and digits, half-width punctuation
folded to one form), Traditional -> Simplified characters with OpenCC, removal of page
artefacts that are not content (jump markers such as (上接第1版), the reporter credit
of a 本报讯 lead, trailing credit lines such as (王英)), and whitespace collapsed.
"""
from __future__ import annotations

import functools
import re
import unicodedata

import opencc

# NFKC turns full-width brackets into ASCII ones, so the patterns only need ASCII forms.
_JUMP_MARK = re.compile(r"\((?:上|下)(?:接|转)第?[\d一二三四五六七八九十]+版\)")
_LEAD_CREDIT = re.compile(
    r"^(?:本报讯|本报[^\s(]{0,6}电|新华社[^\s(]{0,8}电)\s*\((?:[^()]{0,40})\)"
)
# a credit in brackets that closes a paragraph after its last sentence, or stands alone
_TAIL_CREDIT = re.compile(r"(?:(?<=[。!?”\"])|^)\((?:记者|通讯员|实习记者)?\s?[\u4e00-\u9fff·\s]{2,10}\)$")
_SPACE = re.compile(r"\s+")


@functools.lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Return ``text`` with Traditional Chinese characters folded to Simplified (OpenCC t2s)."""
    return _t2s().convert(text)


def normalize(text: str) -> str:
    """Return the normalised form of one paragraph or article.

    Newlines between paragraphs are kept (as single ``\\n``) so an article can still be
    cut into its paragraphs afterwards; other whitespace runs become one space, and
    the space between two Chinese characters is dropped.
    """
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text)
    lines = []
    for line in text.splitlines():
        line = _SPACE.sub(" ", line).strip()
        line = _JUMP_MARK.sub("", line)
        line = _LEAD_CREDIT.sub("", line)
        line = _TAIL_CREDIT.sub("", line).strip()
        line = re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", line)
        if line:
            lines.append(line)
    return "\n".join(lines)
