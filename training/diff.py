"""Comparing two models on the same articles: the work behind ``newstag diff``.

What an editor reads before a retrained model replaces the one in service: the
articles whose tags differ, each with both tag sets, both models' scores and the
evidence of every gained or lost tag, the biggest changes first; then the number of
tags gained and lost per topic.

Data flow (all pure functions; the command, ``newstag.diffcmd``, reads the files)::

    page text -> split_articles (as ``newstag tag`` splits it) -> both models'
    ``tag_split`` without evidence -> the articles whose label sets differ ->
    both models again, with evidence, on those articles only -> change records
    -> ``sort_changes`` -> text or JSON lines; ``DiffSummary`` counts along the way.

The two models may have different topics (a fifth topic added, one dropped): a topic
a model does not have scores 0 and is never tagged by it, so a topic only in the new
model is *gained* wherever the new model tags it, one only in the old model *lost*
wherever the old one tagged it.

Change size of an article: the number of topics whose tag flipped (gained or lost),
then the sum over all topics of ``|new score - old score|``; changes are sorted by
that pair, largest first, ties in archive order.
"""
from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from newstag.model.normalize import normalize
from newstag.model.pages import split_page

#: A score moving at least this much is listed among an article's changed scores.
SCORE_NOTE = 0.1
#: Evidence paragraphs are shortened to this many characters in the text output.
SNIPPET_CHARS = 60


def split_articles(text: str) -> tuple[list, list]:
    """Return ``(articles, split)`` of a page: the ``Article`` records of
    ``split_page`` and their ``(title, paragraphs)`` in normalised text, exactly as
    ``newstag.model.tagging.tag_page`` prepares them for ``TopicModel.tag_split``."""
    articles = split_page(text)
    split = []
    for art in articles:
        paragraphs = [line for p in art.paragraphs for line in normalize(p).split("\n") if line]
        split.append((normalize(art.title).replace("\n", " "), paragraphs))
    return articles, split


def topic_union(old_topics, new_topics) -> list:
    """Return the topics of both models: the old model's in its order, then the ones
    only the new model has."""
    return list(old_topics) + [t for t in new_topics if t not in old_topics]


def change_size(old_scores: dict, new_scores: dict, topics) -> float:
    """Return the sum over ``topics`` of ``|new - old|`` (a missing score is 0)."""
    return sum(abs(new_scores.get(t, 0.0) - old_scores.get(t, 0.0)) for t in topics)


def article_change(old_result: dict, new_result: dict, topics) -> dict | None:
    """Return the change between two models' results for one article (dicts with
    ``labels`` and ``scores`` as ``tag_split`` returns them), or None when both tag
    it with the same topics.

    The change has ``old_labels``, ``new_labels``, ``gained`` and ``lost`` (topics, in
    ``topics`` order), ``old_scores``, ``new_scores`` and ``change`` (see
    ``change_size``, rounded to 4 places)."""
    old_set, new_set = set(old_result["labels"]), set(new_result["labels"])
    if old_set == new_set:
        return None
    return {
        "old_labels": list(old_result["labels"]),
        "new_labels": list(new_result["labels"]),
        "gained": [t for t in topics if t in new_set and t not in old_set],
        "lost": [t for t in topics if t in old_set and t not in new_set],
        "old_scores": dict(old_result["scores"]),
        "new_scores": dict(new_result["scores"]),
        "change": round(change_size(old_result["scores"], new_result["scores"], topics), 4),
    }


@dataclass
class SplitDiff:
    """Both models' verdict on a list of articles: ``changes`` as ``(position,
    change)`` pairs (``article_change`` plus ``evidence``), and how many articles
    each model tagged with each topic."""

    articles: int
    changes: list
    tagged_old: Counter
    tagged_new: Counter


