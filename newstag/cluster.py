"""``newstag tag --scheduler ADDRESS``: the same work on a running Dask cluster.

Data flow::

    PATH arguments -> archive.find_files (on the client, sorted) -> archive.group_sources
    (groups of at most GROUP_FILES files / GROUP_BYTES bytes) -> one Dask task per group
    (tag_group: archive.tag_file on each file), at most WINDOW_PER_THREAD tasks per
    worker thread in flight -> results taken back in file order -> the outputs,
    progress bar and summary of the local path (newstag.tagcmd, newstag.archive)

* The model goes to each worker once.  ``ModelPlugin`` carries the model file's bytes
  (2 MB for the shipped model): registered with the scheduler, it is set up on every
  worker, and on every worker that joins later (a restarted one too), which loads the
  model with ``load_model`` and keeps it (``_MODELS``, by SHA-256) until it stops.
  Shipping the bytes rather than a path means the workers need no copy of the model
  file, and the model they use is the very file whose SHA-256 the resume journal holds.
  The client never loads the model (nor imports scikit-learn, which saves it about 2 s
  of start-up): ``model_info`` asks a worker for the topics and the load's warnings.
* A task runs ``archive.tag_file`` -- the page reader, splitter, classifier and
  serialiser of the local path -- on each file of its group and returns the
  ``FileResult``\\ s, so the bytes written are those of a local run.
* The workers read the pages themselves, at the absolute paths the client found them
  under: the archive must be on storage that every worker mounts at the same path
  (an archive of hundreds of GB is not sent through the scheduler).  Records carry
  the file names as the client found them, as locally.
* Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, with which glibc
  hands freed memory back to the OS at once and takes it again for the next article:
  tagging then costs about 30% more CPU (measured: 2.7 s instead of 2.1 s for the same
  200 pages).  Setting that variable also switches off glibc's *dynamic* mmap threshold,
  so every block over 128 kB is an mmap of its own, paid for in page faults.
  ``ModelPlugin`` therefore sets, in the worker (``_relax_malloc_trim``), the trim
  threshold to ``TRIM_THRESHOLD`` and the mmap threshold to ``MMAP_THRESHOLD`` (the
  ceiling glibc's dynamic threshold climbs to).  Measured on 700 pages: 1,044,585 minor
  page faults and 2.50 s of system time as the nanny leaves it; 227,045 and 0.82 s with
  the trim threshold alone; 84,920 and 0.42 s with both, as in a plain process (87,780
  and 0.51 s).
* A worker lost mid-run: the scheduler runs its tasks (and recomputes results it
  held) on the other workers.  A task whose workers die three times in a row is given
  up (Dask's ``allowed-failures``); the run then stops with an error (exit status 1),
  and the same command carries on from there.
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import hashlib
import os
import time
import uuid
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from distributed import Client, WorkerPlugin

from newstag import archive
from newstag.model.store import ModelFileError

CONNECT_TIMEOUT = 5.0  # seconds to reach the scheduler
WINDOW_PER_THREAD = 4  # tasks in flight per worker thread (finished ones wait to be written in order)
THREADS_REFRESH = 1.0  # seconds between two looks at the cluster's size
TRIM_THRESHOLD = 64 << 20  # bytes of free heap glibc may keep in a worker (see the docstring)
MMAP_THRESHOLD = 32 << 20  # blocks from this size up get an mmap of their own (glibc's dynamic maximum)
M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters
M_MMAP_THRESHOLD = -3

_MODELS: dict = {}  # in a worker process: model SHA-256 -> the loaded model
_WARNINGS: dict = {}  # in a worker process: model SHA-256 -> what loading it warned of


class ClusterError(Exception):
    """The cluster cannot be reached or used; the message says why."""


def connect(address: str, timeout: float | None = None) -> Client:
    """Return a client connected to the Dask scheduler at ``address``; raises
    ``ClusterError`` naming the address when it does not answer within ``timeout``
    seconds (default ``CONNECT_TIMEOUT``), or the address is not one."""
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except Exception as exc:  # OSError on a timeout, ValueError on a malformed address, ...
        raise ClusterError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s: {exc}") from None


def describe(client: Client) -> str:
    """Return a line about the cluster: scheduler address, workers and threads, and
    the dashboard's address."""
    nthreads = client.nthreads()
    services = client.scheduler_info().get("services") or {}
    dashboard = client.dashboard_link if "dashboard" in services else "none (the scheduler runs without one)"
    line = (f"cluster: {client.scheduler.address}, {len(nthreads)} worker(s), "
            f"{sum(nthreads.values())} thread(s); dashboard: {dashboard}")
    if not nthreads:
        line += "\nno worker has joined yet: the work waits for one"
    return line


def _relax_malloc_trim() -> bool:
    """When the environment (Dask's nanny) set glibc's malloc trim threshold below
    ``TRIM_THRESHOLD``, raise it to that, and the mmap threshold to ``MMAP_THRESHOLD``;
    return whether both were set (False where there is no glibc ``mallopt``)."""
    value = os.environ.get("MALLOC_TRIM_THRESHOLD_", "")
    if not value.isdigit() or int(value) >= TRIM_THRESHOLD:
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError):
        return False
    trimmed = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and trimmed


