"""The JSON endpoints: ``POST /classify``, ``POST /tag``, ``GET /health``, ``GET /labels``,
``GET /model``.

Bodies are read here, checked, and turned into ``ApiError`` (400/415/422) naming what is
wrong; the model is taken from the app's ``ModelHolder`` once per request, so a request
finishes on the model it began with even when a new one is switched in meanwhile.
"""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from newstag.model.tagging import tag_page

from .errors import ApiError
from .holder import WARM_UP_TEXT

bp = Blueprint("api", __name__)

JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def holder():
    """Return the app's ``ModelHolder``."""
    return current_app.extensions["newstag"]


def model_version(model) -> str | None:
    """Return the version string of ``model`` (from its saved metadata)."""
    return (getattr(model, "meta_", None) or {}).get("version")


def json_type(value) -> str:
    """Return the JSON name of ``value``'s type ("object", "array", "null", ...)."""
    if value is None:
        return "null"
    return JSON_TYPES.get(type(value), type(value).__name__)


# -- reading bodies ----------------------------------------------------------------

def read_body():
    """Return ``("text", str)`` for a text/plain body or ``("json", dict)`` for a JSON one.

    Raises ``ApiError``: 415 for another content type or charset, 400 for a body that
    is not UTF-8, not JSON, or not a JSON object.  (413 for a body over the size limit
    comes from Werkzeug while the body is read.)"""
    mimetype = request.mimetype
    if mimetype not in ("application/json", "text/plain"):
        given = request.content_type or "none"
        raise ApiError(415, f"unsupported content type {given!r}: send application/json or text/plain; charset=utf-8")
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.strip().lower() not in ("utf-8", "utf8"):
        raise ApiError(415, f"unsupported charset {charset!r}: send the body as UTF-8")
    data = request.get_data(cache=False)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and len(data) >= limit and request.environ["wsgi.input"].read(1):
        # a body without Content-Length (chunked) is cut at the limit by Werkzeug: more is too large
        raise RequestEntityTooLarge()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, f"request body is not valid UTF-8: {exc.reason} (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if mimetype == "text/plain":
        return "text", text
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ApiError(400, "request body is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ApiError(400, f"request body is not usable JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ApiError(400, f"request body must be a JSON object, got {json_type(obj)}")
    return "json", obj


MISSING = object()


def check_text(value, name: str) -> str:
    """Return ``value`` when it is a non-blank string of valid UTF-8; raise ``ApiError``
    (422 missing/empty/not a string, 400 unpaired surrogate) naming ``name`` otherwise.
    Pass ``MISSING`` for a field the body does not have."""
    if value is MISSING:
        raise ApiError(422, f"{name} is missing")
    if not isinstance(value, str):
        raise ApiError(422, f"{name} must be a string, got {json_type(value)}")
    if not value.strip():
        raise ApiError(422, f"{name} is empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(
            400, f"{name} is not valid UTF-8: unpaired surrogate \\u{ord(value[exc.start]):04x} at character {exc.start}"
        ) from None
    return value


def check_fields(obj: dict, allowed: tuple) -> None:
    """Raise ``ApiError`` 422 naming the fields of ``obj`` not in ``allowed``."""
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise ApiError(422, f"unknown field(s) {names}; expected {' or '.join(allowed)}")


def flag(value, name: str) -> bool:
    """Return a boolean option given as JSON ``true``/``false`` or a query string
    (``1/0``, ``true/false``, ``yes/no``); raise ``ApiError`` 422 otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ApiError(422, f"{name} must be true or false, got {value!r}")


# -- endpoints -------------------------------------------------------------------------

@bp.post("/classify")
def classify():
    """Tag one article (``{"text"}`` or a text/plain body) or several (``{"texts"}``).

    Returns ``{"labels", "scores", "evidence", "model"}``, or ``{"results": [...], "model"}``
    with one such dict per text in order."""
    kind, body = read_body()
    if kind == "text":
        texts, single = [check_text(body, "text (the request body)")], True
    else:
        check_fields(body, ("text", "texts"))
        if "text" in body and "texts" in body:
            raise ApiError(422, "give either text or texts, not both")
        if "texts" in body:
            texts, single = _check_texts(body["texts"]), False
        elif "text" in body:
            texts, single = [check_text(body["text"], "text")], True
        else:
            raise ApiError(422, 'text is missing: send {"text": "..."} or {"texts": ["...", ...]}')
    model = holder().model  # taken once: this request ends on this model
    version = model_version(model)
    results = current_app.extensions["newstag_batcher"].tag(model, texts)
    for r in results:
        r["model"] = version
    if single:
        return jsonify(results[0])
    return jsonify(results=results, model=version)


def _check_texts(value) -> list:
    limit = current_app.config["NEWSTAG_MAX_TEXTS"]
    if not isinstance(value, list):
        raise ApiError(422, f"texts must be a list of strings, got {json_type(value)}")
    if not value:
        raise ApiError(422, "texts is empty")
    if len(value) > limit:
        raise ApiError(422, f"texts has {len(value)} items; at most {limit} in one request")
    return [check_text(v, f"texts[{i}]") for i, v in enumerate(value)]


@bp.post("/tag")
def tag():
    """Split a page's text into articles and tag each.

    Body ``{"text": page, "file": name?, "evidence": bool?}`` or the page as text/plain
    (then ``?file=`` and ``?evidence=`` in the query).  Returns ``{"articles": [record,
    ...], "model"}``, records as ``newstag tag`` writes them."""
    kind, body = read_body()
    if kind == "text":
        text = check_text(body, "text (the request body)")
        file = request.args.get("file", "")
        evidence = flag(request.args.get("evidence", "false"), "evidence")
    else:
        check_fields(body, ("text", "file", "evidence"))
        text = check_text(body.get("text", MISSING), "text")
        file = body.get("file", "")
        if not isinstance(file, str):
            raise ApiError(422, f"file must be a string, got {json_type(file)}")
        evidence = flag(body.get("evidence", False), "evidence")
    model = holder().model
    records = tag_page(model, text, file=file, evidence=evidence)
    return jsonify(articles=records, model=model_version(model))


@bp.get("/health")
def health():
    """Tag a probe text with the current model; return ``{"status": "ok", "model"}``
    (503 with an error when the model does not answer)."""
    model = holder().model
    try:
        model.tag_article(WARM_UP_TEXT, evidence=False)
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is the health check
        current_app.logger.exception("health probe failed")
        raise ApiError(503, f"model {model_version(model)} is not answering: {type(exc).__name__}: {exc}") from None
    return jsonify(status="ok", model=model_version(model))


@bp.get("/labels")
def labels():
    """Return ``{"topics": [{"name", "display"}, ...], "model"}`` in the model's topic order."""
    model = holder().model
    names = model.display_names or {}
    return jsonify(
        topics=[{"name": t, "display": names.get(t, t)} for t in model.topics],
        model=model_version(model),
    )


MODEL_FIELDS = (
    "version", "trained_at", "labels_sha256", "topics", "display_names", "thresholds",
    "paragraph_thresholds", "params", "n_paragraphs", "n_articles", "cv", "versions",
)


@bp.get("/model")
def model_info():
    """Return the current model's metadata (version, training date, topics, thresholds,
    cross-validated metrics...) and the service's ``file``, ``loaded_at`` and
    ``reload_error`` (the last failed reload's reason, or null)."""
    h = holder()
    model = h.model
    meta = getattr(model, "meta_", None) or {}
    out = {k: meta.get(k) for k in MODEL_FIELDS}
    out["topics"] = list(model.topics)
    out["display_names"] = {t: (model.display_names or {}).get(t, t) for t in model.topics}
    out["thresholds"] = {t: (model.thresholds or {}).get(t, 0.5) for t in model.topics}
    out.update(h.status())
    return jsonify(out)
