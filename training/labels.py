"""Reading and validating labels.csv and the topic table beside it (topics.csv).

labels.csv: UTF-8, header row, columns ``text``, ``labels`` (topic machine names
joined by ``;``, empty for none), ``source`` (``FILE:FIRST-LAST`` or ``authored``),
``article`` (a key shared by the paragraphs of one article; optional, a row without
one is its own article).

topics.csv: columns ``name`` and ``display``, one topic a row.  Adding a topic is a
line there, rows in labels.csv and a retrain.
"""
from __future__ import annotations

import csv
import difflib
import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from newstag.model.atomic import write_atomically
from newstag.model.normalize import normalize

REQUIRED_COLUMNS = ("text", "labels", "source")
TOPIC_COLUMNS = ("name", "display")


class LabelsError(Exception):
    """labels.csv or topics.csv is invalid; ``problems`` lists every message found."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class Topic:
    name: str
    display: str


@dataclass
class LabelSet:
    """The validated contents of labels.csv."""

    topics: list
    texts: list
    Y: np.ndarray
    groups: list
    sources: list
    sha256: str
    path: Path
    warnings: list = field(default_factory=list)

    @property
    def topic_names(self):
        """Return the topics' machine names, in table order."""
        return [t.name for t in self.topics]

    @property
    def display_names(self):
        """Return ``{machine name: display name}``."""
        return {t.name: t.display for t in self.topics}


