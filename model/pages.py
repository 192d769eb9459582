"""Split a newspaper page text export into its articles.

A page export is plain text, one printed paragraph fragment per line, blank lines between.
``split_page`` reads the shape of each line (its length, final punctuation, leading
markers) and what follows it, and groups the lines into ``Article`` records::

    from newstag.model.pages import decode_page, split_page
    articles = split_page(decode_page(path.read_bytes()))

What it knows about print pages:

* A headline is a short line without sentence-final punctuation.  Consecutive headline
  lines form one title (kicker + title, title + ——subtitle), joined with a space (no
  space after a kicker ending in a colon).
* A headline line starts a new article when there is no open article, when it has two or
  more lines, when a section banner (…在行动, 短评) sits above it, or when a lead follows:
  本报讯(记者 …), a ●本报记者 byline, a (上接第1版) marker, or a dated lead (a day such as
  10月18日 within the first words).  Otherwise it is a subhead of the open article.
* A line that does not end a sentence (。！？…, or those followed by a closing quote or a
  trailing credit) is continued by the next line: column breaks are joined again.  A
  single headline-like line printed between the two halves is a banner and is dropped.
* Credit lines ((王英), ■本报实习记者 …/文 …/图) close an article; ●bylines under a
  headline open one.  (下转第X版) closes an article; (上接第X版) is dropped from the text.
* Tab-separated rows form one table paragraph of the open article, with its caption above
  and a 备注/注 line below.
* A headline printed again further down continues the earlier article.  If the earlier
  article had swallowed, at its last column break, text that opens with the quoted name
  from another article's title (“呼和浩特人才强市25条”…), that text is handed back to the
  article it names.  Anything else uncertain stays where it is or becomes its own record.
* Lines after the last headline that no body follows (a slogan), and pagination and
  copyright footers, belong to no article.

Web listings (lines starting with ``•``) are split per item: the ``•`` line is the title,
a date line (2022-06-27) closes the item, short lines inside are subheads.

Decisions are taken on the NFKC form of each line (full- and half-width punctuation fold
together); the text returned is the original, stripped.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = ["Article", "PageDecodeError", "decode_page", "split_page"]


@dataclass
class Article:
    """One article of a page.

    ``index``: place on the page, from 0.  ``title``: the headline ("" for a block of
    text with no headline).  ``lines``: 1-based first and last non-blank line of the
    article, headline and credit line included.  ``paragraphs``: content paragraphs,
    column-broken parts joined with no separator (table rows with newlines), without
    headline, subheads, bylines, credit lines, banners or jump markers; a lead's
    本报讯(记者 …) and a credit inside a paragraph's last line are kept as printed.
    ``paragraph_lines``: first and last line of each paragraph.
    """

    index: int
    title: str
    lines: tuple[int, int]
    paragraphs: list[str]
    paragraph_lines: list[tuple[int, int]]


class PageDecodeError(UnicodeDecodeError):
    """The bytes of a page are neither UTF-8 (with or without BOM) nor GB18030;
    ``reason`` says why."""


def decode_page(data: bytes) -> str:
    """Return the text of a page export given as bytes.

    Tries UTF-8 (a leading BOM is dropped), then GB18030.  CRLF and CR line ends are
    returned as LF.  Raises ``PageDecodeError`` (a ``UnicodeDecodeError``) naming the
    reason when the bytes are UTF-16, contain NUL bytes, or decode as neither encoding.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PageDecodeError("utf-16", data, 0, 2, "UTF-16 byte-order mark: export the page as UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise PageDecodeError("utf-8", data, nul, nul + 1, "NUL byte: binary data, not a text page")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as gb_error:
            reason = (
                f"neither UTF-8 ({utf8_error.reason} at byte {utf8_error.start}) "
                f"nor GB18030 ({gb_error.reason} at byte {gb_error.start})"
            )
            raise PageDecodeError("gb18030", data, gb_error.start, gb_error.end, reason) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_page(text: str) -> list[Article]:
    """Return the articles of a page text export, in order of their first line.

    ``text`` is the decoded page (LF or CRLF line ends; a leading BOM is ignored).
    A web listing (items introduced by ``•`` lines) is split per item; any other page is
    split as a printed page (see the module docstring for the rules).
    """
    lines = _read_lines(text)
    if _is_listing(lines):
        drafts = _split_listing(lines)
    else:
        drafts = _split_print(lines)
    return _finish(drafts)


# ---------------------------------------------------------------------------
# Lines and their kinds

BODY, HEADING, BANNER, CREDIT, TABLE, FOOTER, DATE, BULLET, JUMP_FROM, JUMP_TO = (
    "body", "heading", "banner", "credit", "table", "footer", "date", "bullet", "jump_from", "jump_to",
)
HEADING_MAX = 42  # longest headline or subhead, in NFKC characters

_FINAL = re.compile(r"(?:[。!?]|\.\.\.)(?:[”’\"'」』)]*|\([^()]{1,30}\))$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_FOOTER = re.compile(r"上一页|下一页|尾\s*页|版权所有|版权声明|ICP备|公网安备|不良信息举报")
_DATE_LINE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_NUM = r"[\d一二三四五六七八九十]+"
_JUMP_FROM = re.compile(rf"^\(上接第?{_NUM}版\)")
_JUMP_TO = re.compile(rf"\((?:下转|转)第?{_NUM}版\)$")
_CREDIT = re.compile(
    r"^[■●◆▲].*(?:记者|通讯员|/文|/图|摄)"           # ■本报实习记者 刘艳霞/文 …, ●本报记者 …
    r"|^\([\u4e00-\u9fff]{2,4}\)$"                   # (王英)
    r"|^\((?:本报)?(?:实习|见习)?(?:记者|通讯员)[^()]{1,30}\)$"
    r"|^(?:本报)?(?:实习|见习)?记者\s*[\u4e00-\u9fff]{2,4}(?:\s+\S+){0,6}$"
    r"|^(?:文|图|摄影?)/\S+"
)
_COLUMN_LABELS = {"短评", "时评", "评论", "社论", "编者按", "图片新闻", "简讯", "快讯"}
_ENUMERATED = re.compile(rf"^(?:\({_NUM}\)|{_NUM}、|\d+\.)")
_OPENER = re.compile(r"^(?:在|今年|去年|近日|日前|近年来|目前|随着|据|为了|截至|此外|同时|\d{4}年|\d{1,2}月)")
_PREPOSITIONS = "对将把向从被给在"
_LEAD = re.compile(
    r"^(?:本报讯|本报\S{1,8}讯|\(上接|记者从.{2,20}获悉|新华社.{0,12}电|\S{2,12}\d{1,2}月\d{1,2}日电)"
)
_DAY = re.compile(r"\d{1,2}月\d{1,2}日")
_NOTE = re.compile(r"^(?:备注|注|说明|资料来源|来源)\s*:")
_QUOTED_NAME = re.compile(r"“[^”]{4,}”|《[^》]{2,}》")


@dataclass(frozen=True)
class _Line:
    no: int  # 1-based line number
    raw: str  # the line as read, line end removed
    text: str  # stripped
    norm: str  # NFKC of text, for decisions
    kind: str


def _read_lines(text: str) -> list[_Line]:
    """Non-blank lines of ``text`` with their numbers and kinds."""
    raw_lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = []
    for no, raw in enumerate(raw_lines, 1):
        stripped = raw.strip()
        if stripped:
            norm = unicodedata.normalize("NFKC", stripped)
            lines.append(_Line(no, raw, stripped, norm, _kind(raw, norm)))
    return _headlines_before_leads(lines)


def _kind(raw: str, norm: str) -> str:
    """Kind of one non-blank line, from its shape alone."""
    if len([cell for cell in raw.split("\t") if cell.strip()]) >= 2:
        return TABLE
    if _FOOTER.search(norm):
        return FOOTER
    if _DATE_LINE.fullmatch(norm):
        return DATE
    if norm.startswith("•"):
        return BULLET
    if _JUMP_FROM.fullmatch(norm):
        return JUMP_FROM
    if _JUMP_TO.fullmatch(norm):
        return JUMP_TO
    if _CREDIT.search(norm):
        return CREDIT
    if _LEAD.match(norm) or _JUMP_TO.search(norm):
        return BODY  # 本报讯 …, (上接第X版)…, …(下转第X版): never a headline
    if norm in _COLUMN_LABELS or (norm.endswith("在行动") and len(norm) <= 12):
        return BANNER
    if len(norm) <= HEADING_MAX and _CJK.search(norm) and not _finished(norm) and not _looks_cut(norm):
        return HEADING
    return BODY


def _headlines_before_leads(lines: list[_Line]) -> list[_Line]:
    """A short unfinished line taken for a cut fragment is a headline after all when a
    lead follows it (本报讯, byline, (上接…))."""
    fixed = list(lines)
    for k in range(len(lines) - 1):
        line = lines[k]
        if line.kind == BODY and len(line.norm) <= HEADING_MAX and not _finished(line.norm) and _is_lead(lines[k + 1], dated=False):
            fixed[k] = _Line(line.no, line.raw, line.text, line.norm, HEADING)
    return fixed


def _finished(norm: str) -> bool:
    """Whether a line ends a sentence: 。!?… possibly followed by closing quotes or by a
    credit in brackets ("…家园!(记者梁亮)")."""
    return bool(_FINAL.search(norm))


def _looks_cut(norm: str) -> bool:
    """Whether a short line without final punctuation is the first part of a paragraph cut
    by a column break rather than a headline: it ends in clause punctuation, leaves a quote
    or bracket open, or is a comma-separated clause that opens like a sentence (在…,
    今年8月,) or ends in a preposition's clause (…,对禁牧管理体)."""
    last = norm[-1]
    if last in ",、;(“‘《[":
        return True
    if last == ":":  # a kicker ends in a colon ("讨思浩村:"); a cut clause has other commas
        return bool(re.search(r"[,、;]", norm[:-1]))
    for opener, closer in ("“”", "()", "《》", "‘’"):
        if norm.count(opener) > norm.count(closer):
            return True
    if _ENUMERATED.match(norm):
        return False
    clauses = [c for c in norm.split(",") if c]
    if len(clauses) < 2:
        return False
    first, final = clauses[0], clauses[-1]
    return bool(_OPENER.match(first)) or first.endswith(("中", "时", "后", "期间", "以来")) or final[0] in _PREPOSITIONS


def _is_lead(line: _Line | None, dated: bool = True) -> bool:
    """Whether ``line`` opens an article: 本报讯 …, a ●byline, (上接第X版), or (when
    ``dated``) a dated lead, a day such as 10月18日 within its first words."""
    if line is None:
        return False
    if line.kind == JUMP_FROM:
        return True
    if line.kind == CREDIT:
        return line.norm[0] in "●■◆▲" or "记者" in line.norm[:8]
    if line.kind == BODY:
        return bool(_LEAD.match(line.norm) or (dated and _DAY.search(line.norm[:24])))
    return False


def _strip_jump_markers(text: str) -> tuple[str, bool, bool]:
    """``text`` without a leading (上接第X版) and a trailing (下转第X版); and whether each was
    there."""
    norm = unicodedata.normalize("NFKC", text)
    head = _JUMP_FROM.match(norm)
    tail = _JUMP_TO.search(norm)
    start = _original_length(text, head.end()) if head else 0
    end = _original_length(text, tail.start()) if tail else len(text)
    return text[start:end].strip(), bool(head), bool(tail)


def _original_length(text: str, norm_length: int) -> int:
    """Number of characters of ``text`` whose NFKC form is ``norm_length`` long."""
    total = 0
    for k, char in enumerate(text):
        if total >= norm_length:
            return k
        total += len(unicodedata.normalize("NFKC", char))
    return len(text)


def _title_key(title: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", title))


def _join_title(parts: list[str]) -> str:
    """Headline lines joined with a space, without one after a kicker ending in a colon."""
    title = parts[0]
    for part in parts[1:]:
        title += ("" if title.endswith((":", "：")) else " ") + part
    return title


# ---------------------------------------------------------------------------
# Articles being built


@dataclass
class _Para:
    texts: list[str]
    lines: list[int]
    sep: str = ""  # "" for prose joined across column breaks, "\n" for table rows


@dataclass
class _Draft:
    title: str
    lines: set[int] = field(default_factory=set)
    paras: list[_Para] = field(default_factory=list)
    open_para: bool = False  # the last paragraph was cut by a column break
    closed: bool = False  # a credit line, (下转…) or a date line ended it


class _Page:
    """The drafts of one page and the one open for new lines."""

    def __init__(self) -> None:
        self.drafts: list[_Draft] = []
        self.cur: _Draft | None = None

    def open(self, title: str, lines: list[_Line]) -> _Draft:
        self.cur = _Draft(title, {line.no for line in lines})
        self.drafts.append(self.cur)
        return self.cur

    def close(self) -> None:
        if self.cur is not None:
            self.cur.closed = True
            self.cur.open_para = False

    def writable(self) -> _Draft:
        """The open draft, or a new untitled one when none is open."""
        if self.cur is None or self.cur.closed:
            return self.open("", [])
        return self.cur

    def add_text(self, line: _Line) -> None:
        """Add a body line: continue a cut paragraph or start a new one."""
        text, jump_from, jump_to = _strip_jump_markers(line.text)
        if self.cur is not None and self.cur.paras and _LEAD.match(line.norm) and not jump_from:
            self.close()  # 本报讯 … without a headline: a new report
        draft = self.writable()
        draft.lines.add(line.no)
        if text:
            if draft.open_para and not jump_from:
                draft.paras[-1].texts.append(text)
                draft.paras[-1].lines.append(line.no)
            else:
                draft.paras.append(_Para([text], [line.no]))
        draft.open_para = bool(text) and not jump_to and not _finished(unicodedata.normalize("NFKC", text))
        if jump_to:
            self.close()

    def add_credit(self, line: _Line) -> None:
        """A byline under a headline opens the article; any other credit closes it."""
        if self.cur is None or self.cur.closed:
            return
        self.cur.lines.add(line.no)
        if self.cur.paras:
            self.close()

    def find(self, title: str) -> _Draft | None:
        key = _title_key(title)
        return next((d for d in self.drafts if d.title and _title_key(d.title) == key), None)


# ---------------------------------------------------------------------------
# Print pages


def _split_print(lines: list[_Line]) -> list[_Draft]:
    page = _Page()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.kind in (HEADING, BANNER):
            j = i
            while j < len(lines) and lines[j].kind in (HEADING, BANNER):
                j += 1
            _place_headings(page, lines[i:j], lines[j] if j < len(lines) else None)
            i = j
        elif line.kind == TABLE:
            i = _add_table(page, lines, i)
        else:
            _add_line(page, line)
            i += 1
    return page.drafts


def _add_line(page: _Page, line: _Line) -> None:
    if line.kind == FOOTER:
        page.close()
    elif line.kind == CREDIT:
        page.add_credit(line)
    elif line.kind == JUMP_FROM:
        page.writable().lines.add(line.no)
    elif line.kind == JUMP_TO:
        if page.cur is not None:
            page.cur.lines.add(line.no)
            page.close()
    else:
        page.add_text(line)


def _place_headings(page: _Page, group: list[_Line], nxt: _Line | None) -> None:
    """Decide what a run of headline-like lines is: a table caption, a banner inside a
    cut paragraph, page furniture, a jump head, a new article's headline or subheads."""
    cur = page.cur
    if nxt is None or nxt.kind == FOOTER:
        return  # a slogan or label with nothing under it
    if nxt.kind == TABLE and cur is not None and not cur.closed:
        cur.lines.update(line.no for line in group)  # table caption
        return
    if cur is not None and cur.open_para and len(group) == 1 and nxt.kind == BODY and not _is_lead(nxt):
        return  # a banner printed between the two halves of a cut paragraph
    banner_at = max((k for k, line in enumerate(group) if line.kind == BANNER), default=-1)
    heads = group[banner_at + 1:]
    if not heads:
        return
    title = _join_title([line.text for line in heads])
    earlier = page.find(title)
    if earlier is not None:
        _resume(page, earlier, heads)
    elif cur is None or cur.closed or banner_at >= 0 or len(heads) >= 2 or _is_lead(nxt):
        page.open(title, heads)
    else:
        cur.lines.update(line.no for line in heads)  # subheads
        cur.open_para = False


def _resume(page: _Page, draft: _Draft, heads: list[_Line]) -> None:
    """A headline printed again: the article ``draft`` continues below it."""
    if not draft.open_para:
        _hand_back_foreign_tail(draft, page.drafts)
    draft.lines.update(line.no for line in heads)
    draft.closed = False
    page.cur = draft


def _hand_back_foreign_tail(draft: _Draft, drafts: list[_Draft]) -> None:
    """If ``draft`` joined, at its last column break, text that opens with the quoted name
    from another article's title, move that text and what follows to that article and
    leave ``draft``'s cut paragraph open for its continuation."""
    for k in range(len(draft.paras) - 1, -1, -1):
        para = draft.paras[k]
        if para.sep == "" and len(para.lines) > 1:
            break
    else:
        return
    owner = _named_owner(para.texts[-1], [d for d in drafts if d is not draft])
    if owner is None:
        return
    start = para.lines[-1]
    moved = [_Para([para.texts.pop()], [para.lines.pop()])] + draft.paras[k + 1:]
    del draft.paras[k + 1:]
    owner.paras.extend(moved)
    moved_lines = {no for no in draft.lines if no >= start}
    draft.lines -= moved_lines
    owner.lines |= moved_lines
    draft.open_para = True


def _named_owner(text: str, drafts: list[_Draft]) -> _Draft | None:
    """The article whose title carries a quoted name (“…”, 《…》) that ``text`` opens with."""
    for draft in drafts:
        if any(text.startswith(name) for name in _QUOTED_NAME.findall(draft.title)):
            return draft
    return None


def _add_table(page: _Page, lines: list[_Line], i: int) -> int:
    """Add the table starting at ``lines[i]`` (and a 备注 line under it) as one paragraph;
    return the index after it."""
    rows, nos = [], []
    while i < len(lines) and (lines[i].kind == TABLE or (rows and "\t" in lines[i].raw)):
        rows.append(lines[i].raw.strip(" \u3000"))
        nos.append(lines[i].no)
        i += 1
    if i < len(lines) and _NOTE.match(lines[i].norm):
        rows.append(lines[i].text)
        nos.append(lines[i].no)
        i += 1
    draft = page.writable()
    draft.paras.append(_Para(rows, nos, sep="\n"))
    draft.lines.update(nos)
    draft.open_para = False
    return i


# ---------------------------------------------------------------------------
# Web listings


def _is_listing(lines: list[_Line]) -> bool:
    kinds = {line.kind for line in lines}
    return BULLET in kinds and DATE in kinds


def _split_listing(lines: list[_Line]) -> list[_Draft]:
    page = _Page()
    for line in lines:
        if line.kind == FOOTER:
            page.close()
        elif line.kind == BULLET:
            page.open(line.text.lstrip("•").strip(), [line])
        elif line.kind == DATE:
            if page.cur is not None and not page.cur.closed:
                page.cur.lines.add(line.no)
                page.close()
        elif line.kind in (HEADING, BANNER, CREDIT, JUMP_FROM, JUMP_TO):
            if page.cur is not None and not page.cur.closed:
                page.cur.lines.add(line.no)  # subhead or credit inside the item
                page.cur.open_para = False
        else:
            page.add_text(line)
    return page.drafts


# ---------------------------------------------------------------------------


def _finish(drafts: list[_Draft]) -> list[Article]:
    kept = sorted((d for d in drafts if d.lines and (d.paras or d.title)), key=lambda d: min(d.lines))
    return [
        Article(
            index=k,
            title=d.title,
            lines=(min(d.lines), max(d.lines)),
            paragraphs=[p.sep.join(p.texts) for p in d.paras],
            paragraph_lines=[(p.lines[0], p.lines[-1]) for p in d.paras],
        )
        for k, d in enumerate(kept)
    ]
