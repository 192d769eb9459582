"""``newstag suggest``: pick the paragraphs of an archive most worth labelling next and
write them to a CSV a person fills in (then ``newstag train --add FILE``).

The command is registered on the ``newstag`` group in ``newstag.cli``; the work is
done by ``newstag.training.suggest``.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

from newstag.model.store import DEFAULT_MODEL_PATH

EXIT_FAILED_FILES = 1


def _kind(reason: str) -> str:
    """Return the kind of a suggestion's (first) reason, for the summary."""
    for prefix, kind in (("near", "near a threshold"), ("paragraphs disagree", "disagreement"), ("new", "new vocabulary")):
        if reason.startswith(prefix):
            return kind
    return "other"


@click.command("suggest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-n", "n", type=click.IntRange(min=1), default=50, show_default=True,
              help="Paragraphs to suggest (at most).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("suggestions.csv"),
              show_default=True, help="The CSV to write (UTF-8 with BOM, for Excel); replaced atomically.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Model file (default: the shipped model, {DEFAULT_MODEL_PATH.name}).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of cores).")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("labels.csv"),
              show_default=True, help="labels.csv: its paragraphs (and near-copies of them) are not suggested again.")
def suggest(paths, n, output, model_path, workers, labels_path):
    """Pick the paragraphs of the pages in PATH... (files, or folders searched for
    *.txt) that the model is least sure of, and write them to a CSV to label.

    \b
    A paragraph is picked when its score is near a topic's paragraph threshold, when
    its article's tags and its paragraphs' tags disagree, or when many of its words are
    new to the model; picks are spread over topics, files and articles, and skip
    near-duplicates of each other and of labels.csv, short paragraphs and tables.
    Columns: text, labels (blank: fill it in), guess, scores, source, article_title,
    article, reason, before, after.  Fill labels with topic names joined by ';', or
    'none' for a paragraph of no topic; leave it blank to skip the row.  Then:
    newstag train --add suggestions.csv.  Files that cannot be read are reported and
    skipped (the CSV is still written); the exit status is then 1.

    \b
    Options, with examples:
      -n 50              at most 50 paragraphs:        newstag suggest archive/ -n 100
      -o FILE            the CSV to write:             newstag suggest archive/ -o round2.csv
      --model PATH       score with this model:        newstag suggest archive/ --model /tmp/new.joblib
      --workers N        read and score in N processes: newstag suggest archive/2024 --workers 2
      --labels PATH      skip what this file labels:   newstag suggest archive/ --labels data/labels.csv

    \b
    Example round:
        newstag suggest /archive/2024 -n 50 -o round1.csv
        (fill the labels column, in Excel or at /label)
        newstag train --add round1.csv
    """
    from newstag.archive import default_workers
    from newstag.console import load
    from newstag.training.labels import LabelsError
    from newstag.training.suggest import suggest as run_suggest, write_suggestions

    model = load(model_path)
    labels = labels_path if labels_path.is_file() else None
    if labels is None:
        click.echo(f"note: {labels_path} not found: nothing is skipped as already labelled", err=True)
    try:
        run = run_suggest(model, paths, n=n, labels_path=labels, workers=workers or default_workers())
    except LabelsError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("interrupted; nothing written", err=True)
        sys.exit(130)
    for name, reason in run.failures:
        click.echo(f"{name}: {reason}", err=True)
    try:
        write_suggestions(run.rows, output)
    except OSError as exc:
        raise click.ClickException(f"{output}: cannot be written ({exc.strerror or exc})") from None
    kinds = Counter(_kind(r["reason"]) for r in run.rows)
    click.echo(
        f"{run.files} file(s), {run.articles} article(s), {run.paragraphs} paragraph(s): "
        f"{run.already_labelled} already labelled, {run.candidates} candidate(s); "
        f"wrote {len(run.rows)} suggestion(s) to {output}"
        + (f" ({', '.join(f'{k}: {v}' for k, v in kinds.most_common())})" if kinds else ""),
        err=True,
    )
    if run.failures:
        click.echo(f"{len(run.failures)} file(s) failed", err=True)
        sys.exit(EXIT_FAILED_FILES)
