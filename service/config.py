"""The service's configuration: its keys, their defaults, and reading them from the
environment.

``create_app`` takes a mapping of these keys; ``newstag serve`` builds it from its
options (each of which also reads an environment variable), and ``create_app()`` with
no argument reads the environment through ``config_from_env``.

=========================== ======================== ==========================================
Flask config key            environment variable     meaning
=========================== ======================== ==========================================
``NEWSTAG_MODEL``           ``NEWSTAG_MODEL``        model file (default: the shipped model)
``MAX_CONTENT_LENGTH``      ``NEWSTAG_MAX_BYTES``    largest request body in bytes (413 above)
``NEWSTAG_MAX_TEXTS``       ``NEWSTAG_MAX_TEXTS``    most articles in one ``{"texts": [...]}``
``NEWSTAG_RELOAD_INTERVAL`` ``NEWSTAG_RELOAD_INTERVAL`` seconds between looks at the model
                                                     file's date (0: only on SIGHUP/explicitly)
``NEWSTAG_BATCH_MAX``       ``NEWSTAG_BATCH_MAX``    most articles of concurrent requests tagged
                                                     in one model call (1: no batching)
``NEWSTAG_LOG_LEVEL``       ``NEWSTAG_LOG_LEVEL``    level of the service's own log lines
``NEWSTAG_LABELLING``       ``NEWSTAG_LABELLING``    serve the labelling page ``/label`` and its
                                                     API (off: they answer 404)
``NEWSTAG_LABELLING_TOKEN`` ``NEWSTAG_LABELLING_TOKEN`` the secret every ``/label/api`` call must
                                                     send as ``Authorization: Bearer ...``
                                                     (required with labelling, 8+ characters)
``NEWSTAG_LABELS``          ``NEWSTAG_LABELS``       the labels.csv answers are appended to
                                                     (topics.csv beside it); default ./labels.csv
``NEWSTAG_LABEL_QUEUE``     ``NEWSTAG_LABEL_QUEUE``  what to label: a ``newstag suggest`` CSV, or
                                                     an archive folder or page file to suggest from
``NEWSTAG_LABEL_QUEUE_SIZE`` ``NEWSTAG_LABEL_QUEUE_SIZE`` most paragraphs suggested from an archive
=========================== ======================== ==========================================
"""
from __future__ import annotations

from typing import Mapping

DEFAULT_MAX_BYTES = 1024 * 1024  # 1 MiB
DEFAULT_MAX_TEXTS = 64
DEFAULT_RELOAD_INTERVAL = 2.0
DEFAULT_BATCH_MAX = 32
DEFAULT_LABELS = "labels.csv"
DEFAULT_LABEL_QUEUE_SIZE = 200
MIN_TOKEN_LENGTH = 8

DEFAULTS = {
    "NEWSTAG_MODEL": None,  # None: newstag.model.store.DEFAULT_MODEL_PATH
    "MAX_CONTENT_LENGTH": DEFAULT_MAX_BYTES,
    "NEWSTAG_MAX_TEXTS": DEFAULT_MAX_TEXTS,
    "NEWSTAG_RELOAD_INTERVAL": DEFAULT_RELOAD_INTERVAL,
    "NEWSTAG_BATCH_MAX": DEFAULT_BATCH_MAX,
    "NEWSTAG_LOG_LEVEL": "INFO",
    "NEWSTAG_LABELLING": False,
    "NEWSTAG_LABELLING_TOKEN": None,
    "NEWSTAG_LABELS": DEFAULT_LABELS,
    "NEWSTAG_LABEL_QUEUE": None,
    "NEWSTAG_LABEL_QUEUE_SIZE": DEFAULT_LABEL_QUEUE_SIZE,
}


