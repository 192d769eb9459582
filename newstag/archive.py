"""Batch tagging of a page archive, the machinery behind ``newstag tag``.

Data flow::

    PATH arguments -> find_files (sorted walk, *.txt) -> tag_in_order (worker pool,
    results kept in file order) -> an output (stdout, or a resumable file) + Progress
    + Summary

Each worker process holds the model once (``init_worker``) and turns one file into
its finished output bytes (``tag_file``): read, decode (UTF-8, UTF-8 with BOM,
GB18030; CRLF or LF), split into articles, tag, serialise as JSON lines or CSV rows.
The main process only writes those bytes, in file order.  At most ``4 x workers``
files are in flight, so memory does not grow with the archive.

Resuming an interrupted run (``-o OUT``)
----------------------------------------
While the run goes on, records are written to ``OUT.part`` and a journal of finished
files to ``OUT.progress``; ``OUT`` itself appears only when the run has finished
(``OUT.part`` is renamed to it and the journal removed), so a file named ``OUT`` is
always complete.

* ``OUT.progress`` starts with one header line, written atomically (temporary file,
  fsync, rename): the PATH arguments (as given and absolute), the output format, the
  SHA-256 of the model file, and the byte length of the preamble (empty for JSON
  lines; BOM and header row for CSV).
* For each file, in file order, all its records are appended to ``OUT.part`` in one
  write.  Every second (``COMMIT_SECONDS``; and every ``COMMIT_FILES`` files, and when
  the run ends or is interrupted) a commit makes them durable: ``OUT.part`` is
  flushed and fsync'ed, and only then one line per file appended since the last
  commit is written to the journal, flushed and fsync'ed:
  ``{"file", "size", "mtime_ns", "end", "articles", "untagged", "topics"}`` where
  ``end`` is the length of ``OUT.part`` after that file's records.  (One fsync pair
  per file would be simpler, but an fsync costs ~10 ms on this machine's disk: more
  than tagging a page.)  Failed files are not journaled, so a re-run tries them again.
* On start, if the journal exists: its header must match this run (same inputs, format
  and model), otherwise the run is refused and ``--restart`` is the way to discard it.
  Journal lines are read up to the first one that is torn (no newline, not JSON, an
  ``end`` beyond ``OUT.part``); the journal is cut back to that point and ``OUT.part``
  is truncated to the last good ``end``.  Whatever a crash left after that boundary
  (records of a file whose journal line never made it, a torn last line) is dropped,
  and that file is tagged again.  Files named in the journal are skipped.
* Pool workers end by themselves within half a second when the main process is gone
  (``kill -9``), so nothing is left running.

So whatever stops the run (Ctrl-C, ``kill -9``, a power cut between any two system
calls), re-running the same command carries on: every article is written exactly once
and no line is torn.  A file already tagged that has changed since (size or mtime) is
kept as tagged and a warning names it.  ``OUT`` existing without a journal (a finished
run, or some other file) is refused unless ``--restart``; with ``--restart`` the old
``OUT`` is only replaced when the new run finishes.

Groups of files, and the Parquet output (``--format parquet -o DIR``)
--------------------------------------------------------------------
``group_sources`` cuts the sorted file list into consecutive groups of at most
``GROUP_FILES`` files and ``GROUP_BYTES`` bytes of pages: the tasks of the cluster path
(``newstag.cluster``) and the part files of a Parquet dataset.  ``ParquetOutput``
writes one part file per group, ``DIR.part/part-NNNNN.parquet``, each atomically
(temporary file, fsync, rename) once all of its group's files are tagged; the
manifest ``DIR.part/_newstag.json`` (written first, atomically) holds the run's
signature (inputs, model, group limits and a digest of the groups).  A part present
is a group done: a re-run with the same signature writes the missing parts only; a
different run is refused unless ``--restart``.  Each part carries its files, failures
and counts in the Parquet key-value metadata (key ``newstag``), so a resumed run's
summary is complete.  When the run finishes, ``DIR.part`` is renamed to ``DIR``.
Rows are the JSON lines records (each file's records are serialised as JSON lines
first, then read into Arrow), in file order: columns ``file``, ``index``, ``title``,
``lines`` (list of 2 ints), ``labels`` (list of strings), ``scores`` (a struct with
one float field per topic, model order), ``chars``.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import stat
import sys
import threading
import time
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from newstag.model.atomic import fsync_dir, write_atomically

JOURNAL_VERSION = 1
WINDOW_PER_WORKER = 4
COMMIT_SECONDS = 1.0  # longest time between two fsync'ed commits of the output
COMMIT_FILES = 200  # most files appended between two commits
GROUP_BYTES = 1_000_000  # most page bytes in a group (a cluster task, a Parquet part)...
GROUP_FILES = 100  # ... and most files
PARQUET_VERSION = 1

# ---------------------------------------------------------------------------
# Finding the files


@dataclass(frozen=True)
class Source:
    """A file to tag: ``name`` is the path as found (what the records carry), ``path``
    where to read it; ``error`` is set when the PATH argument itself is unusable."""

    name: str
    path: str
    error: str | None = None


def _is_page(filename: str) -> bool:
    return filename.lower().endswith(".txt")


def find_files(paths: Sequence[str]) -> Iterator[Source]:
    """Yield the files named by ``paths``, in order: a file as given (whatever its
    suffix); a folder's ``*.txt`` files (any case) recursively, sorted by path (folders
    walked in name order, a folder's own files before its subfolders; symbolic links to
    folders are not followed).  A path that does not exist, or a folder that cannot be
    listed, is yielded with an ``error``.  With several paths, a file reached twice is
    yielded once."""
    seen = set() if len(paths) > 1 else None

    def first_time(name):
        if seen is None:
            return True
        if name in seen:
            return False
        seen.add(name)
        return True

    for arg in paths:
        if os.path.isdir(arg):
            errors = []
            for folder, dirs, files in os.walk(arg, onerror=errors.append):
                while errors:
                    exc = errors.pop(0)
                    yield Source(exc.filename or folder, exc.filename or folder,
                                 f"unreadable folder: {exc.strerror or exc}")
                dirs.sort()
                for filename in sorted(f for f in files if _is_page(f)):
                    name = os.path.join(folder, filename)
                    if first_time(name):
                        yield Source(name, name)
            for exc in errors:  # the last folders listed may have failed too
                yield Source(exc.filename or arg, exc.filename or arg, f"unreadable folder: {exc.strerror or exc}")
        elif os.path.lexists(arg):
            if first_time(arg):
                yield Source(arg, arg)
        else:
            yield Source(arg, arg, "no such file or folder")


def count_files(paths: Sequence[str]) -> tuple[int, int]:
    """Return ``(files, bytes)`` that ``find_files(paths)`` will yield (for the progress
    bar's totals); unreadable sizes count as 0."""
    n = size = 0
    for src in find_files(paths):
        n += 1
        try:
            size += os.stat(src.path).st_size
        except OSError:
            pass
    return n, size


# ---------------------------------------------------------------------------
# Output formats


class JsonlFormat:
    """One JSON object per line, UTF-8, the Chinese as is."""

    name = "jsonl"

    def preamble(self) -> bytes:
        """Return the bytes that open the output (none for JSON lines)."""
        return b""

    def encode(self, records: list) -> bytes:
        """Return ``records`` as UTF-8 JSON lines."""
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


class CsvFormat:
    """CSV for spreadsheets: UTF-8 with a BOM (so Excel reads the Chinese), CRLF rows.

    Columns: file, index, title, first_line, last_line, labels (topic names joined
    with ``;``), chars, then one ``score_<topic>`` column per topic in model order."""

    name = "csv"

    def __init__(self, topics):
        self.topics = list(topics)

    def header(self) -> list:
        """Return the column names."""
        return ["file", "index", "title", "first_line", "last_line", "labels", "chars"] + [
            f"score_{t}" for t in self.topics
        ]

    def _rows(self, rows) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        return buf.getvalue().encode("utf-8")

    def preamble(self) -> bytes:
        """Return the BOM and the header row."""
        return "\ufeff".encode("utf-8") + self._rows([self.header()])

    def encode(self, records: list) -> bytes:
        """Return ``records`` as CSV rows (UTF-8, no BOM)."""
        return self._rows(
            [r["file"], r["index"], r["title"], r["lines"][0], r["lines"][1], ";".join(r["labels"]), r["chars"]]
            + [r["scores"].get(t, "") for t in self.topics]
            for r in records
        )


class ParquetFormat(JsonlFormat):
    """Each file's records as JSON lines, which ``ParquetOutput`` turns into rows of a
    Parquet part (so the rows are the JSON lines records by construction)."""

    name = "parquet"


def make_format(name: str, topics):
    """Return the format object for ``name`` (``"jsonl"``, ``"csv"`` or ``"parquet"``)."""
    if name == "jsonl":
        return JsonlFormat()
    if name == "csv":
        return CsvFormat(topics)
    if name == "parquet":
        return ParquetFormat()
    raise ValueError(f"unknown format {name!r}")


# ---------------------------------------------------------------------------
# Tagging one file (in a worker process, or in this one with --workers 1)


@dataclass
class FileResult:
    """What became of one file: its output bytes and counts, or ``error`` (the reason
    it failed).  ``size`` and ``mtime_ns`` are as read, for the resume journal."""

    name: str
    size: int = 0
    mtime_ns: int = 0
    data: bytes = b""
    articles: int = 0
    untagged: int = 0
    topics: dict = field(default_factory=dict)
    error: str | None = None


_worker: dict = {}


def _exit_when_orphaned(parent: int) -> None:
    """End this worker as soon as its parent is gone (killed with -9, say): a pool
    worker would otherwise wait for work forever."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def init_worker(model_path, format_name: str) -> None:
    """Prepare a pool worker to tag files: leave Ctrl-C to the main process, end with
    it, load the model at ``model_path`` (once; a model inherited from the main process
    through fork is reused) and warm up the segmenter."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    if _worker.get("model_path") != model_path or "model" not in _worker:
        from newstag.model.store import load_model

        _worker["model"] = load_model(model_path)
        _worker["model_path"] = model_path
    _worker["format"] = make_format(format_name, _worker["model"].topics)
    from newstag.model.segment import get_tokenizer

    get_tokenizer()


def set_worker_model(model, model_path, format_name: str) -> None:
    """Give this process an already loaded model (the main process does this, so
    forked workers inherit it instead of loading it again)."""
    _worker["model"] = model
    _worker["model_path"] = model_path
    _worker["format"] = make_format(format_name, model.topics)


def read_page(path: str) -> tuple[str, int, int]:
    """Return ``(text, size, mtime_ns)`` of the page file at ``path``; raises
    ``ValueError`` with the reason when it cannot be tagged (unreadable, empty, not
    UTF-8/GB18030 text)."""
    from newstag.model.pages import decode_page

    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ValueError("is a folder, not a page file")
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ValueError(f"unreadable: {exc.strerror or exc}") from None
    if not data:
        raise ValueError("empty file")
    try:
        text = decode_page(data)
    except UnicodeDecodeError as exc:
        raise ValueError(f"undecodable: {exc.reason}") from None
    if not text.strip():
        raise ValueError("empty file (only blank lines)")
    return text, st.st_size, st.st_mtime_ns


def tag_file(source: Source, model=None, fmt=None) -> FileResult:
    """Return the ``FileResult`` of one file: its records serialised in ``fmt`` (default:
    this process's format) by ``model`` (default: this process's model), or the reason
    it failed.  Never raises for a bad file."""
    if source.error:
        return FileResult(source.name, error=source.error)
    from newstag.model.tagging import tag_page

    model = model if model is not None else _worker["model"]
    fmt = fmt if fmt is not None else _worker["format"]
    try:
        text, size, mtime_ns = read_page(source.path)
    except ValueError as exc:
        return FileResult(source.name, error=str(exc))
    try:
        records = tag_page(model, text, source.name)
    except Exception as exc:  # a bug on one odd page must not stop the archive
        return FileResult(source.name, size, mtime_ns, error=f"internal error: {type(exc).__name__}: {exc}")
    topics = Counter(label for r in records for label in r["labels"])
    return FileResult(
        source.name,
        size,
        mtime_ns,
        data=fmt.encode(records),
        articles=len(records),
        untagged=sum(1 for r in records if not r["labels"]),
        topics=dict(topics),
    )


def map_in_order(fn, items: Iterable, workers: int, initializer=None, initargs=()) -> Iterator:
    """Yield ``fn(item)`` for each of ``items``, in order, computed by a pool of
    ``workers`` processes (each prepared once by ``initializer(*initargs)``) working
    through a window of at most ``WINDOW_PER_WORKER x workers`` items, so memory does not
    grow with the input.  On an interrupt, what is queued is dropped and the items
    being worked on end by themselves."""
    pool = ProcessPoolExecutor(max_workers=workers, initializer=initializer, initargs=initargs)
    window = deque()
    try:
        for item in items:
            window.append(pool.submit(fn, item))
            if len(window) >= workers * WINDOW_PER_WORKER:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        pool.shutdown(wait=not window, cancel_futures=True)


def tag_in_order(sources: Iterable[Source], workers: int, model_path, format_name: str) -> Iterator[FileResult]:
    """Yield the ``FileResult`` of each source, in the order of ``sources``.

    ``workers == 1`` tags in this process (its model must be set with
    ``set_worker_model``); otherwise a pool of ``workers`` processes, each with the
    model loaded once (``map_in_order``)."""
    if workers <= 1:
        yield from map(tag_file, sources)
        return
    yield from map_in_order(tag_file, sources, workers, init_worker, (model_path, format_name))


def group_sources(sources: Iterable[Source]) -> Iterator[list]:
    """Yield ``sources`` cut into consecutive groups, in order: a group is closed before
    a file that would take it past ``GROUP_FILES`` files or ``GROUP_BYTES`` bytes (file
    sizes as on disk now, 0 when unreadable; a larger file makes a group of its own).
    The same list of files and sizes always gives the same groups."""
    group, size = [], 0
    for src in sources:
        try:
            n = 0 if src.error else os.stat(src.path).st_size
        except OSError:
            n = 0
        if group and (len(group) >= GROUP_FILES or size + n > GROUP_BYTES):
            yield group
            group, size = [], 0
        group.append(src)
        size += n
    if group:
        yield group


# ---------------------------------------------------------------------------
# Writing: standard output, or a resumable file


class StreamOutput:
    """Records to a binary stream (standard output); nothing to resume."""

    resumed_files = 0
    resumed_articles = 0
    resumed_untagged = 0
    resumed_topics: dict = {}
    resumed_failures: list = []

    def __init__(self, stream, fmt):
        self.stream = stream
        self.fmt = fmt
        self.done: set = set()

    def start(self) -> None:
        """Write the preamble."""
        self.stream.write(self.fmt.preamble())
        self.stream.flush()

    def append(self, result: FileResult) -> None:
        """Write one file's records (none for a failed file)."""
        self.stream.write(result.data)
        self.stream.flush()

    def finish(self) -> None:
        """Nothing to do: the stream was written as the run went."""

    def close(self) -> None:
        """Nothing to close (the stream is not ours)."""


class ResumeError(Exception):
    """The output cannot be started or resumed; the message says why and what to do."""


def model_fingerprint(path) -> str:
    """Return the SHA-256 of the model file at ``path`` (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_journal(path: Path) -> tuple[dict | None, list]:
    """Return ``(header, entries)`` of the journal at ``path``: the header dict (None
    when the journal is missing or its header unreadable) and the file entries up to
    the first torn or invalid line, each as ``(entry, offset)`` where ``offset`` is
    the journal's length up to and including that entry's line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, []
    lines = raw.split(b"\n")
    if len(lines) < 2:  # no complete header line
        return None, []
    try:
        header = json.loads(lines[0])
    except ValueError:
        return None, []
    if not isinstance(header, dict):
        return None, []
    offset = len(lines[0]) + 1
    entries = []
    for line in lines[1:-1]:  # the last piece has no newline after it: torn or empty
        try:
            entry = json.loads(line)
        except ValueError:
            break
        if not isinstance(entry, dict) or not isinstance(entry.get("end"), int) or "file" not in entry:
            break
        offset += len(line) + 1
        entries.append((entry, offset))
    return header, entries


def _truncate(path: Path, size: int) -> None:
    """Cut the file at ``path`` to ``size`` bytes, durably."""
    with open(path, "r+b") as fh:
        fh.truncate(size)
        fh.flush()
        os.fsync(fh.fileno())


class ResumableOutput:
    """Records to ``OUT.part`` with a journal ``OUT.progress``; ``finish`` renames the
    part to ``OUT``.  See the module docstring for the protocol."""

    def __init__(self, out: Path, fmt, signature: dict, restart: bool = False):
        self.out = Path(out)
        self.part = self.out.with_name(self.out.name + ".part")
        self.journal = self.out.with_name(self.out.name + ".progress")
        self.fmt = fmt
        self.signature = dict(signature, format=fmt.name)
        self.restart = restart
        self.done: dict = {}  # file name -> (size, mtime_ns) of files already written
        self.resumed_files = 0
        self.resumed_articles = 0
        self.resumed_untagged = 0
        self.resumed_topics: Counter = Counter()
        self.resumed_failures: list = []  # failed files are not journaled: tried again
        self._part_fh = None
        self._journal_fh = None
        self._pending: list = []  # journal entries of files appended since the last commit
        self._committed = time.monotonic()

    # -- starting ---------------------------------------------------------
    def start(self) -> None:
        """Open the output: resume the interrupted run in ``OUT.part`` when its journal
        matches this run, or start a new one.  Raises ``ResumeError`` when neither is
        safe (another run's journal, an ``OUT`` that exists, inconsistent files)."""
        if not self.out.parent.is_dir():
            raise ResumeError(f"{self.out.parent}: no such folder for the output")
        if self.restart:
            for p in (self.part, self.journal):
                p.unlink(missing_ok=True)
        header, entries = read_journal(self.journal)
        if header is None:
            self._check_fresh_start()
            self._start_new()
        else:
            self._check_same_run(header)
            self._resume(header, entries)
        self._part_fh = open(self.part, "ab")
        self._journal_fh = open(self.journal, "ab")

    def _check_fresh_start(self) -> None:
        if self.restart:
            return
        if self.journal.exists():
            raise ResumeError(
                f"{self.journal} is not a journal this version can read; "
                f"use --restart to discard it and {self.part}, and start over"
            )
        if self.out.exists():
            raise ResumeError(
                f"{self.out} already exists (a finished run, or another file); "
                "use --restart to replace it when this run finishes, or choose another -o"
            )
        if self.part.exists():
            raise ResumeError(
                f"{self.part} exists without its journal {self.journal.name}, so it cannot be resumed; "
                "use --restart to discard it and start over"
            )

    def _check_same_run(self, header: dict) -> None:
        if header.get("journal") != JOURNAL_VERSION:
            raise ResumeError(f"{self.journal} was written by another version of newstag; use --restart")
        differs = [k for k in ("paths", "abs_paths", "format", "model_sha256") if header.get(k) != self.signature.get(k)]
        if differs:
            what = {
                "paths": "PATH arguments",
                "abs_paths": "PATH arguments (absolute)",
                "format": "format",
                "model_sha256": "model",
            }
            then = " ".join(header.get("paths", [])) + f" --format {header.get('format')}"
            raise ResumeError(
                f"{self.part} holds an interrupted run with other {', '.join(what[k] for k in differs)} "
                f"(it was: newstag tag {then} -o {self.out}). Re-run that command to finish it, "
                "or add --restart to discard it and start this one."
            )

    def _start_new(self) -> None:
        preamble = self.fmt.preamble()
        header = dict(self.signature, journal=JOURNAL_VERSION, preamble_end=len(preamble))
        write_atomically(self.journal, json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n")
        write_atomically(self.part, preamble)

    def _resume(self, header: dict, entries: list) -> None:
        header_len = len(self.journal.read_bytes().split(b"\n", 1)[0]) + 1
        try:
            part_size = self.part.stat().st_size
        except FileNotFoundError:
            part_size = None
        if part_size is None and entries:
            raise ResumeError(
                f"{self.part} is missing but {self.journal.name} lists finished files; "
                "use --restart to start over"
            )
        # an entry whose records did not all reach the part (cannot happen when the OS
        # honours fsync: the part is synced first) is dropped like a torn line
        while entries and entries[-1][0]["end"] > part_size:
            entries.pop()
        if not entries:  # nothing finished yet: begin the part again
            _truncate(self.journal, header_len)
            write_atomically(self.part, self.fmt.preamble())
            return
        last, journal_end = entries[-1]
        _truncate(self.journal, journal_end)
        _truncate(self.part, last["end"])
        for entry, _ in entries:
            self.done[entry["file"]] = (entry.get("size"), entry.get("mtime_ns"))
            self.resumed_articles += entry.get("articles", 0)
            self.resumed_untagged += entry.get("untagged", 0)
            self.resumed_topics.update(entry.get("topics", {}))
        self.resumed_files = len(entries)

    # -- writing ----------------------------------------------------------
    def append(self, result: FileResult) -> None:
        """Append one file's records to the part (one write); the file is journaled at
        the next commit, which comes at most ``COMMIT_SECONDS`` or ``COMMIT_FILES``
        files later.  A failed file is not journaled: a re-run tries it again."""
        if result.error:
            return
        self._part_fh.write(result.data)
        self._pending.append({
            "file": result.name,
            "size": result.size,
            "mtime_ns": result.mtime_ns,
            "end": self._part_fh.tell(),
            "articles": result.articles,
            "untagged": result.untagged,
            "topics": result.topics,
        })
        if len(self._pending) >= COMMIT_FILES or time.monotonic() - self._committed >= COMMIT_SECONDS:
            self.commit()

    def commit(self) -> None:
        """Make the appended records durable (flush, fsync), then journal their files
        (append, flush, fsync).  A crash before the journal's fsync only costs those
        files being tagged again."""
        self._committed = time.monotonic()
        if not self._pending:
            return
        self._part_fh.flush()
        os.fsync(self._part_fh.fileno())
        # taken off the list before writing: an interrupt in between leaves them
        # unjournaled (tagged again later), never journaled twice
        entries, self._pending = self._pending, []
        self._journal_fh.write(b"".join(json.dumps(e, ensure_ascii=False).encode("utf-8") + b"\n" for e in entries))
        self._journal_fh.flush()
        os.fsync(self._journal_fh.fileno())

    def finish(self) -> None:
        """Make the output final: commit, rename ``OUT.part`` to ``OUT``, remove the journal."""
        self.close()
        os.replace(self.part, self.out)
        fsync_dir(self.out)
        self.journal.unlink(missing_ok=True)

    def close(self) -> None:
        """Commit what was appended and close the files (the run can be resumed later)."""
        if self._part_fh is not None and not self._part_fh.closed:
            try:
                self.commit()
            finally:
                self._part_fh.close()
                self._journal_fh.close()


# ---------------------------------------------------------------------------
# Writing: a Parquet dataset, one part per group of files


def _import_pyarrow():
    """Return ``(pyarrow, pyarrow.parquet)``; raises ``ResumeError`` saying what to
    install when pyarrow is missing."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise ResumeError(f"--format parquet needs pyarrow ({exc}): pip install 'newstag[cluster]'") from None
    return pyarrow, pyarrow.parquet


def parquet_schema(pa, topics):
    """Return the Arrow schema of the Parquet rows: the record fields, ``lines`` and
    ``labels`` as lists, ``scores`` as a struct of one float per topic (in order)."""
    return pa.schema([
        ("file", pa.string()),
        ("index", pa.int64()),
        ("title", pa.string()),
        ("lines", pa.list_(pa.int64())),
        ("labels", pa.list_(pa.string())),
        ("scores", pa.struct([(t, pa.float64()) for t in topics])),
        ("chars", pa.int64()),
    ])


def groups_digest(groups) -> str:
    """Return the SHA-256 (hex) of the file names of ``groups``, group by group."""
    h = hashlib.sha256()
    for group in groups:
        h.update(json.dumps([s.name for s in group], ensure_ascii=False).encode("utf-8") + b"\n")
    return h.hexdigest()


class ParquetOutput:
    """Records as a Parquet dataset: ``DIR.part/part-NNNNN.parquet``, one per group of
    ``groups``, and the manifest ``DIR.part/_newstag.json``; ``finish`` renames
    ``DIR.part`` to ``DIR``.  See the module docstring for the protocol."""

    MANIFEST = "_newstag.json"

    def __init__(self, out: Path, topics, signature: dict, groups: list, restart: bool = False):
        self.out = Path(out)
        self.part = self.out.with_name(self.out.name + ".part")
        self.manifest = self.part / self.MANIFEST
        self.topics = list(topics)
        self.groups = groups
        self.signature = dict(signature, format=ParquetFormat.name, parquet=PARQUET_VERSION,
                              group_bytes=GROUP_BYTES, group_files=GROUP_FILES,
                              groups=len(groups), groups_sha256=groups_digest(groups))
        self.restart = restart
        self.done: dict = {}  # file name -> (size, mtime_ns) of files in parts already written
        self.resumed_files = 0
        self.resumed_articles = 0
        self.resumed_untagged = 0
        self.resumed_topics: Counter = Counter()
        self.resumed_failures: list = []  # (name, reason) in parts already written
        self._width = max(5, len(str(len(groups) - 1)))
        self._todo: deque = deque()  # indices of the groups still to write, in order
        self._results: list = []  # results of the first group of _todo, so far
        self._pa = self._pq = self._schema = None

    def part_path(self, index: int) -> Path:
        """Return the path of part ``index``."""
        return self.part / f"part-{index:0{self._width}d}.parquet"

    # -- starting ---------------------------------------------------------
    def start(self) -> None:
        """Open the dataset: resume the interrupted run in ``DIR.part`` when its manifest
        matches this run, or start a new one.  Raises ``ResumeError`` when neither is
        safe (another run's parts, a ``DIR`` that exists, a folder that is not ours)."""
        self._pa, self._pq = _import_pyarrow()
        self._schema = parquet_schema(self._pa, self.topics)
        if not self.out.parent.is_dir():
            raise ResumeError(f"{self.out.parent}: no such folder for the output")
        if self.out.exists() and not self.restart:
            raise ResumeError(
                f"{self.out} already exists (a finished run, or another file); "
                "use --restart to replace it when this run finishes, or choose another -o"
            )
        if self.out.exists() and not (self.out.is_file() or (self.out / self.MANIFEST).is_file()):
            raise ResumeError(f"{self.out} is a folder that is not a newstag Parquet dataset "
                              f"(no {self.MANIFEST}); it is not replaced: choose another -o")
        manifest = self._read_manifest()
        if manifest is not None and self.restart:
            shutil.rmtree(self.part)
            manifest = None
        if manifest is None:
            self._start_new()
        else:
            self._check_same_run(manifest)
            self._resume()

    def _read_manifest(self) -> dict | None:
        """Return the manifest of ``DIR.part`` (None when there is no ``DIR.part``, or
        only the empty folder a run stopped in before its manifest was written)."""
        if not self.part.exists():
            return None
        try:
            return json.loads(self.manifest.read_bytes())
        except FileNotFoundError:
            if self.part.is_dir() and all(p.name.endswith(".tmp") for p in self.part.iterdir()):
                return None
            raise ResumeError(f"{self.part} exists but holds no newstag run ({self.MANIFEST} is missing); "
                              "it is not touched: remove it, or choose another -o") from None
        except (OSError, ValueError) as exc:
            raise ResumeError(f"{self.manifest}: unreadable ({exc}); use --restart to discard {self.part}") from None

    def _check_same_run(self, manifest: dict) -> None:
        if manifest.get("parquet") != PARQUET_VERSION:
            raise ResumeError(f"{self.manifest} was written by another version of newstag; use --restart")
        what = {
            "paths": "PATH arguments",
            "abs_paths": "PATH arguments (absolute)",
            "model_sha256": "model",
            "group_bytes": "group size",
            "group_files": "group size",
            "groups_sha256": "files (the files under PATH changed since)",
        }
        differs = sorted({what[k] for k in what if manifest.get(k) != self.signature.get(k)})
        if differs:
            then = " ".join(manifest.get("paths", []))
            raise ResumeError(
                f"{self.part} holds an interrupted run with other {', '.join(differs)} "
                f"(it was: newstag tag {then} --format parquet -o {self.out}). Re-run that command to "
                "finish it, or add --restart to discard it and start this one."
            )

    def _start_new(self) -> None:
        self.part.mkdir(exist_ok=True)
        fsync_dir(self.part)
        write_atomically(self.manifest, json.dumps(self.signature, ensure_ascii=False).encode("utf-8") + b"\n")
        self._todo = deque(range(len(self.groups)))

    def _resume(self) -> None:
        for tmp in self.part.glob(".*.tmp"):  # a part being written when the run stopped
            tmp.unlink()
        for index, group in enumerate(self.groups):
            meta = self._part_meta(index)
            if meta is None or [f[0] for f in meta["files"]] != [s.name for s in group]:
                self._todo.append(index)
                continue
            for name, size, mtime_ns in meta["files"]:
                self.done[name] = (size, mtime_ns)
            for name, reason in meta["failures"]:
                self.resumed_failures.append((name, reason))
            self.resumed_files += len(meta["files"]) - len(meta["failures"])
            self.resumed_articles += meta["articles"]
            self.resumed_untagged += meta["untagged"]
            self.resumed_topics.update(meta["topics"])

    def _part_meta(self, index: int) -> dict | None:
        """Return the ``newstag`` metadata of part ``index``, None when the part is
        missing or unreadable (it is written again)."""
        try:
            metadata = self._pq.read_schema(self.part_path(index)).metadata or {}
            return json.loads(metadata[b"newstag"])
        except (OSError, KeyError, ValueError, self._pa.ArrowException):
            return None

    # -- writing ----------------------------------------------------------
    def append(self, result: FileResult) -> None:
        """Take one file's result (files come in group order); write the group's part
        when it is the group's last file."""
        index = self._todo[0]
        group = self.groups[index]
        expected = group[len(self._results)].name
        if result.name != expected:
            raise RuntimeError(f"{result.name} came where part {index} expects {expected}")
        self._results.append(result)
        if len(self._results) == len(group):
            self._write_part(index, self._results)
            self._todo.popleft()
            self._results = []

    def _write_part(self, index: int, results: list) -> None:
        """Write part ``index`` from its files' ``results``, atomically."""
        records = [json.loads(line) for r in results if not r.error for line in r.data.splitlines()]
        topics = Counter()
        for r in results:
            topics.update(r.topics)
        meta = {
            "part": index,
            # failed files are listed too (size and mtime None), so that the part's
            # files are its group's; they are reported again when a run resumes
            "files": [[r.name, None, None] if r.error else [r.name, r.size, r.mtime_ns] for r in results],
            "failures": [[r.name, r.error] for r in results if r.error],
            "articles": sum(r.articles for r in results),
            "untagged": sum(r.untagged for r in results),
            "topics": dict(topics),
        }
        schema = self._schema.with_metadata({"newstag": json.dumps(meta, ensure_ascii=False)})
        table = self._pa.Table.from_pylist(records, schema=schema)
        path = self.part_path(index)
        tmp = path.with_name("." + path.name + ".tmp")
        with open(tmp, "wb") as fh:
            self._pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path)

    def finish(self) -> None:
        """Make the dataset final: rename ``DIR.part`` to ``DIR`` (replacing an old
        ``DIR`` with ``--restart``)."""
        if self._todo:
            raise RuntimeError(f"{self.part}: {len(self._todo)} part(s) not written")
        if self.out.is_dir():
            old = self.out.with_name(f".{self.out.name}.old")
            shutil.rmtree(old, ignore_errors=True)  # left by a run stopped right here
            os.rename(self.out, old)
            shutil.rmtree(old)
        elif self.out.exists():
            self.out.unlink()
        os.rename(self.part, self.out)
        fsync_dir(self.out)

    def close(self) -> None:
        """Nothing to flush: parts are written whole; the files of a group not yet
        written are tagged again when the run resumes."""


# ---------------------------------------------------------------------------
# Progress and summary


class Progress:
    """A one-line progress display on a terminal: files (of the total, once counted),
    articles, MB/s.  Disabled (every method a no-op) when ``enabled`` is false."""

    def __init__(self, stream, enabled: bool, total_files: int | None = None):
        self.stream = stream
        self.enabled = enabled
        self.total_files = total_files
        self.files = self.articles = self.bytes = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._shown = False

    def count_in_background(self, paths) -> None:
        """Count the files of ``paths`` in a background thread; the bar shows the
        total once it is known (a large archive takes a while to walk)."""
        if not self.enabled:
            return

        def count():
            self.total_files = count_files(paths)[0]

        threading.Thread(target=count, daemon=True).start()

    def update(self, result: FileResult) -> None:
        """Count one more file and redraw (at most ten times a second)."""
        self.files += 1
        self.articles += result.articles
        self.bytes += result.size
        now = time.monotonic()
        if self.enabled and (now - self._last >= 0.1 or self.files == self.total_files):
            self._last = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        """Return the progress line's text."""
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        speed = f"{self.articles} articles  {self.bytes / 1e6 / elapsed:.2f} MB/s"
        if not self.total_files:
            return f"{self.files} files  {speed}"
        width = 24
        done = int(min(self.files / self.total_files, 1.0) * width)
        return f"[{'#' * done}{'-' * (width - done)}] {self.files}/{self.total_files} files  {speed}"

    def _draw(self, now: float) -> None:
        self.stream.write("\r\x1b[K" + self.line(now))
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the bar (before a message is printed, and at the end)."""
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


@dataclass
class Summary:
    """Totals of a run, for the closing summary."""

    display: dict  # topic -> display name
    files: int = 0
    articles: int = 0
    bytes: int = 0
    topics: Counter = field(default_factory=Counter)
    untagged: int = 0
    failures: list = field(default_factory=list)  # (name, reason)
    resumed_files: int = 0
    started: float = field(default_factory=time.monotonic)

    def add(self, result: FileResult) -> None:
        """Count one file's result."""
        if result.error:
            self.failures.append((result.name, result.error))
            return
        self.files += 1
        self.articles += result.articles
        self.untagged += result.untagged
        self.bytes += result.size
        self.topics.update(result.topics)

    def add_resumed(self, output) -> None:
        """Count what an interrupted earlier run already wrote to ``output``."""
        self.resumed_files = output.resumed_files
        self.files += output.resumed_files
        self.articles += output.resumed_articles
        self.untagged += output.resumed_untagged
        self.topics.update(output.resumed_topics)
        self.failures.extend(output.resumed_failures)

    def text(self, interrupted: bool = False) -> str:
        """Return the closing summary (several lines)."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        done = self.files - self.resumed_files
        head = f"{self.files} file(s) tagged"
        if self.resumed_files:
            head += f" ({self.resumed_files} by the interrupted run, {done} now)"
        head += f", {len(self.failures)} failed; {self.articles} article(s)"
        lines = [
            ("interrupted: " if interrupted else "done: ") + head,
            f"read {self.bytes / 1e6:.1f} MB in {elapsed:.1f} s ({self.bytes / 1e6 / elapsed:.2f} MB/s)",
            "articles per topic: "
            + ", ".join(f"{self.display.get(t, t)} ({t}) {self.topics.get(t, 0)}" for t in self.display)
            + f", no topic {self.untagged}",
        ]
        if self.failures:
            lines.append(f"failed files ({len(self.failures)}):")
            lines += [f"  {name}: {reason}" for name, reason in self.failures]
        return "\n".join(lines)


def default_workers() -> int:
    """Return the default number of worker processes: the machine's cores."""
    return os.cpu_count() or 1


def stderr_is_tty(stream=None) -> bool:
    """Whether standard error (or ``stream``) is a terminal."""
    stream = stream or sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