def compare_split(old_model, new_model, split) -> SplitDiff:
    """Tag the articles ``split`` (``(title, paragraphs)`` pairs of normalised text)
    with both models and return a ``SplitDiff``.

    Evidence is computed only for the articles whose tags changed: ``evidence`` is
    ``{"gained": {topic: the new model's evidence}, "lost": {topic: the old model's
    evidence}}``, evidence as in ``TopicModel.tag_articles``."""
    if not split:
        return SplitDiff(0, [], Counter(), Counter())
    topics = topic_union(old_model.topics, new_model.topics)
    old_results = old_model.tag_split(split, evidence=False)
    new_results = new_model.tag_split(split, evidence=False)
    changes = []
    for i, (o, n) in enumerate(zip(old_results, new_results)):
        change = article_change(o, n, topics)
        if change is not None:
            changes.append((i, change))
    if changes:
        subset = [split[i] for i, _ in changes]
        old_ev = old_model.tag_split(subset, evidence=True)
        new_ev = new_model.tag_split(subset, evidence=True)
        for (_, change), o, n in zip(changes, old_ev, new_ev):
            change["evidence"] = {
                "gained": {t: n["evidence"][t] for t in change["gained"]},
                "lost": {t: o["evidence"][t] for t in change["lost"]},
            }
    return SplitDiff(
        len(split),
        changes,
        Counter(t for r in old_results for t in r["labels"]),
        Counter(t for r in new_results for t in r["labels"]),
    )


def compare_page(old_model, new_model, text: str, file: str = "") -> SplitDiff:
    """Return the ``SplitDiff`` of one page's articles; each change also carries the
    article's ``file``, ``index``, ``title`` and ``lines`` as ``newstag tag`` records
    do (and its ``changes`` are plain change dicts, in page order)."""
    articles, split = split_articles(text)
    result = compare_split(old_model, new_model, split)
    records = []
    for i, change in result.changes:
        art = articles[i]
        records.append(dict({"file": file, "index": art.index, "title": art.title,
                             "lines": [art.lines[0], art.lines[1]]}, **change))
    result.changes = records
    return result


def sort_key(change: dict) -> tuple:
    """Return the sort key of a change: most flipped tags first, then largest
    ``change``."""
    return (-(len(change["gained"]) + len(change["lost"])), -change["change"])


def sort_changes(changes) -> list:
    """Return ``changes`` biggest first (``sort_key``); ties keep their order."""
    return sorted(changes, key=sort_key)


@dataclass
class DiffSummary:
    """Totals of a comparison: files and articles compared, articles changed, tags
    gained and lost per topic, articles each model tagged per topic, failed files."""

    old_topics: list
    new_topics: list
    display: dict = field(default_factory=dict)  # topic -> display name
    files: int = 0
    articles: int = 0
    changed: int = 0
    gained: Counter = field(default_factory=Counter)
    lost: Counter = field(default_factory=Counter)
    tagged_old: Counter = field(default_factory=Counter)
    tagged_new: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)  # (file, reason)

    @property
    def topics(self) -> list:
        """Return the topics of both models (old order, then new-only ones)."""
        return topic_union(self.old_topics, self.new_topics)

    def add(self, result: SplitDiff) -> None:
        """Count one page's (or one batch's) ``SplitDiff``."""
        self.files += 1
        self.articles += result.articles
        self.changed += len(result.changes)
        for change in result.changes:
            change = change[1] if isinstance(change, tuple) else change
            self.gained.update(change["gained"])
            self.lost.update(change["lost"])
        self.tagged_old.update(result.tagged_old)
        self.tagged_new.update(result.tagged_new)

    def add_failure(self, name: str, reason: str) -> None:
        """Count a file that could not be compared."""
        self.failures.append((name, reason))

    def to_dict(self) -> dict:
        """Return the summary as plain JSON data."""
        return {
            "files": self.files,
            "failed_files": [{"file": n, "error": r} for n, r in self.failures],
            "articles": self.articles,
            "changed": self.changed,
            "topics": {
                t: {
                    "display": self.display.get(t, t),
                    "in_old": t in self.old_topics,
                    "in_new": t in self.new_topics,
                    "tagged_old": self.tagged_old.get(t, 0),
                    "tagged_new": self.tagged_new.get(t, 0),
                    "gained": self.gained.get(t, 0),
                    "lost": self.lost.get(t, 0),
                }
                for t in self.topics
            },
        }

    def text(self) -> str:
        """Return the closing summary as printed by ``newstag diff``."""
        lines = [
            f"Summary: {self.articles} article(s) in {self.files} file(s) compared, "
            f"{self.changed} with other tags" + (f"; {len(self.failures)} file(s) failed" if self.failures else ""),
        ]
        only_new = [t for t in self.new_topics if t not in self.old_topics]
        only_old = [t for t in self.old_topics if t not in self.new_topics]
        if only_new:
            lines.append("topics only in the new model: " + ", ".join(self._name(t) for t in only_new))
        if only_old:
            lines.append("topics only in the old model: " + ", ".join(self._name(t) for t in only_old))
        rows = [["topic", "tagged old", "tagged new", "gained", "lost"]]
        for t in self.topics:
            rows.append([
                self._name(t),
                str(self.tagged_old.get(t, 0)) if t in self.old_topics else "-",
                str(self.tagged_new.get(t, 0)) if t in self.new_topics else "-",
                f"+{self.gained.get(t, 0)}",
                f"-{self.lost.get(t, 0)}",
            ])
        lines += table(rows)
        if self.failures:
            lines.append(f"failed files ({len(self.failures)}):")
            lines += [f"  {name}: {reason}" for name, reason in self.failures]
        return "\n".join(lines)

    def _name(self, topic: str) -> str:
        display = self.display.get(topic, topic)
        return f"{display} {topic}" if display != topic else topic


