"""Saving and loading models: a joblib file holding the fitted ``TopicModel`` and its
metadata (topics and display names, thresholds, labels.csv hash, training date,
library versions, cross-validated metrics).

Models are only loaded from paths the operator gives (command-line option,
configuration), never from request data: a joblib file is a pickle and runs code
when loaded.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import joblib

from .atomic import atomic_file

FORMAT = "newstag-model"
FORMAT_VERSION = 1
DEFAULT_MODEL_PATH = Path(__file__).with_name("newstag.joblib")
CHECKED_LIBRARIES = ("scikit-learn", "numpy", "scipy", "jieba", "opencc")


class ModelFileError(Exception):
    """The file is missing, unreadable, or not a newstag model."""


class ModelVersionWarning(UserWarning):
    """The model was saved under other library versions than the running ones."""


def library_versions() -> dict:
    """Return ``{library: version}`` of the libraries a saved model depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in CHECKED_LIBRARIES + ("joblib", "newstag"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def save_model(model, meta: dict, path) -> Path:
    """Write ``model`` and ``meta`` to ``path`` atomically (temporary file in the same
    folder, then rename) and return the path.  A crash leaves the old file intact."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "meta": dict(meta, versions=library_versions()),
        "model": model,
    }
    with atomic_file(path) as fh:
        joblib.dump(payload, fh, compress=3)
    return path


def read_payload(path) -> dict:
    """Return the raw payload dict of a model file (``format``, ``meta``, ``model``).

    Raises ``ModelFileError`` naming the file when it is missing or not a newstag
    model; warns ``ModelVersionWarning`` naming both versions when it was saved under
    other library versions."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with warnings.catch_warnings():
            # scikit-learn's own version warning is replaced by ours, which names all libraries
            warnings.filterwarnings("ignore", message=".*Trying to unpickle estimator.*")
            payload = joblib.load(path)
    except Exception as exc:  # pickle, zlib, EOF, attribute errors: all mean "not ours"
        raise ModelFileError(
            f"{path}: not a newstag model file ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a newstag model file (holds a {type(payload).__name__})")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model file format {payload.get('format_version')!r}, "
            f"this newstag reads format {FORMAT_VERSION}"
        )
    saved = payload["meta"].get("versions", {})
    now = library_versions()
    differ = [
        f"{lib} {saved.get(lib)} (running {now[lib]})"
        for lib in CHECKED_LIBRARIES
        if saved.get(lib) and saved.get(lib) != now[lib]
    ]
    if differ:
        warnings.warn(
            f"{path} was saved with " + ", ".join(differ) + "; predictions may differ. "
            "Retrain with `newstag train` to silence this.",
            ModelVersionWarning,
            stacklevel=2,
        )
    return payload


def load_model(path=None):
    """Return the ``TopicModel`` stored at ``path`` (default: the shipped model), with
    its metadata in ``model.meta_``."""
    payload = read_payload(path or DEFAULT_MODEL_PATH)
    model = payload["model"]
    model.meta_ = payload["meta"]
    return model
