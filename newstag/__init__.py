"""newstag: topic tagging for Chinese local news.

Subpackages: ``newstag.model`` (the classifier), ``newstag.training`` (labels,
retraining, evaluation), ``newstag.service`` (the Flask app); the command line is
``newstag.cli``.
"""
__version__ = "0.1.0"
