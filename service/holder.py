"""The model a service process answers with, and switching to a new one without
refusing a request.

``ModelHolder`` keeps one loaded ``TopicModel`` read from the operator-given path (never
from request data: a model file is a pickle).  A request takes ``holder.model`` once and
uses that object to the end, so a request in flight finishes on the model it began with
while the holder already points at a newer one: the switch is the assignment of one
attribute.

The holder switches when

* ``reload_now()`` is called: on SIGHUP, ``newstag serve`` calls it in the gunicorn
  master before new workers are forked from it (old workers finish their requests and
  stop, gunicorn's own graceful rotation);
* its watcher thread sees the file's identity (inode, size, modification time) change:
  it looks every ``check_interval`` seconds (0 turns the watcher off).  The new model is
  loaded beside the old one in that thread and swapped in when ready.

A file that fails to load (half-copied, not a model) leaves the old model answering;
the error is logged and shown by ``status()`` until a later file loads.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import threading
import warnings
from pathlib import Path

from newstag.model.store import ModelFileError, load_model

#: A text that exercises normalisation, segmentation and every topic's scorer; tagging
#: it once after loading initialises jieba and OpenCC before the first request.
WARM_UP_TEXT = "供热管网改造完成\n换热站投用,人大代表视察,景区游客增长,巡察组进驻。"

log = logging.getLogger("newstag.service")


def file_identity(path: Path):
    """Return ``(device, inode, size, mtime_ns)`` of ``path``, or ``None`` when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class _Loaded:
    """One loaded model with where and when it came from (never changed once made)."""

    __slots__ = ("model", "identity", "loaded_at")

    def __init__(self, model, identity, loaded_at):
        self.model = model
        self.identity = identity
        self.loaded_at = loaded_at


class ModelHolder:
    """Holds the service's current model; see the module docstring."""

    def __init__(self, path, check_interval: float = 0.0, logger: logging.Logger | None = None):
        self.path = Path(path)
        self.check_interval = float(check_interval)
        self.log = logger or log
        self._current: _Loaded | None = None
        self._lock = threading.Lock()  # one load at a time
        self._failed_identity = None
        self.last_error: str | None = None
        self._watcher_pid: int | None = None
        self._stop = threading.Event()

    # -- loading -------------------------------------------------------------
    def _read(self) -> _Loaded:
        identity = file_identity(self.path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = load_model(self.path)
        for w in caught:
            self.log.warning("%s", w.message)
        model.tag_article(WARM_UP_TEXT)  # a model that cannot tag is not swapped in
        return _Loaded(model, identity, _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    def load(self):
        """Load the model file for the first time; return the model.

        Raises ``ModelFileError`` naming the file when it is missing or not a model."""
        with self._lock:
            self._current = self._read()
            self.last_error = None
        self.log.info("model %s loaded from %s", self.version, self.path)
        return self._current.model

    def reload_now(self) -> bool:
        """Load the model file again and switch to it; return True when switched.

        On failure the old model stays, the error is logged and kept in ``last_error``,
        and False is returned."""
        with self._lock:
            identity = file_identity(self.path)
            old = self.version
            try:
                loaded = self._read()
            except Exception as exc:  # ModelFileError, or a model that fails to tag
                self._failed_identity = identity
                self.last_error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ModelFileError) else str(exc)
                self.log.error("model reload from %s failed, still serving %s: %s", self.path, old, self.last_error)
                return False
            self._current = loaded
            self._failed_identity = None
            self.last_error = None
        self.log.info("model switched from %s to %s (pid %d)", old, self.version, os.getpid())
        return True

    def changed(self) -> bool:
        """Return True when the file on disk is neither the loaded one nor one that
        already failed to load."""
        identity = file_identity(self.path)
        current = self._current.identity if self._current else None
        return identity is not None and identity != current and identity != self._failed_identity

    def reload_if_changed(self) -> bool:
        """Reload when ``changed()``; return True when a new model was switched in."""
        return self.changed() and self.reload_now()

    # -- watching --------------------------------------------------------------
    def ensure_watcher(self) -> None:
        """Start this process's watcher thread if it is not running (threads do not
        survive ``fork``, so each worker starts its own).  No-op when the check
        interval is 0."""
        if self.check_interval <= 0 or self._watcher_pid == os.getpid():
            return
        with self._lock:
            if self._watcher_pid == os.getpid():
                return
            self._watcher_pid = os.getpid()
            self._stop = threading.Event()
            t = threading.Thread(target=self._watch, name="newstag-model-watcher", daemon=True)
            t.start()

    def _watch(self) -> None:
        stop = self._stop
        while not stop.wait(self.check_interval):
            try:
                self.reload_if_changed()
            except Exception:  # never let the watcher die
                self.log.exception("model watcher")

    def stop_watcher(self) -> None:
        """Stop this process's watcher thread (tests)."""
        self._stop.set()
        self._watcher_pid = None

    # -- reading -------------------------------------------------------------
    @property
    def model(self):
        """Return the current ``TopicModel``; take it once per request."""
        return self._current.model

    @property
    def version(self) -> str | None:
        """Return the current model's version string (its ``meta_["version"]``)."""
        if self._current is None:
            return None
        return (getattr(self._current.model, "meta_", None) or {}).get("version")

    def status(self) -> dict:
        """Return ``{"file", "loaded_at", "reload_error"}`` of the current model."""
        return {
            "file": self.path.name,
            "loaded_at": self._current.loaded_at if self._current else None,
            "reload_error": self.last_error,
        }

