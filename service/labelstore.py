"""labels.csv as the labelling page uses it: what is labelled already (re-read only when
the file changed), and taking back a row the page added (undo).

Appending is ``newstag.training.labels.append_rows``; removal here works the same way:
under the same exclusive lock on ``labels.csv.lock`` (``_FileLock``), the whole file is
rewritten to a temporary file, fsync'ed and renamed over labels.csv (``write_atomically``), so
an append and a removal, in any threads or processes, never lose or interleave a row
and a reader never sees half a file.
"""
from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

from newstag.model.normalize import normalize
from newstag.model.atomic import write_atomically
from newstag.training.labels import REQUIRED_COLUMNS, _decode, _FileLock

from .holder import file_identity

__all__ = ["LabelledIndex", "remove_row"]


def remove_row(path, text: str, labelled_by: str) -> dict | None:
    """Remove from labels.csv at ``path`` the row holding paragraph ``text`` (compared
    normalised, as ``append_rows`` does) that ``labelled_by`` added; return that row as
    a dict, or None when there is none (nothing is written then).

    Only a row whose ``labelled_by`` is exactly the given (non-empty) name is removed:
    rows labelled by someone else, or written by hand without provenance, stay.  The
    other rows are written back as ``append_rows`` writes them (same header, same
    quoting, LF line ends)."""
    path = Path(path)
    if not labelled_by or not path.is_file():
        return None
    key = normalize(text)
    with _FileLock(path):
        data = path.read_bytes()
        reader = csv.DictReader(io.StringIO(_decode(path, data), newline=""))
        header = list(reader.fieldnames or REQUIRED_COLUMNS)
        if "labelled_by" not in header:
            return None
        rows = list(reader)
        found = None
        for i in range(len(rows) - 1, -1, -1):  # the newest such row
            row = rows[i]
            # the name first: only this editor's rows are normalised
            if (row.get("labelled_by") or "") == labelled_by and normalize(row.get("text") or "") == key:
                found = i
                break
        if found is None:
            return None
        removed = rows.pop(found)
        out = io.StringIO(newline="")
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows({c: r.get(c, "") or "" for c in header} for r in rows)
        write_atomically(path, out.getvalue().encode("utf-8"))
    return {c: removed.get(c, "") or "" for c in header}


class LabelledIndex:
    """What ``newstag.training.labels.labelled_keys`` returns for one labels.csv, read
    again only when the file changed, each paragraph normalised once per process.

    Every write (``append_rows``, ``remove_row``) renames a new file into place, so the
    file's identity (device, inode, size, modification time) changes with each one;
    while it stays the same, the keys read last are still right.  Normalising is most of
    the cost of reading (OpenCC), and between two reads only a row or two change, so the
    normalised form of each text seen is kept."""

    def __init__(self, path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._identity = object()  # never equal to a real identity
        self._keys: dict = {}
        self._normal: dict = {}  # text -> normalize(text)

    def keys(self) -> dict:
        """Return ``{normalised text: labels field}`` of labels.csv as it is now (empty
        when there is no such file)."""
        with self._lock:
            identity = file_identity(self.path)
            if identity != self._identity:
                self._keys = self._read()
                self._identity = identity
            return self._keys

    def _read(self) -> dict:
        # as labelled_keys, with the normalised texts remembered
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        reader = csv.DictReader(io.StringIO(_decode(self.path, data), newline=""))
        out, normal = {}, self._normal
        for row in reader:
            text = row.get("text") or ""
            if not text.strip():
                continue
            key = normal.get(text)
            if key is None:
                key = normal[text] = normalize(text)
            out[key] = row.get("labels") or ""
        return out

    def invalidate(self) -> None:
        """Forget the keys read last (after this process wrote the file: two writes in
        one clock tick could otherwise leave the same identity)."""
        with self._lock:
            self._identity = object()
