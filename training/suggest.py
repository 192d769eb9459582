"""Which paragraphs to label next: ``newstag suggest`` and ``newstag train --add``.

Data flow::

    PATH... -> find_files -> read_page -> split_page -> ArticleContext (one per article)
            -> score_articles (the model's paragraph and article scores -> Candidate,
               with a priority and a reason) -> pick (spread over topics, files and
               articles; near-duplicates of labels.csv and of each other skipped)
            -> suggestion rows -> write_suggestions (CSV for Excel)

    filled CSV -> read_filled (validated like labels.csv) -> append_rows (labels.csv,
               with provenance) -> newstag train

A paragraph is worth labelling when the model is unsure of it.  Three signals, each in
[0, 1], are computed; ``WEIGHTS`` weigh them into its priority:

``near``      its probability for a topic is close to that topic's paragraph threshold,
              measured in log-odds: ``exp(-|logit(p) - logit(t)| / LOGIT_SCALE)``;
``disagree``  its article's tags and its paragraphs' tags disagree: the article is
              tagged X but no paragraph reaches X's paragraph threshold (the paragraph
              with the highest X score is flagged), or a paragraph reaches X's threshold
              in an article not tagged X (the "mentioned in passing" case of the guide);
``new``       the share of its words missing from the fitted vocabulary (numbers left
              out), saturating at ``NEW_VOCAB_FULL``.  Weighted 0 by default: in the
              simulation on held-out labels.csv articles it made the picks worse
              (docs/measurements/suggest_vs_random_selection.txt: near+disagree beat
              near+disagree+new on 10 of 10 seeds, near+new was the worst variant), so
              it is kept in ``Candidate.signals`` but neither ranks nor is a reason.

``score_articles`` applies to any list of articles given as paragraphs with their
context -- an archive's pages here, labels.csv's pool of rows in
``benchmarks/suggest_vs_random.py`` -- so both pick with the same code.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from newstag.model.atomic import write_atomically
from newstag.model.classifier import combine_scores
from newstag.model.normalize import normalize

from .labels import LabelsError, append_rows, labelled_keys, read_labels, read_topics, topics_path_for, unknown_topic

#: The columns of a suggestions CSV, in order.
SUGGEST_COLUMNS = ("text", "labels", "guess", "scores", "source", "article_title", "article", "reason", "before", "after")
#: The columns ``train --add`` needs (as labels.csv does); the others are context.
FILLED_COLUMNS = ("text", "labels", "source")
NONE_WORD = "none"

WEIGHTS = {"near": 1.0, "disagree": 0.8, "new": 0.0}  # chosen by benchmarks/suggest_vs_random.py --select
LOGIT_SCALE = 1.5  # log-odds distance at which "near a threshold" has fallen to 1/e
NEW_VOCAB_FULL = 0.4  # a paragraph with this share of unseen words counts as fully new
MIN_CHARS = 15  # shorter paragraphs (normalised, spaces left out) are not suggested
MIN_CJK_SHARE = 0.3  # below this share of Chinese characters a paragraph is table-like
SHINGLE = 5  # character n-gram size of the near-duplicate test
NEAR_DUP_JACCARD = 0.6  # Jaccard of character SHINGLE-gram sets at which two paragraphs are one
DECAY_QUEUE = 0.8  # each pick from a (reason, topic) queue lowers its next candidates by this factor
DECAY_FILE = 0.9  # ... from a file
DECAY_ARTICLE = 0.5  # ... from an article
KEEP_EXTRA = 10  # candidates kept per file and queue beyond n (room for near-duplicates)


# ---------------------------------------------------------------------------
# Scoring


@dataclass
class ArticleContext:
    """One article as ``score_articles`` reads it: ``key`` (``FILE#INDEX``), ``file``
    (picks are spread and capped per file), ``title`` as printed ("" for none),
    ``paragraphs`` as printed, ``sources`` (``FILE:FIRST-LAST``, one per paragraph)."""

    key: str
    file: str
    title: str
    paragraphs: list
    sources: list


@dataclass
class Candidate:
    """A paragraph that may be suggested, with what the model made of it."""

    text: str  # as printed, stripped
    norm: str  # normalised (what duplicates are compared on)
    file: str
    article: str
    title: str
    source: str
    before: str
    after: str
    probs: np.ndarray  # paragraph probability per topic, in model.topics order
    guess: list  # topics whose paragraph threshold the paragraph reaches
    signals: dict  # {"near": .., "disagree": .., "new": ..} each in [0, 1]
    priority: float
    reason: str
    queue: str  # "near:heating", "disagree:inspection", "new"

    def row(self, topics) -> dict:
        """Return the suggestion CSV row (all values strings)."""
        return {
            "text": self.text,
            "labels": "",
            "guess": ";".join(self.guess),
            "scores": ";".join(f"{t}={p:.2f}" for t, p in zip(topics, self.probs)),
            "source": self.source,
            "article_title": self.title,
            "article": self.article,
            "reason": self.reason,
            "before": self.before,
            "after": self.after,
        }


def _thresholds(model, which: str) -> np.ndarray:
    """Return the model's per-topic thresholds (``"article"`` or ``"paragraph"``): the
    model's own, else its metadata's, else 0.5."""
    attr = "thresholds" if which == "article" else "paragraph_thresholds"
    values = getattr(model, attr, None) or (getattr(model, "meta_", None) or {}).get(attr) or {}
    return np.array([float(values.get(t, 0.5)) for t in model.topics])


def _logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _word_vocabulary(model):
    """Return ``(tokenize, vocabulary)`` of the model's word features, or None."""
    counter = getattr(model, "counter_", None)
    for name, part in getattr(counter, "transformer_list", []):
        if name == "w" and hasattr(part, "vocabulary_"):
            return part.build_tokenizer(), part.vocabulary_
    return None


def new_vocabulary_share(tokens, vocabulary) -> float:
    """Return the share of ``tokens`` (numbers, which the tokenizer folds to ``0``, left
    out) that are not in ``vocabulary``; 0 for fewer than 3 tokens."""
    words = [t for t in tokens if t != "0"]
    if len(words) < 3:
        return 0.0
    return sum(1 for t in words if t not in vocabulary) / len(words)


def is_suggestible(text: str, norm: str) -> bool:
    """Whether a paragraph is worth showing to a person: one line (not a table), at
    least ``MIN_CHARS`` characters, mostly Chinese text (not figures)."""
    if "\t" in text or "\n" in norm:
        return False
    compact = "".join(norm.split())
    if len(compact) < MIN_CHARS:
        return False
    cjk = sum(1 for ch in compact if "\u4e00" <= ch <= "\u9fff")
    return cjk / len(compact) >= MIN_CJK_SHARE


def score_articles(model, articles, weights=None) -> list:
    """Return a ``Candidate`` for every suggestible paragraph of ``articles`` (a list of
    ``ArticleContext``), with its priority and reason.  ``weights`` (default
    ``WEIGHTS``) weigh the signals into the priority; a signal weighted 0 neither counts
    nor is given as a reason (``benchmarks/suggest_vs_random.py`` compares weightings
    with this one function).

    Paragraphs and articles are scored as ``newstag tag`` scores them (a table's rows
    are paragraphs of their own; the article's tags are its combined score against the
    article thresholds), so the article tags compared here are the ones ``tag`` gives."""
    weights = dict(WEIGHTS if weights is None else weights)
    topics = list(model.topics)
    pthr, athr = _thresholds(model, "paragraph"), _thresholds(model, "article")
    groups, layout = [], []
    for art in articles:
        title = normalize(art.title).replace("\n", " ") if art.title else ""
        lines, owner = [], []
        for i, p in enumerate(art.paragraphs):
            for line in normalize(p).split("\n"):
                if line:
                    lines.append(line)
                    owner.append(i)
        if not lines:
            layout.append(None)
            continue
        groups.append(([title] if title else []) + lines)
        layout.append((bool(title), owner))
    if not groups:
        return []
    per_article, whole, _ = model.score_groups(groups)
    vocab = _word_vocabulary(model)
    out = []
    g = 0
    for art, lay in zip(articles, layout):
        if lay is None:
            continue
        has_title, owner = lay
        probs = per_article[g][1:] if has_title else per_article[g]
        art_scores = combine_scores(probs, whole[g], getattr(model, "combine", "whole"))
        g += 1
        tagged = art_scores >= athr
        para_over = probs >= pthr
        # the paragraph that should carry a tag no paragraph carries
        unsupported = {}
        for j in np.flatnonzero(tagged & ~para_over.any(axis=0)):
            unsupported.setdefault(int(np.argmax(probs[:, j])), []).append(int(j))
        art_near = np.exp(-np.abs(_logit(art_scores) - _logit(athr)) / LOGIT_SCALE)
        counts = Counter(owner)
        for row, i in enumerate(owner):
            text = art.paragraphs[i].strip()
            if counts[i] != 1:
                continue  # a table: several lines scored apart
            norm = normalize(text)
            if not is_suggestible(text, norm):
                continue
            p = probs[row]
            near = np.exp(-np.abs(_logit(p) - _logit(pthr)) / LOGIT_SCALE)
            j_near = int(np.argmax(near))
            disagree, j_dis, why = 0.0, -1, ""
            for j in unsupported.get(row, []):
                value = 0.6 + 0.4 * float(near[j])
                if value > disagree:
                    disagree, j_dis, why = value, j, f"paragraphs disagree with article: tagged {topics[j]}, no paragraph is"
            for j in np.flatnonzero(para_over[row] & ~tagged):
                value = 0.6 + 0.4 * float(art_near[j])
                if value > disagree:
                    disagree, j_dis = value, int(j)
                    why = f"paragraphs disagree with article: {topics[j]} paragraph, article not tagged {topics[j]}"
            share = new_vocabulary_share(vocab[0](norm), vocab[1]) if vocab else 0.0
            signals = {"near": float(near[j_near]), "disagree": disagree, "new": min(1.0, share / NEW_VOCAB_FULL)}
            texts = {
                "near": f"near {topics[j_near]} threshold",
                "disagree": why,
                "new": f"new vocabulary {round(share * 100)}%",
            }
            weighted = {k: weights.get(k, 0.0) * v for k, v in signals.items()}
            ranked = sorted((k for k in weighted if weights.get(k, 0.0) > 0), key=lambda k: -weighted[k])
            top = ranked[0]
            reasons = [texts[top]] + [texts[k] for k in ranked[1:] if signals[k] >= 0.5]
            queue = {"near": f"near:{topics[j_near]}", "new": "new"}.get(top) or f"disagree:{topics[j_dis]}"
            out.append(Candidate(
                text=text,
                norm=norm,
                file=art.file,
                article=art.key,
                title=art.title,
                source=art.sources[i],
                before=art.paragraphs[i - 1].strip() if i > 0 else "",
                after=art.paragraphs[i + 1].strip() if i + 1 < len(art.paragraphs) else "",
                probs=p,
                guess=[t for t, over in zip(topics, para_over[row]) if over],
                signals=signals,
                priority=float(sum(weighted.values())),
                reason="; ".join(reasons),
                queue=queue,
            ))
    return out


# ---------------------------------------------------------------------------
# Near-duplicates and picking


def shingles(norm: str) -> set:
    """Return the set of character ``SHINGLE``-grams of a normalised text (spaces left
    out); a shorter text is its own single shingle."""
    compact = "".join(norm.split())
    if len(compact) <= SHINGLE:
        return {compact}
    return {compact[i:i + SHINGLE] for i in range(len(compact) - SHINGLE + 1)}


class ShingleIndex:
    """Texts indexed by their character shingles, to ask whether a new text is a
    near-duplicate of one of them: the same normalised text, or a Jaccard similarity of
    shingle sets of at least ``threshold``."""

    def __init__(self, texts=(), threshold: float = NEAR_DUP_JACCARD):
        self.threshold = threshold
        self.exact: set = set()
        self.postings: dict = defaultdict(list)
        self.sizes: list = []
        for t in texts:
            self.add(t)

    def add(self, norm: str) -> None:
        """Index one normalised text."""
        self.exact.add(norm)
        sh = shingles(norm)
        ident = len(self.sizes)
        self.sizes.append(len(sh))
        for s in sh:
            self.postings[s].append(ident)

    def near(self, norm: str) -> bool:
        """Whether ``norm`` is a near-duplicate of an indexed text."""
        if norm in self.exact:
            return True
        sh = shingles(norm)
        shared = Counter()
        for s in sh:
            shared.update(self.postings.get(s, ()))
        n = len(sh)
        for ident, inter in shared.items():
            if inter / (n + self.sizes[ident] - inter) >= self.threshold:
                return True
        return False


def pick(candidates, n: int, labelled=None, per_file_cap=None, decay=None) -> list:
    """Return at most ``n`` candidates to label, best first.

    Greedy: each step takes the candidate with the highest priority after decay --
    ``DECAY_QUEUE`` per pick already made from its (reason, topic) queue,
    ``DECAY_FILE`` per pick from its file, ``DECAY_ARTICLE`` per pick from its article
    -- so the picks spread over topics, reasons, files and articles while the most
    uncertain paragraphs still come first.  At most ``per_file_cap`` picks a file
    (default: twice an even share, at least 3) while other files have candidates left.
    A candidate that is a near-duplicate of ``labelled`` (a ``ShingleIndex``, or
    normalised texts) or of an earlier pick is skipped.  ``decay`` (queue, file,
    article factors, each in (0, 1]) overrides the three ``DECAY_*`` defaults."""
    d_queue, d_file, d_article = decay or (DECAY_QUEUE, DECAY_FILE, DECAY_ARTICLE)
    if not isinstance(labelled, ShingleIndex):
        labelled = ShingleIndex(labelled or ())
    order = sorted(candidates, key=lambda c: -c.priority)
    files = {c.file for c in order}
    if per_file_cap is None:
        per_file_cap = max(3, math.ceil(2 * n / max(1, len(files))))
    taken = ShingleIndex(threshold=labelled.threshold)
    by_queue, by_file, by_article = Counter(), Counter(), Counter()
    alive = list(order)
    picked = []
    cap = per_file_cap
    while len(picked) < n and alive:
        best, best_eff, best_at = None, -1.0, -1
        for at, c in enumerate(alive):
            if c.priority <= best_eff:
                break
            if by_file[c.file] >= cap:
                continue
            eff = (c.priority * d_queue ** by_queue[c.queue] * d_file ** by_file[c.file]
                   * d_article ** by_article[c.article])
            if eff > best_eff:
                best, best_eff, best_at = c, eff, at
        if best is None:
            if cap == math.inf:
                break
            cap = math.inf  # every file left is at its cap: fill up from them
            continue
        del alive[best_at]
        if labelled.near(best.norm) or taken.near(best.norm):
            continue
        picked.append(best)
        taken.add(best.norm)
        by_queue[best.queue] += 1
        by_file[best.file] += 1
        by_article[best.article] += 1
    return picked


# ---------------------------------------------------------------------------
# Reading an archive


@dataclass
class SuggestRun:
    """What ``suggest`` found: ``rows`` (dicts with ``SUGGEST_COLUMNS``, strings) and
    ``failures`` ((file name, reason)), with counts for the summary."""

    rows: list
    failures: list
    files: int = 0
    articles: int = 0
    paragraphs: int = 0
    already_labelled: int = 0
    candidates: int = 0


def page_contexts(name: str, text: str) -> tuple[list, int]:
    """Return the ``ArticleContext`` list of a decoded page named ``name`` (as
    ``newstag tag`` names it), split as ``newstag tag`` splits it, and its number of
    paragraphs."""
    from newstag.model.pages import split_page

    contexts, paragraphs = [], 0
    for art in split_page(text):
        paragraphs += len(art.paragraphs)
        contexts.append(ArticleContext(
            key=f"{name}#{art.index}",
            file=name,
            title=art.title,
            paragraphs=list(art.paragraphs),
            sources=[f"{name}:{a}-{b}" for a, b in art.paragraph_lines],
        ))
    return contexts, paragraphs


def _trim(candidates, keep: int) -> list:
    """Keep the ``keep`` best candidates of each queue."""
    out, per_queue = [], Counter()
    for c in sorted(candidates, key=lambda c: -c.priority):
        if per_queue[c.queue] < keep:
            per_queue[c.queue] += 1
            out.append(c)
    return out


_worker: dict = {}  # the model and settings of a pool worker process


def _init_worker(model, labelled_exact, keep) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _worker.update(model=model, labelled=labelled_exact, keep=keep)


def _worker_file(source):
    return suggest_file(source, _worker["model"], _worker["labelled"], _worker["keep"])


def suggest_file(source, model, labelled_exact, keep):
    """Return ``(name, candidates, error, (articles, paragraphs, already labelled))``
    for one ``archive.Source``: its candidates not in ``labelled_exact`` (normalised
    texts), the ``keep`` best of each queue.  Never raises for a bad file."""
    from newstag.archive import read_page

    if source.error:
        return source.name, [], source.error, (0, 0, 0)
    try:
        text, _, _ = read_page(source.path)
    except ValueError as exc:
        return source.name, [], str(exc), (0, 0, 0)
    try:
        contexts, paragraphs = page_contexts(source.name, text)
        cands = score_articles(model, contexts)
    except Exception as exc:  # a bug on one odd page must not stop the archive
        return source.name, [], f"internal error: {type(exc).__name__}: {exc}", (0, 0, 0)
    fresh = [c for c in cands if c.norm not in labelled_exact]
    return source.name, _trim(fresh, keep), None, (len(contexts), paragraphs, len(cands) - len(fresh))


def _results(sources, workers, model, labelled_exact, keep):
    """Yield ``suggest_file``'s result for each source, in order: in this process, or
    in a pool of ``workers`` processes (the model sent to each once; at most 4 files
    a worker in flight)."""
    if workers <= 1:
        for src in sources:
            yield suggest_file(src, model, labelled_exact, keep)
        return
    from newstag.archive import map_in_order

    yield from map_in_order(_worker_file, sources, workers, _init_worker, (model, labelled_exact, keep))


def suggest(model, paths, n=50, labels_path=None, workers=1) -> SuggestRun:
    """Return the ``n`` (at most) paragraphs of the pages in ``paths`` most worth
    labelling next, as a ``SuggestRun``.

    Files are found, read and split as ``newstag tag`` does them; a file that cannot be
    read goes to ``failures`` with its reason and the rest go on.  Paragraphs already in
    ``labels_path`` (labels.csv; normalised text equal or a near-duplicate), too short
    or table-like are left out."""
    from newstag.archive import find_files

    known = list(labelled_keys(labels_path)) if labels_path else []
    sources = list(find_files([str(p) for p in paths]))
    run = SuggestRun(rows=[], failures=[])
    candidates = []
    results = _results(sources, max(1, int(workers)), model, set(known), n + KEEP_EXTRA)
    try:
        for name, cands, error, (articles, paragraphs, labelled) in results:
            if error:
                run.failures.append((name, error))
                continue
            run.files += 1
            run.articles += articles
            run.paragraphs += paragraphs
            run.already_labelled += labelled
            candidates.extend(cands)
    finally:
        results.close()
    run.candidates = len(candidates)
    chosen = pick(candidates, n, ShingleIndex(known))
    run.rows = [c.row(model.topics) for c in chosen]
    return run


# ---------------------------------------------------------------------------
# The suggestions CSV


def write_suggestions(rows, path) -> None:
    """Write suggestion ``rows`` to ``path`` as CSV for Excel (UTF-8 with BOM, CRLF,
    ``SUGGEST_COLUMNS`` in order; other keys ignored), atomically: a temporary file
    beside it, renamed into place."""
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=SUGGEST_COLUMNS, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({c: r.get(c, "") or "" for c in SUGGEST_COLUMNS} for r in rows)
    write_atomically(Path(path), ("\ufeff" + buf.getvalue()).encode("utf-8"))


def _read_rows(path, required) -> list:
    """Return ``(row number, first line, row dict)`` of each data row of a CSV at
    ``path`` (UTF-8 with or without BOM; GB18030, as Excel saves "CSV" on a Chinese
    system, is accepted too); ``LabelsError`` naming the file when it is missing, does
    not decode, or lacks a ``required`` column."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LabelsError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise LabelsError([f"{path}: neither UTF-8 ({exc.reason} at byte {exc.start}) nor GB18030; "
                               "save it as CSV UTF-8"]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() if h else h for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        raise LabelsError([f"{path}: missing column(s) {', '.join(missing)} in the header "
                           f"(has: {', '.join(h for h in header if h) or 'nothing'})"])
    rows, line = [], 2
    for rowno, row in enumerate(reader, start=1):
        extra = row.pop(None, None)
        clean = {k: (v or "") for k, v in row.items() if k}
        if extra and any(x.strip() for x in extra):
            clean[None] = extra
        rows.append((rowno, line, clean))
        line = reader.line_num + 1
    return rows


def read_suggestions(path) -> list:
    """Return the rows of a suggestions CSV at ``path`` as dicts (strings; extra
    columns kept).  Raises ``LabelsError`` naming the file and the missing column."""
    return [{k: v for k, v in row.items() if k is not None} for _, _, row in _read_rows(path, SUGGEST_COLUMNS)]


@dataclass
class Filled:
    """The rows of filled suggestion files ready to append (``rows``: dicts for
    ``append_rows``), and what was left out: ``blank`` (labels left empty) and
    ``repeated`` (already in labels.csv with the same labels, or the same paragraph
    given twice with the same labels)."""

    rows: list = field(default_factory=list)
    blank: int = 0
    repeated: int = 0


def default_labeller() -> str:
    """Return the OS user name (what ``labelled_by`` says when a row does not)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        return "unknown"


def read_filled(paths, topics, labelled=None, labelled_by=None, today=None) -> Filled:
    """Read suggestion CSVs whose ``labels`` column a person filled; return a ``Filled``.

    ``paths``: one path or several; ``topics``: declared topic names; ``labelled``:
    ``labelled_keys`` of labels.csv.  ``labels`` holds topic names joined by ``;`` or
    the word ``none`` (a paragraph of no topic); a blank cell means "not labelled" and
    the row is skipped.  Every problem -- empty text, an undeclared topic (with the
    closest declared one), ``none`` together with a topic, the same paragraph with
    other labels in labels.csv or in another added row -- is collected and raised as
    one ``LabelsError`` naming ``FILE: row N (line L), field F``.  Provenance:
    ``labelled_by`` from the row's column of that name, else ``labelled_by``, else the
    OS user; ``labelled_on`` from the row, else ``today`` (ISO date)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    names = list(topics)

    def shown(labels):  # as labels.csv writes them, or "none"
        return ";".join(n for n in names if n in labels) or NONE_WORD

    labelled = labelled or {}
    who = labelled_by or default_labeller()
    day = (today or _dt.date.today()).isoformat()
    problems, filled = [], Filled()
    seen: dict = {}  # normalised text -> (where, label set)
    for path in paths:
        for rowno, line, row in _read_rows(path, FILLED_COLUMNS):
            where = f"{path}: row {rowno} (line {line})"
            if None in row:
                problems.append(f"{where}: more fields than the header has")
                continue
            cell = row["labels"].strip()
            if not cell:
                filled.blank += 1
                continue
            text = row["text"].strip()
            if not text:
                problems.append(f"{where}, field text: empty (labels {cell!r})")
                continue
            parts = [p.strip() for p in cell.replace("；", ";").split(";") if p.strip()]
            is_none = [p for p in parts if p.lower() == NONE_WORD]
            chosen = [p for p in parts if p.lower() != NONE_WORD]
            if is_none and chosen:
                problems.append(f"{where}, field labels: {cell!r} says {NONE_WORD!r} and names topics; "
                                f"write either {NONE_WORD!r} or topics")
                continue
            unknown = [p for p in chosen if p not in names]
            problems += [unknown_topic(where, name, names, f"or {NONE_WORD!r} for no topic") for name in unknown]
            if unknown:
                continue
            labels = frozenset(chosen)
            key = normalize(text)
            if key in labelled or key in seen:
                if key in labelled:
                    old = frozenset(p.strip() for p in labelled[key].replace("；", ";").split(";") if p.strip())
                    clash = (f"the same paragraph is in labels.csv with labels {shown(old)!r}, "
                             f"here {shown(labels)!r}")
                else:
                    first, old = seen[key]
                    clash = (f"the same paragraph as {first} with other labels "
                             f"({shown(old)!r} there, {shown(labels)!r} here)")
                if old != labels:
                    problems.append(f"{where}, field labels: {clash}")
                else:
                    filled.repeated += 1
                continue
            seen[key] = (where, labels)
            filled.rows.append({
                "text": text,
                "labels": ";".join(n for n in names if n in labels),
                "source": row.get("source", "").strip(),
                "article": row.get("article", "").strip(),
                "labelled_by": (row.get("labelled_by") or "").strip() or who,
                "labelled_on": (row.get("labelled_on") or "").strip() or day,
            })
    if problems:
        raise LabelsError(problems)
    return filled


@dataclass
class AddReport:
    """What ``add_filled`` did: ``added`` rows appended to labels.csv, and the
    ``Filled`` counts (blank, repeated) plus rows ``append_rows`` skipped."""

    added: int
    blank: int
    repeated: int
    skipped: int

    def text(self, labels_path) -> str:
        """Return the one-line summary ``newstag train --add`` prints."""
        return (f"added {self.added} row(s) to {labels_path}; skipped {self.blank} row(s) left blank, "
                f"{self.repeated + self.skipped} already labelled")


def add_filled(labels_path, add_paths, labelled_by=None, today=None) -> AddReport:
    """Validate labels.csv and the filled suggestion files ``add_paths``, then append
    the labelled rows to labels.csv (``append_rows``: locked, atomic).  Raises
    ``LabelsError`` before anything is written when any file has a problem."""
    read_labels(labels_path)  # the file the rows go to must be valid itself
    topics = [t.name for t in read_topics(topics_path_for(labels_path))]
    filled = read_filled(add_paths, topics, labelled_keys(labels_path), labelled_by, today)
    result = append_rows(labels_path, filled.rows) if filled.rows else None
    return AddReport(
        added=result.added if result else 0,
        blank=filled.blank,
        repeated=filled.repeated,
        skipped=len(result.skipped) if result else 0,
    )
