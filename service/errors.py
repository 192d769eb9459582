"""Errors as JSON, and the request id every response carries.

Every response has an ``X-Request-ID`` header: the client's own when it sent a sane one
(1-64 letters, digits, ``.``, ``_``, ``-``), else a new random one.  Every error body is
``{"error": "<what is wrong>", "request_id": "<that id>"}``.  A failure that is not the
client's (a 500) is logged with the id, the method and the path, so a user's report
("request 3f2a… failed") leads to the traceback.
"""
from __future__ import annotations

import re
import uuid

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ApiError(Exception):
    """A bad request: ``status`` (400, 415, 422, ...) and a message saying what is wrong."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def request_id() -> str:
    """Return the id of the current request, making one on first use."""
    rid = g.get("request_id")
    if rid is None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        rid = given if _SANE_ID.match(given) else uuid.uuid4().hex
        g.request_id = rid
    return rid


def error_response(status: int, message: str, headers=None):
    """Return the JSON error response ``{"error", "request_id"}`` with ``status``."""
    response = jsonify(error=message, request_id=request_id())
    response.status_code = status
    for name, value in headers or ():
        response.headers[name] = value
    return response


def _http_message(exc: HTTPException) -> str:
    code = exc.code
    if code == 404:
        return f"no such endpoint: {request.method} {request.path}; see GET /openapi.json"
    if code == 405:
        allowed = ", ".join(m for m in exc.valid_methods or () if m not in ("HEAD", "OPTIONS"))
        return f"method {request.method} is not allowed on {request.path}; allowed: {allowed}"
    if code == 413:
        from flask import current_app

        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return f"request body is larger than the limit of {limit} bytes"
    return f"{exc.name}: {exc.description}"


def register_error_handlers(app: Flask) -> None:
    """Make every error of ``app`` a JSON body, and tag every response with its request id."""

    @app.before_request
    def _assign_request_id():
        request_id()

    @app.after_request
    def _add_request_id(response):
        response.headers[REQUEST_ID_HEADER] = request_id()
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() == "allow"]
        return error_response(exc.code or 500, _http_message(exc), headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        rid = request_id()
        app.logger.exception("request %s failed: %s %s", rid, request.method, request.path)
        return error_response(500, f"internal error; quote request id {rid} when reporting it")