def boolean(raw: str) -> bool:
    """Return the boolean an environment value spells (1/0, true/false, yes/no, on/off)."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


# environment variable -> (config key, converter)
ENVIRONMENT = {
    "NEWSTAG_MODEL": ("NEWSTAG_MODEL", str),
    "NEWSTAG_MAX_BYTES": ("MAX_CONTENT_LENGTH", int),
    "NEWSTAG_MAX_TEXTS": ("NEWSTAG_MAX_TEXTS", int),
    "NEWSTAG_RELOAD_INTERVAL": ("NEWSTAG_RELOAD_INTERVAL", float),
    "NEWSTAG_BATCH_MAX": ("NEWSTAG_BATCH_MAX", int),
    "NEWSTAG_LOG_LEVEL": ("NEWSTAG_LOG_LEVEL", str),
    "NEWSTAG_LABELLING": ("NEWSTAG_LABELLING", boolean),
    "NEWSTAG_LABELLING_TOKEN": ("NEWSTAG_LABELLING_TOKEN", str),
    "NEWSTAG_LABELS": ("NEWSTAG_LABELS", str),
    "NEWSTAG_LABEL_QUEUE": ("NEWSTAG_LABEL_QUEUE", str),
    "NEWSTAG_LABEL_QUEUE_SIZE": ("NEWSTAG_LABEL_QUEUE_SIZE", int),
}


class ConfigError(ValueError):
    """A configuration value is not usable; the message names the key and the value."""


def config_from_env(environ: Mapping[str, str]) -> dict:
    """Return the config keys set in ``environ`` (e.g. ``os.environ``), converted.

    Raises ``ConfigError`` naming the variable when a value does not convert."""
    out = {}
    for var, (key, convert) in ENVIRONMENT.items():
        raw = environ.get(var)
        if raw is None or raw == "":
            continue
        try:
            out[key] = convert(raw)
        except ValueError:
            shown = "(hidden)" if "TOKEN" in var else repr(raw)  # a secret is never echoed
            raise ConfigError(f"environment variable {var}={shown} is not a valid {convert.__name__}") from None
    return out


def check_config(config: Mapping) -> None:
    """Raise ``ConfigError`` naming the first key whose value is out of range."""
    max_bytes = config.get("MAX_CONTENT_LENGTH")
    if not isinstance(max_bytes, int) or max_bytes < 1:
        raise ConfigError(f"MAX_CONTENT_LENGTH={max_bytes!r} must be a positive number of bytes")
    max_texts = config.get("NEWSTAG_MAX_TEXTS")
    if not isinstance(max_texts, int) or max_texts < 1:
        raise ConfigError(f"NEWSTAG_MAX_TEXTS={max_texts!r} must be a positive integer")
    batch = config.get("NEWSTAG_BATCH_MAX")
    if not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"NEWSTAG_BATCH_MAX={batch!r} must be a positive integer (1: no batching)")
    interval = config.get("NEWSTAG_RELOAD_INTERVAL")
    if not isinstance(interval, (int, float)) or interval < 0:
        raise ConfigError(f"NEWSTAG_RELOAD_INTERVAL={interval!r} must be 0 (off) or a positive number of seconds")
    if config.get("NEWSTAG_LABELLING"):
        check_labelling_config(config)


def check_labelling_config(config: Mapping) -> None:
    """Raise ``ConfigError`` when labelling is on without what it needs: a token (never
    shown in the message), a queue, a queue size."""
    token = config.get("NEWSTAG_LABELLING_TOKEN")
    if not isinstance(token, str) or not token.strip():
        raise ConfigError(
            "labelling needs a token: start with --labelling-token TOKEN or set NEWSTAG_LABELLING_TOKEN "
            "(editors type it into the /label page once; every write must carry it)"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"the labelling token is too short: use at least {MIN_TOKEN_LENGTH} characters")
    if not config.get("NEWSTAG_LABEL_QUEUE"):
        raise ConfigError(
            "labelling needs a queue: --label-queue PATH (a `newstag suggest` CSV, or an archive folder or page "
            "file), or NEWSTAG_LABEL_QUEUE"
        )
    size = config.get("NEWSTAG_LABEL_QUEUE_SIZE")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ConfigError(f"NEWSTAG_LABEL_QUEUE_SIZE={size!r} must be a positive integer")
    if not config.get("NEWSTAG_LABELS"):
        raise ConfigError("NEWSTAG_LABELS must name the labels.csv to append to")
