"""``GET /``: the page where a person pastes an article or a page and sees its topics,
the scores as bars and the evidence highlighted.

The page is one template, one script and one stylesheet served from ``static/``; it
calls ``POST /classify`` and ``POST /tag`` of the same service and loads nothing from
anywhere else (its Content-Security-Policy forbids it).
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("pages", __name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@bp.get("/")
def index():
    """Return the HTML page, with the topics of the current model in it."""
    model = current_app.extensions["newstag"].model
    names = model.display_names or {}
    topics = [{"name": t, "display": names.get(t, t)} for t in model.topics]
    html = render_template(
        "index.html",
        topics=topics,
        version=(getattr(model, "meta_", None) or {}).get("version"),
        max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
    )
    return html, 200, {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
