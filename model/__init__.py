"""The newstag classifier: normalisation, segmentation, features, the topic model and its file format.

Public surface::

    from newstag.model import load_model, TopicModel
    tagger = load_model()                 # the shipped model
    result = tagger.tag_article(text)     # {"labels": [...], "scores": {...}, "evidence": {...}}
"""
import importlib

# Where each public name lives.  They are imported on first use (PEP 562), so that a
# process needing only the light parts -- a ``newstag tag --scheduler`` client, which
# never tags anything itself -- does not pay for importing scikit-learn.
_WHERE = {
    "TopicModel": ".classifier",
    "load_model": ".store",
    "save_model": ".store",
    "DEFAULT_MODEL_PATH": ".store",
    "ModelFileError": ".store",
    "ModelVersionWarning": ".store",
}

__all__ = list(_WHERE)


def __getattr__(name):
    """Return the public name ``name``, importing the module that holds it."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value
