"""The newstag classifier: normalisation, segmentation, features, the topic model and its file format.

Public surface::

    from newstag.model import load_model, TopicModel
    tagger = load_model()                 # the shipped model
    result = tagger.tag_article(text)     # {"labels": [...], "scores": {...}, "evidence": {...}}
"""
from .classifier import TopicModel
from .store import DEFAULT_MODEL_PATH, ModelFileError, ModelVersionWarning, load_model, save_model

__all__ = [
    "TopicModel",
    "load_model",
    "save_model",
    "DEFAULT_MODEL_PATH",
    "ModelFileError",
    "ModelVersionWarning",
]
