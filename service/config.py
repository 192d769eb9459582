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
=========================== ======================== ==========================================
"""
from __future__ import annotations

from typing import Mapping

DEFAULT_MAX_BYTES = 1024 * 1024  # 1 MiB
DEFAULT_MAX_TEXTS = 64
DEFAULT_RELOAD_INTERVAL = 2.0
DEFAULT_BATCH_MAX = 32

DEFAULTS = {
    "NEWSTAG_MODEL": None,  # None: newstag.model.store.DEFAULT_MODEL_PATH
    "MAX_CONTENT_LENGTH": DEFAULT_MAX_BYTES,
    "NEWSTAG_MAX_TEXTS": DEFAULT_MAX_TEXTS,
    "NEWSTAG_RELOAD_INTERVAL": DEFAULT_RELOAD_INTERVAL,
    "NEWSTAG_BATCH_MAX": DEFAULT_BATCH_MAX,
    "NEWSTAG_LOG_LEVEL": "INFO",
}

# environment variable -> (config key, converter)
ENVIRONMENT = {
    "NEWSTAG_MODEL": ("NEWSTAG_MODEL", str),
    "NEWSTAG_MAX_BYTES": ("MAX_CONTENT_LENGTH", int),
    "NEWSTAG_MAX_TEXTS": ("NEWSTAG_MAX_TEXTS", int),
    "NEWSTAG_RELOAD_INTERVAL": ("NEWSTAG_RELOAD_INTERVAL", float),
    "NEWSTAG_BATCH_MAX": ("NEWSTAG_BATCH_MAX", int),
    "NEWSTAG_LOG_LEVEL": ("NEWSTAG_LOG_LEVEL", str),
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
            raise ConfigError(f"environment variable {var}={raw!r} is not a valid {convert.__name__}") from None
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