def _decode(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LabelsError(
            [f"{path}: line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
             "save the file as UTF-8"]
        ) from None
    return text.removeprefix("\ufeff")


def topics_path_for(labels_path) -> Path:
    """Return the path of the topic table that belongs to ``labels_path``."""
    return Path(labels_path).with_name("topics.csv")


def read_topics(path) -> list:
    """Return the ``Topic`` list declared in topics.csv at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise LabelsError([f"{path}: topic table not found (it must sit beside labels.csv)"])
    reader = csv.DictReader(io.StringIO(_decode(path, path.read_bytes())))
    missing = [c for c in TOPIC_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise LabelsError([f"{path}: missing column(s) {', '.join(missing)} (has: {reader.fieldnames})"])
    topics, problems, seen = [], [], set()
    for row in reader:
        name = (row["name"] or "").strip()
        display = (row["display"] or "").strip()
        if not name or not name.isidentifier():
            problems.append(f"{path}: line {reader.line_num}, field name: {name!r} is not a valid machine name")
        elif name in seen:
            problems.append(f"{path}: line {reader.line_num}, field name: topic {name!r} declared twice")
        else:
            seen.add(name)
            topics.append(Topic(name, display or name))
    if not topics and not problems:
        problems.append(f"{path}: declares no topic")
    if problems:
        raise LabelsError(problems)
    return topics


def parse_label_field(value: str, names) -> tuple[list, list]:
    """Return ``(labels, unknown)`` from a ``labels`` cell: the declared topics it
    names and the names that are not declared."""
    labels, unknown = [], []
    for part in (value or "").replace("；", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        (labels if part in names else unknown).append(part)
    return labels, unknown


def closest(name: str, names) -> str:
    """Return the declared topic closest to ``name`` (by spelling)."""
    match = difflib.get_close_matches(name, list(names), n=1, cutoff=0.0)
    return match[0] if match else ""


def unknown_topic(where: str, name: str, names, hint: str = "") -> str:
    """Return the problem line for the undeclared topic ``name`` at ``where``: the closest
    declared topic, all of them, and ``hint`` (what else the field may hold), if given."""
    tail = f"; {hint}" if hint else ""
    return (f"{where}, field labels: unknown topic {name!r} (closest declared topic: {closest(name, names)!r}; "
            f"declared: {', '.join(names)}{tail})")


def read_labels(path, topics_path=None) -> LabelSet:
    """Read and validate labels.csv; return a ``LabelSet``.

    Raises ``LabelsError`` listing every problem, each naming the file, the row
    (data row number and line in the file) and the field.  Exact repeats of a
    paragraph with the same labels are used once and listed in ``warnings``."""
    path = Path(path)
    if not path.is_file():
        raise LabelsError([f"{path}: no such file"])
    data = path.read_bytes()
    topics = read_topics(topics_path or topics_path_for(path))
    names = [t.name for t in topics]
    reader = csv.DictReader(io.StringIO(_decode(path, data), newline=""))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise LabelsError([f"{path}: missing column(s) {', '.join(missing)} in the header (has: {', '.join(header)})"])
    problems, warnings_ = [], []
    texts, rows_y, groups, sources = [], [], [], []
    seen: dict = {}
    for rowno, row in enumerate(reader, start=1):
        where = f"{path}: row {rowno} (line {reader.line_num})"
        if None in row:
            problems.append(f"{where}: {len(header) + len(row[None])} fields, the header has {len(header)}")
            continue
        text = (row.get("text") or "").strip()
        if not text:
            problems.append(f"{where}, field text: empty")
            continue
        labels, unknown = parse_label_field(row.get("labels") or "", names)
        problems += [unknown_topic(where, name, names, "declare new topics in topics.csv") for name in unknown]
        if unknown:
            continue
        key = normalize(text)
        y = tuple(int(n in labels) for n in names)
        if key in seen:
            first_row, first_y = seen[key]
            if first_y != y:
                problems.append(
                    f"{where}, field labels: the same paragraph as row {first_row} with other labels "
                    f"({_fmt(first_y, names)!r} there, {_fmt(y, names)!r} here)"
                )
            else:
                warnings_.append(f"{where}: repeats row {first_row}; used once")
            continue
        seen[key] = (rowno, y)
        texts.append(text)
        rows_y.append(y)
        article = (row.get("article") or "").strip()
        groups.append(article or f"row-{rowno}")
        sources.append((row.get("source") or "").strip())
    if problems:
        raise LabelsError(problems)
    if not texts:
        raise LabelsError([f"{path}: no labelled paragraph"])
    return LabelSet(
        topics=topics,
        texts=texts,
        Y=np.array(rows_y, dtype=int),
        groups=groups,
        sources=sources,
        sha256=hashlib.sha256(data).hexdigest(),
        path=path,
        warnings=warnings_,
    )


def _fmt(y, names):
    return ";".join(n for n, v in zip(names, y) if v)


# ---------------------------------------------------------------------------
# Adding rows: `newstag train --add` and the labelling page (/label)

#: Columns a row added by a person carries besides REQUIRED_COLUMNS and ``article``.
PROVENANCE_COLUMNS = ("labelled_by", "labelled_on")
LOCK_SUFFIX = ".lock"


@dataclass
class AppendResult:
    """What ``append_rows`` did: rows ``added``, and rows ``skipped`` as
    ``(index in the given rows, reason)`` (a paragraph already in the file)."""

    added: int
    skipped: list


def labelled_keys(path) -> dict:
    """Return ``{normalised text: labels field}`` of every row in labels.csv at ``path``
    (empty when the file does not exist): what is already labelled."""
    path = Path(path)
    if not path.is_file():
        return {}
    reader = csv.DictReader(io.StringIO(_decode(path, path.read_bytes()), newline=""))
    return {normalize(r.get("text") or ""): (r.get("labels") or "") for r in reader if (r.get("text") or "").strip()}


class _FileLock:
    """An exclusive advisory lock (``flock``) on ``PATH.lock``, held by one writer of
    labels.csv at a time, across processes and threads alike."""

    def __init__(self, path: Path):
        self.path = Path(str(path) + LOCK_SUFFIX)
        self.fd = None

    def __enter__(self):
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None


def append_rows(path, rows, topics_path=None) -> AppendResult:
    """Append ``rows`` (dicts with ``text``, ``labels`` as in labels.csv, ``source``,
    and optionally ``article``, ``labelled_by``, ``labelled_on``) to labels.csv at
    ``path``; return an ``AppendResult``.

    Every row is validated first (empty text, undeclared topic): ``LabelsError``
    naming each bad row, and nothing written.  A row whose paragraph is already in
    the file (same normalised text) is skipped, not written twice.  The whole write
    happens under an exclusive lock on ``PATH.lock`` and goes to a temporary file
    that is fsync'ed and renamed over labels.csv, so two writers never interleave
    and a reader never sees half a row.  Columns the file lacks (``article``,
    ``labelled_by``, ``labelled_on``) are added to its header."""
    path = Path(path)
    names = [t.name for t in read_topics(topics_path or topics_path_for(path))]
    rows = [dict(r) for r in rows]
    problems = []
    for i, row in enumerate(rows, start=1):
        if not (row.get("text") or "").strip():
            problems.append(f"new row {i}, field text: empty")
            continue
        _, unknown = parse_label_field(row.get("labels") or "", names)
        problems += [unknown_topic(f"new row {i}", name, names) for name in unknown]
    if problems:
        raise LabelsError(problems)
    with _FileLock(path):
        old = path.read_bytes() if path.is_file() else b""
        text = _decode(path, old) if old else ""
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = list(reader.fieldnames or REQUIRED_COLUMNS)
        existing = list(reader)
        known = {normalize(r.get("text") or "") for r in existing}
        for column in ("article",) + PROVENANCE_COLUMNS:
            if column not in header and any(row.get(column) for row in rows):
                header.append(column)
        added, skipped = [], []
        for i, row in enumerate(rows):
            key = normalize(row["text"])
            if key in known:
                skipped.append((i, "already in labels.csv"))
                continue
            known.add(key)
            labels, _ = parse_label_field(row.get("labels") or "", names)
            row["labels"] = ";".join(n for n in names if n in labels)
            row["text"] = row["text"].strip()
            added.append({c: row.get(c, "") or "" for c in header})
        if added:
            out = io.StringIO(newline="")
            writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
            writer.writeheader()
            writer.writerows({c: r.get(c, "") or "" for c in header} for r in existing)
            writer.writerows(added)
            write_atomically(path, out.getvalue().encode("utf-8"))
    return AppendResult(len(added), skipped)
