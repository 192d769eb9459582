"""From a page's text to tagged article records: the step shared by ``newstag tag``,
the service's ``POST /tag`` and the cluster path.

page text -> ``split_page`` -> articles -> normalised paragraphs -> ``TopicModel`` ->
one record per article.
"""
from __future__ import annotations

from .normalize import normalize
from .pages import split_page

RECORD_FIELDS = ("file", "index", "title", "lines", "labels", "scores", "chars")


def tag_page(model, text: str, file: str = "", evidence: bool = False) -> list:
    """Return one record per article of the page ``text``, in page order.

    Each record is a dict with ``file`` (as given), ``index`` (place on the page from
    0), ``title``, ``lines`` (``[first, last]``, 1-based, inclusive), ``labels``,
    ``scores`` and ``chars`` (characters of the article's title and paragraphs as
    printed); with ``evidence``, also ``evidence`` as in ``TopicModel.tag_articles``."""
    articles = split_page(text)
    split = []
    for art in articles:
        paragraphs = [line for p in art.paragraphs for line in normalize(p).split("\n") if line]
        split.append((normalize(art.title).replace("\n", " "), paragraphs))
    results = model.tag_split(split, evidence=evidence) if split else []
    records = []
    for art, result in zip(articles, results):
        record = {
            "file": file,
            "index": art.index,
            "title": art.title,
            "lines": [art.lines[0], art.lines[1]],
            "labels": result["labels"],
            "scores": result["scores"],
            "chars": len(art.title) + sum(len(p) for p in art.paragraphs),
        }
        if evidence:
            record["evidence"] = result["evidence"]
        records.append(record)
    return records