# ---------------------------------------------------------------------------
# Output


def display_width(text: str) -> int:
    """Return the width of ``text`` in terminal columns (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(rows) -> list:
    """Return the lines of a plain table: first column left-aligned, the others right,
    by terminal width."""
    widths = [max(display_width(r[k]) for r in rows) for k in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [r[0] + " " * (widths[0] - display_width(r[0]))]
        cells += [" " * (widths[k] - display_width(r[k])) + r[k] for k in range(1, len(r))]
        out.append("  ".join(cells).rstrip())
    return out


def shorten(text: str, limit: int = SNIPPET_CHARS) -> str:
    """Return ``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_change(change: dict, rank: int, display: dict) -> str:
    """Return one changed article as an editor reads it in the terminal."""

    def name(t):
        d = display.get(t, t)
        return f"{d} {t}" if d != t else t

    def labels(ls):
        return ", ".join(name(t) for t in ls) if ls else "(none)"

    topics = topic_union(list(change["old_scores"]), list(change["new_scores"]))
    flipped = set(change["gained"]) | set(change["lost"])
    moved = []
    for t in topics:
        o, n = change["old_scores"].get(t), change["new_scores"].get(t)
        if t in flipped or abs((n or 0.0) - (o or 0.0)) >= SCORE_NOTE:
            mark = " (gained)" if t in change["gained"] else " (lost)" if t in change["lost"] else ""
            moved.append(f"{t} {_score(o)} → {_score(n)}{mark}")
    lines = [
        f"[{rank}] {change['file']}#{change['index']}  lines {change['lines'][0]}-{change['lines'][1]}  "
        f"change {change['change']:.2f}",
        f"    {change['title'] or '(no headline)'}",
        f"    tags:   {labels(change['old_labels'])} → {labels(change['new_labels'])}",
        "    scores: " + "; ".join(moved),
    ]
    for kind, which in (("gained", "new"), ("lost", "old")):
        for t, ev in change.get("evidence", {}).get(kind, {}).items():
            lines.append(f"    {kind} {name(t)}, evidence of the {which} model:")
            for p in ev["paragraphs"][:3]:
                lines.append(f"      ¶{p['index'] + 1} {p['score']:.2f}  {shorten(p['text'])}")
            if len(ev["paragraphs"]) > 3:
                lines.append(f"      … and {len(ev['paragraphs']) - 3} more paragraph(s)")
            if ev["terms"]:
                lines.append("      terms: " + ", ".join(f"{x['term']} {x['weight']:.2f}" for x in ev["terms"]))
    return "\n".join(lines)


def _score(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_text(changes, summary: DiffSummary, old_name: str = "old", new_name: str = "new") -> str:
    """Return the whole text output: a header, every change (sorted), the summary."""
    head = f"newstag diff: old {old_name}  →  new {new_name}"
    if not changes:
        body = ["No article has other tags."]
    else:
        body = [format_change(c, k, summary.display) + "\n" for k, c in enumerate(changes, start=1)]
    return "\n".join([head, ""] + body + ["", summary.text()]) + "\n"


def format_jsonl(changes, summary: DiffSummary) -> str:
    """Return the JSON lines output: one line per change (sorted), then one
    ``{"summary": {...}}`` line."""
    lines = [json.dumps(c, ensure_ascii=False) for c in changes]
    lines.append(json.dumps({"summary": summary.to_dict()}, ensure_ascii=False))
    return "\n".join(lines) + "\n"
