"""The newstag web service: a Flask application factory.

::

    from newstag.service import create_app
    app = create_app({"NEWSTAG_MODEL": "/srv/newstag/model.joblib"})

``newstag serve`` runs it under gunicorn (``newstag.servecmd``); the keys it takes are
listed in ``newstag.service.config``.  Blueprints: ``api`` (the JSON endpoints),
``pages`` (``GET /``), ``openapi`` (``GET /openapi.json``), and, only when the config
turns labelling on (``NEWSTAG_LABELLING``), ``label`` (``GET /label`` and ``/label/api/...``).
"""
from __future__ import annotations

import os

from flask import Flask

from newstag.model.store import DEFAULT_MODEL_PATH

from . import api, openapi, pages
from .batching import Batcher
from .config import DEFAULTS, check_config, config_from_env
from .errors import register_error_handlers
from .holder import ModelHolder

__all__ = ["create_app"]


def create_app(test_config=None) -> Flask:
    """Return the configured Flask application with its model loaded.

    ``test_config``: a mapping of config keys (see ``newstag.service.config``); when
    None, they are read from the environment (``NEWSTAG_MODEL``, ``NEWSTAG_MAX_BYTES``,
    ...).  The model is read once here, from ``NEWSTAG_MODEL`` (default: the shipped
    model) and never from anything a request says; ``ModelFileError`` (naming the file)
    is raised when it cannot be.  Raises ``ConfigError`` for an unusable setting (with
    labelling on: no token, no queue, a queue or topics.csv that cannot be read)."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(config_from_env(os.environ) if test_config is None else test_config)
    check_config(app.config)

    app.json.ensure_ascii = False  # Chinese as UTF-8, not \\u escapes
    app.json.sort_keys = False     # scores in the model's topic order
    app.logger.setLevel(app.config["NEWSTAG_LOG_LEVEL"])  # the "newstag.service" logger

    holder = ModelHolder(
        app.config["NEWSTAG_MODEL"] or DEFAULT_MODEL_PATH,
        check_interval=app.config["NEWSTAG_RELOAD_INTERVAL"],
        logger=app.logger,
    )
    holder.load()
    app.extensions["newstag"] = holder
    app.extensions["newstag_batcher"] = Batcher(app.config["NEWSTAG_BATCH_MAX"])

    @app.before_request
    def _watch_model_file():
        holder.ensure_watcher()  # per process: gunicorn workers are forked after this app is made

    register_error_handlers(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(openapi.bp)
    if app.config["NEWSTAG_LABELLING"]:
        from . import label

        label.init_app(app, holder.model)  # the queue is made here, before gunicorn forks
    return app
