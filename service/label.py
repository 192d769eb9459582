"""``GET /label``: label suggested paragraphs in the browser, one at a time, each answer
appended to labels.csv at once.  Only there when the service runs with labelling on
(``newstag serve --labelling``; config ``NEWSTAG_LABELLING``): otherwise neither the
page nor its API exists (404).

The queue
    is made once, when the app is made (in the gunicorn master, before the workers
    fork, so every worker has the same queue, the same item ids and one claims table): the rows of a
    ``newstag suggest`` CSV (``NEWSTAG_LABEL_QUEUE`` is a ``.csv`` file), or of
    ``newstag.training.suggest.suggest`` run on an archive folder or page file.  Rows
    whose paragraph is already in labels.csv, and repeats, are dropped; an item's id is
    its place in what is left.

labels.csv is the only shared state
    Every answer goes through ``append_rows`` (file lock, atomic rename, a paragraph
    already there is not written again: 409).  Each ``next`` looks at labels.csv again
    (re-read only when it changed), so a paragraph another editor labelled meanwhile is
    not offered.  Undo removes the row this editor wrote (``labelstore.remove_row``,
    under the same lock).  What one editor's session did (its answers, its skips) is
    kept by the page and sent along (``skip``); the server keeps nothing per session.

Claims
    ``next`` gives an item to one editor (by name) for ``CLAIM_SECONDS``; meanwhile the
    others get the following items, so two editors do not work on one paragraph.  The
    table of claims is memory shared by all gunicorn workers (``Claims``).  Should two
    editors still answer one paragraph (one name in two tabs, a claim run out), the
    second answer gets 409 and the page moves on.

The token
    Every ``/label/api/...`` call must send ``Authorization: Bearer <token>``; the page
    itself (``GET /label``) holds no data and needs none.  No token: 401; a wrong one:
    403 (compared with ``hmac.compare_digest``), and nothing is read or written.  The
    token is never logged and never part of a URL.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import hmac
import logging
import string
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template, request

from newstag.model.normalize import normalize
from newstag.training.labels import LabelsError, append_rows, read_topics, topics_path_for
from newstag.training.suggest import read_suggestions, suggest

from .api import MISSING, check_fields, check_text, json_type, read_body
from .config import ConfigError
from .errors import ApiError, error_response, request_id
from .labelstore import LabelledIndex, remove_row
from .pages import CONTENT_SECURITY_POLICY

bp = Blueprint("label", __name__)
log = logging.getLogger("newstag.service")

#: Keys of the page that are not topic letters: S skips, U undoes.
RESERVED_LETTERS = frozenset("su")
#: Seconds an item handed out by ``next`` stays with that editor.
CLAIM_SECONDS = 600
MAX_NAME = 64
EXTENSION = "newstag_label"


# -- the topics and their keys ----------------------------------------------------------

def topic_keys(names) -> list:
    """Return ``[{"digit", "letter"}]`` for the topic machine names ``names`` in order:
    digits 1-9 for the first nine, and for each the first letter of its name not taken
    by an earlier topic nor by the page's own keys (S, U), else the first free letter
    of the alphabet ("" when none is left)."""
    used = set(RESERVED_LETTERS)
    out = []
    for i, name in enumerate(names):
        letter = next((c for c in name.lower() if c in string.ascii_lowercase and c not in used), None)
        if letter is None:
            letter = next((c for c in string.ascii_lowercase if c not in used), "")
        used.add(letter)
        out.append({"digit": str(i + 1) if i < 9 else "", "letter": letter})
    return out


def topics_for_page(topics) -> list:
    """Return ``[{"name", "display", "digit", "letter"}]`` of the ``Topic`` list ``topics``."""
    keys = topic_keys([t.name for t in topics])
    return [{"name": t.name, "display": t.display, **k} for t, k in zip(topics, keys)]


# -- the queue ---------------------------------------------------------------------------

@dataclass
class Item:
    """One paragraph to label, with what the page shows around it."""

    id: int
    text: str
    key: str
    guess: list
    scores: dict
    source: str
    article: str
    article_title: str
    before: str
    after: str
    reason: str

    def to_json(self) -> dict:
        return {"id": self.id, "text": self.text, "guess": self.guess, "scores": self.scores,
                "source": self.source, "article": self.article, "article_title": self.article_title,
                "before": self.before, "after": self.after, "reason": self.reason}


def _cell(row, name) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def parse_guess(value, names) -> list:
    """Return the declared topics of a guess (``"heating;inspection"`` or a list), in topic order."""
    parts = value if isinstance(value, (list, tuple)) else str(value or "").replace("；", ";").split(";")
    given = {str(p).strip() for p in parts}
    return [n for n in names if n in given]


def parse_scores(value) -> dict:
    """Return ``{topic: score}`` of ``"heating=0.42;people_congress=0.03"`` (or a dict);
    entries that are not ``name=number`` are left out."""
    if isinstance(value, dict):
        pairs = value.items()
    else:
        pairs = (part.partition("=")[::2] for part in str(value or "").split(";") if "=" in part)
    out = {}
    for name, score in pairs:
        try:
            out[str(name).strip()] = float(score)
        except (TypeError, ValueError):
            continue
    return out


def queue_rows(spec, model, n: int, labels_path: Path) -> list:
    """Return the suggestion rows ``spec`` names: a ``.csv`` file is a ``newstag suggest``
    output; a folder or another file is an archive, suggested from with ``model``."""
    path = Path(spec)
    if not path.exists():
        raise ConfigError(f"label queue {path}: no such file or folder")
    if path.is_file() and path.suffix.lower() == ".csv":
        try:
            return read_suggestions(path)
        except LabelsError as exc:
            raise ConfigError(f"label queue {exc}") from None
    try:
        result = suggest(model, [path], n=n, labels_path=labels_path)
    except (OSError, ValueError, LabelsError) as exc:
        raise ConfigError(f"label queue {path}: suggesting paragraphs failed: {exc}") from None
    for name, reason in getattr(result, "failures", None) or ():
        log.warning("label queue: %s left out: %s", name, reason)
    return list(result.rows)


class Claims:
    """Which editor holds which item until when, in memory shared by every process
    forked after it is made: an anonymous shared mapping (``mmap``) of one expiry time
    (``time.monotonic``, the same clock in every process) and one name hash per item,
    guarded by a ``multiprocessing`` lock.  ``create_app`` makes it in the gunicorn
    master, so all workers see one table; threads of one process share it too.

    A process killed while holding the lock would leave it taken: after
    ``LOCK_TIMEOUT`` seconds the others go on without it (the worst that can happen
    then is two editors on one paragraph, which labels.csv settles)."""

    LOCK_TIMEOUT = 2.0

    def __init__(self, n: int):
        import mmap
        import multiprocessing

        size = max(1, n)
        self._map = mmap.mmap(-1, 16 * size)  # MAP_SHARED | MAP_ANONYMOUS: survives fork, shared
        view = memoryview(self._map)
        self._until = view[: 8 * size].cast("d")
        self._who = view[8 * size:].cast("q")
        self._lock = multiprocessing.get_context("fork").Lock()

    @staticmethod
    def who(name: str) -> int:
        """Return the (64-bit, signed) hash standing for ``name`` in the table."""
        digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "little", signed=True)

    @contextlib.contextmanager
    def locked(self):
        """Hold the lock (or, after ``LOCK_TIMEOUT``, go on without it) and yield self."""
        got = self._lock.acquire(timeout=self.LOCK_TIMEOUT)
        if not got:
            log.warning("label claims: lock not free after %.0f s; going on without it", self.LOCK_TIMEOUT)
        try:
            yield self
        finally:
            if got:
                self._lock.release()

    # the following are called inside ``with claims.locked():``
    def held_by_other(self, i: int, who: int, now: float) -> bool:
        return self._until[i] > now and self._who[i] != who

    def hold(self, i: int, who: int, now: float) -> None:
        self.release(who)
        self._who[i] = who
        self._until[i] = now + CLAIM_SECONDS

    def release(self, who: int, i: int | None = None) -> None:
        for j in range(len(self._until)) if i is None else (i,):
            if self._who[j] == who:
                self._until[j] = 0.0


class LabelQueue:
    """The items to label, labels.csv, and who holds which item (see the module docstring)."""

    def __init__(self, rows, labels_path, topics, origin: str = ""):
        self.labels_path = Path(labels_path)
        self.topics = list(topics)
        self.names = [t.name for t in self.topics]
        self.origin = origin
        self.index = LabelledIndex(self.labels_path)
        done = self.index.keys()
        self.items: list = []
        self.dropped = 0
        seen = set()
        for row in rows:
            text = _cell(row, "text")
            key = normalize(text) if text else ""
            if not key or key in seen or key in done:
                self.dropped += 1
                continue
            seen.add(key)
            self.items.append(Item(
                id=len(self.items), text=text, key=key,
                guess=parse_guess(row.get("guess"), self.names), scores=parse_scores(row.get("scores")),
                source=_cell(row, "source"), article=_cell(row, "article"),
                article_title=_cell(row, "article_title"), before=_cell(row, "before"),
                after=_cell(row, "after"), reason=_cell(row, "reason"),
            ))
        self.claims = Claims(len(self.items))

    def item(self, item_id: int) -> Item:
        if not 0 <= item_id < len(self.items):
            raise ApiError(404, f"no paragraph {item_id} in the queue (ids 0-{len(self.items) - 1})")
        return self.items[item_id]

    def next_for(self, name: str, skip: set):
        """Return ``(item or None, progress)``: the first item in queue order that is
        not in labels.csv, not in ``skip`` and not held by another editor; it is then
        held for ``name`` (and whatever ``name`` held before is let go)."""
        done = self.index.keys()
        who = Claims.who(name)
        with self.claims.locked() as claims:
            now = time.monotonic()
            chosen = next((item for item in self.items if item.key not in done and item.id not in skip
                           and not claims.held_by_other(item.id, who, now)), None)
            if chosen is None:
                claims.release(who)
            else:
                claims.hold(chosen.id, who, now)
            return chosen, self._progress(done, skip, who, now)

    def hold(self, name: str, item: Item) -> None:
        """Hold ``item`` for ``name`` (after an undo brings it back to that editor)."""
        with self.claims.locked() as claims:
            claims.hold(item.id, Claims.who(name), time.monotonic())

    def release(self, name: str, item_id: int | None = None) -> None:
        """Let go what ``name`` holds (only ``item_id``, when given)."""
        with self.claims.locked() as claims:
            claims.release(Claims.who(name), item_id)

    def progress(self, skip=frozenset(), name: str | None = None) -> dict:
        """Return ``{"queue", "labelled", "remaining", "held_by_others"}`` as ``name``
        (who skipped ``skip``) sees it now."""
        done = self.index.keys()
        with self.claims.locked():
            return self._progress(done, skip, Claims.who(name or ""), time.monotonic())

    def _progress(self, done, skip, who, now) -> dict:
        labelled = remaining = held = 0
        for item in self.items:
            if item.key in done:
                labelled += 1
            elif item.id not in skip:
                remaining += 1
                held += self.claims.held_by_other(item.id, who, now)
        return {"queue": len(self.items), "labelled": labelled, "remaining": remaining, "held_by_others": held}


def init_app(app, model) -> LabelQueue:
    """Make the queue from the app's config, keep it in ``app.extensions`` and register
    the blueprint; ``ConfigError`` naming the file when labels.csv, topics.csv or the
    queue is not usable.  Called by ``create_app`` only when labelling is on."""
    config = app.config
    labels_path = Path(config["NEWSTAG_LABELS"]).absolute()
    if not labels_path.parent.is_dir():
        raise ConfigError(f"labels file {labels_path}: its folder does not exist")
    try:
        topics = read_topics(topics_path_for(labels_path))
    except LabelsError as exc:
        raise ConfigError(f"labelling: {exc}") from None
    rows = queue_rows(config["NEWSTAG_LABEL_QUEUE"], model, config["NEWSTAG_LABEL_QUEUE_SIZE"], labels_path)
    try:
        queue = LabelQueue(rows, labels_path, topics, origin=Path(config["NEWSTAG_LABEL_QUEUE"]).name)
    except LabelsError as exc:  # labels.csv does not decode
        raise ConfigError(f"labelling: {exc}") from None
    app.extensions[EXTENSION] = queue
    app.register_blueprint(bp)
    app.logger.info("labelling on: %d paragraph(s) to label from %s (%d already labelled or repeated), answers go "
                    "to %s", len(queue.items), queue.origin, queue.dropped, labels_path)
    return queue


# -- requests --------------------------------------------------------------------------------

def queue() -> LabelQueue:
    return current_app.extensions[EXTENSION]


@bp.before_request
def _require_token():
    """Every API call carries the token (the page itself holds no data)."""
    if not request.path.startswith("/label/api/"):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.strip().partition(" ")
    challenge = [("WWW-Authenticate", 'Bearer realm="newstag labelling"')]
    if scheme.lower() != "bearer" or not given.strip():
        return error_response(401, "this call needs the labelling token: send the header "
                                   "'Authorization: Bearer <token>' (the token the service was started with)",
                              challenge)
    expected = current_app.config["NEWSTAG_LABELLING_TOKEN"]
    if not hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8")):
        current_app.logger.warning("label api: wrong token from %s (request %s)", request.remote_addr, request_id())
        return error_response(403, "wrong labelling token", challenge)
    return None


def _body(allowed: tuple) -> dict:
    kind, body = read_body()
    if kind != "json":
        raise ApiError(415, "send a JSON object (Content-Type: application/json)")
    check_fields(body, allowed)
    return body


def _name(body) -> str:
    name = check_text(body.get("name", MISSING), "name").strip()
    if len(name) > MAX_NAME:
        raise ApiError(422, f"name is longer than {MAX_NAME} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise ApiError(422, "name must be one line of printable characters")
    return name


def _item(body) -> Item:
    value = body.get("id", MISSING)
    if value is MISSING:
        raise ApiError(422, "id is missing")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(422, f"id must be an integer, got {json_type(value)}")
    return queue().item(value)


def _skip(body) -> set:
    value = body.get("skip", [])
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ApiError(422, "skip must be a list of item ids (integers)")
    return set(value)


def _labels(body) -> list:
    value = body.get("labels", MISSING)
    names = queue().names
    if value is MISSING:
        raise ApiError(422, "labels is missing: a list of topic names, [] for none")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(422, f"labels must be a list of topic names, got {json_type(value)}")
    unknown = [v for v in value if v not in names]
    if unknown:
        raise ApiError(422, f"unknown topic(s) {', '.join(map(repr, unknown))}; declared: {', '.join(names)}")
    if len(set(value)) != len(value):
        raise ApiError(422, "labels names a topic twice")
    return [n for n in names if n in value]



def _row_json(row: dict) -> dict:
    labels = [p for p in (row.get("labels") or "").split(";") if p]
    return {"text": row.get("text", ""), "labels": labels, "source": row.get("source", ""),
            "article": row.get("article", ""), "labelled_by": row.get("labelled_by", ""),
            "labelled_on": row.get("labelled_on", "")}


@bp.get("/label")
def page():
    """Return the labelling page (the topics in it; everything else comes from the API)."""
    q = queue()
    html = render_template("label.html", topics=topics_for_page(q.topics), labels_file=q.labels_path.name,
                           queue_size=len(q.items), origin=q.origin)
    return html, 200, {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store"}


@bp.get("/label/api/state")
def state():
    """Return the topics with their keys, where answers go, and the progress."""
    q = queue()
    return jsonify(topics=topics_for_page(q.topics), labels_file=q.labels_path.name, origin=q.origin,
                   progress=q.progress())


@bp.post("/label/api/next")
def next_item():
    """``{"name", "skip"?}`` -> ``{"item" (null when none is left for this editor), "progress"}``."""
    body = _body(("name", "skip"))
    name, skip = _name(body), _skip(body)
    item, progress = queue().next_for(name, skip)
    return jsonify(item=item.to_json() if item else None, progress=progress)


@bp.post("/label/api/answer")
def answer():
    """``{"id", "labels", "name", "skip"?}``: append the item with these labels to
    labels.csv, with its provenance; -> ``{"row", "progress"}``.  409 when the
    paragraph is in labels.csv already."""
    body = _body(("id", "labels", "name", "skip"))
    name, item, labels, skip = _name(body), _item(body), _labels(body), _skip(body)
    q = queue()
    row = {"text": item.text, "labels": ";".join(labels), "source": item.source, "article": item.article,
           "labelled_by": name, "labelled_on": _dt.date.today().isoformat()}
    try:
        result = append_rows(q.labels_path, [row])
    except LabelsError as exc:  # topics.csv changed under the service
        raise ApiError(422, f"labels.csv refused the row: {exc}") from None
    finally:
        q.index.invalidate()
    q.release(name, item.id)
    if not result.added:
        raise ApiError(409, "this paragraph is in labels.csv already (someone labelled it meanwhile); "
                            "nothing was written")
    current_app.logger.info("label: %s labelled item %d (%s) as %r", name, item.id, item.source, row["labels"])
    return jsonify(row=_row_json(row), progress=q.progress(skip, name))


@bp.post("/label/api/skip")
def skip():
    """``{"id", "name", "skip"?}``: let the item go without writing anything; the page
    adds it to the ``skip`` it sends.  -> ``{"id", "progress"}``."""
    body = _body(("id", "name", "skip"))
    name, item, skipped = _name(body), _item(body), _skip(body)
    q = queue()
    q.release(name, item.id)
    return jsonify(id=item.id, progress=q.progress(skipped | {item.id}, name))


@bp.post("/label/api/undo")
def undo():
    """``{"id", "name", "skip"?}``: remove the row of this item that ``name`` wrote from
    labels.csv; -> ``{"row" (the removed row), "item" (to label again), "progress"}``.
    409 when labels.csv has no such row (not labelled, or by someone else)."""
    body = _body(("id", "name", "skip"))
    name, item, skipped = _name(body), _item(body), _skip(body)
    q = queue()
    try:
        removed = remove_row(q.labels_path, item.text, name)
    finally:
        q.index.invalidate()
    if removed is None:
        raise ApiError(409, f"nothing to undo: labels.csv holds no row of paragraph {item.id} labelled by {name!r}")
    q.hold(name, item)
    current_app.logger.info("label: %s took back item %d (%s)", name, item.id, item.source)
    return jsonify(row=_row_json(removed), item=item.to_json(), progress=q.progress(skipped - {item.id}, name))