class ModelPlugin(WorkerPlugin):
    """Loads a newstag model on each worker, once: the model file's ``data`` travel
    with the plugin; ``setup`` writes them to the worker's local folder and loads them."""

    idempotent = True  # registered again (the next run): the scheduler keeps the first

    def __init__(self, data: bytes, sha256: str, source: str = "the model"):
        self.data = data
        self.sha256 = sha256
        self.source = source  # the file's name on the client, for messages

    async def setup(self, worker) -> None:
        """Load the model into ``_MODELS`` unless this worker has it, and warm up the
        segmenter (in a thread: the worker keeps answering meanwhile); relax Dask's
        malloc trimming."""
        _relax_malloc_trim()
        if self.sha256 not in _MODELS:
            path = Path(worker.local_directory) / f"newstag-{self.sha256[:16]}.joblib"
            await asyncio.to_thread(self._load, path)

    def _load(self, path: Path) -> None:
        from newstag.model.segment import get_tokenizer
        from newstag.model.store import ModelFileError, ModelVersionWarning, load_model

        path.write_bytes(self.data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ModelVersionWarning)
            try:
                _MODELS[self.sha256] = load_model(path)
            except ModelFileError as exc:  # named as the client knows the file
                raise ModelFileError(str(exc).replace(str(path), self.source)) from None
        _WARNINGS[self.sha256] = [str(w.message) for w in caught if issubclass(w.category, ModelVersionWarning)]
        get_tokenizer()


def send_model(client: Client, model_file) -> str:
    """Send the model at ``model_file`` to every worker (``ModelPlugin``) and return its
    SHA-256, the key ``tag_group`` finds it by.  Raises ``ClusterError`` when a worker
    cannot load it."""
    data = Path(model_file).read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    name = f"newstag-model-{sha256[:16]}"
    try:
        client.register_plugin(ModelPlugin(data, sha256, str(model_file)), name=name)
    except Exception as exc:
        try:  # or every worker joining later would try it again
            client.unregister_worker_plugin(name)
        except Exception:
            pass
        if isinstance(exc, ModelFileError):  # the file is not a newstag model
            raise ClusterError(str(exc)) from None
        raise ClusterError(
            f"a worker could not load the model {model_file}: {type(exc).__name__}: {exc} "
            "(every worker needs this version of newstag: pip install 'newstag[cluster]')"
        ) from None
    return sha256


@dataclass(frozen=True)
class ModelInfo:
    """What the client needs to know of the model the workers tag with: its topics, their
    display names, and the warnings loading it gave (saved under other library versions)."""

    topics: list
    display_names: dict
    warnings: list


def _worker_model(model_key: str):
    """Return this worker's model ``model_key``; raises ``RuntimeError`` when its set-up
    failed (runs on a worker)."""
    model = _MODELS.get(model_key)
    if model is None:
        raise RuntimeError(f"this worker has no newstag model {model_key[:16]}: "
                           "its set-up failed (see the worker's log)")
    return model


def _describe_model(model_key: str) -> ModelInfo:
    """Return the ``ModelInfo`` of this worker's model ``model_key`` (runs on a worker)."""
    model = _worker_model(model_key)
    return ModelInfo(list(model.topics), dict(getattr(model, "display_names", None) or {}),
                     list(_WARNINGS.get(model_key, [])))


def model_info(client: Client, model_key: str) -> ModelInfo:
    """Return the ``ModelInfo`` of the model sent as ``model_key``, asked of a worker: the
    client itself never loads the model (nor imports scikit-learn).  Waits for a worker
    when none has joined; raises ``ClusterError`` when the question fails."""
    future = client.submit(_describe_model, model_key, pure=False, key=f"newstag-model-info-{uuid.uuid4().hex[:8]}")
    return _result(future)


def tag_group(sources: list, model_key: str, format_name: str) -> list:
    """Return the ``FileResult`` of each of ``sources``, tagged by this worker's model
    ``model_key`` and serialised in ``format_name`` (runs on a worker)."""
    model = _worker_model(model_key)
    fmt = archive.make_format(format_name, model.topics)
    return [archive.tag_file(src, model, fmt) for src in sources]


def _absolute(src: archive.Source) -> archive.Source:
    """Return ``src`` to be read at its absolute path (workers have other working folders)."""
    return archive.Source(src.name, os.path.abspath(src.path), src.error)


class _Window:
    """How many tasks may be in flight: ``WINDOW_PER_THREAD`` per worker thread of the
    cluster (looked up at most every ``THREADS_REFRESH`` seconds, as workers come and go)."""

    def __init__(self, client: Client):
        self.client = client
        self.size = WINDOW_PER_THREAD
        self._checked = -THREADS_REFRESH

    def full(self, in_flight: int) -> bool:
        """Whether ``in_flight`` tasks fill the window."""
        now = time.monotonic()
        if now - self._checked >= THREADS_REFRESH:
            self._checked = now
            self.size = WINDOW_PER_THREAD * max(sum(self.client.nthreads().values()), 1)
        return in_flight >= self.size


def _result(future) -> list:
    """Return a task's results; raises ``ClusterError`` when it failed for good."""
    try:
        return future.result()
    except Exception as exc:  # KilledWorker, a cancelled future (scheduler gone), a bug
        raise ClusterError(f"task {future.key} failed: {type(exc).__name__}: {exc}") from None


def tag_in_order(client: Client, sources: Iterable[archive.Source], model_key: str,
                 format_name: str) -> Iterator[archive.FileResult]:
    """Yield the ``FileResult`` of each source, in the order of ``sources``, tagged on
    the cluster: one task per group of files (``archive.group_sources``), a window of
    tasks in flight (``_Window``).  Raises ``ClusterError`` when a task fails for good;
    on any exit, tasks still in flight are cancelled."""
    run = uuid.uuid4().hex[:8]
    window = _Window(client)
    in_flight: deque = deque()
    try:
        for i, group in enumerate(archive.group_sources(map(_absolute, sources))):
            in_flight.append(client.submit(tag_group, group, model_key, format_name, key=f"newstag-tag-{run}-{i}"))
            while window.full(len(in_flight)):
                yield from _result(in_flight.popleft())
        while in_flight:
            yield from _result(in_flight.popleft())
    finally:
        if in_flight:
            client.cancel(list(in_flight))
