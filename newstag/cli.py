"""The ``newstag`` command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from newstag.console import load
from newstag.model.store import DEFAULT_MODEL_PATH


def read_text_file(path) -> str:
    """Return the text of ``path`` ('-' for standard input), decoded as pages are
    (``decode_page``: UTF-8 with or without BOM, else GB18030); raises
    ``click.ClickException`` naming the file and the reason when it does not decode."""
    from newstag.model.pages import PageDecodeError, decode_page

    data = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    try:
        return decode_page(data)
    except PageDecodeError as exc:
        name = "standard input" if str(path) == "-" else str(path)
        raise click.ClickException(f"{name}: {exc.reason}") from None


model_option = click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Model file (default: the shipped model, {DEFAULT_MODEL_PATH.name}).",
)


@click.group()
@click.version_option(package_name="newstag")
def main():
    """Tag Chinese local news with the topics 供热, 人大, 文旅, 巡察."""


@main.command()
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("labels.csv"),
              show_default=True, help="Hand-labelled paragraphs; topics.csv must sit beside it.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the model (default: the shipped model's path).")
@click.option("--force", is_flag=True, help="Replace the existing model even if the new one scores lower.")
@click.option("--add", "add_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A filled suggestions CSV (newstag suggest) whose labelled rows are appended to labels.csv "
                   "before training; may be given several times.")
def train(labels_path, out_path, force, add_paths):
    """Validate labels.csv, cross-validate, and write a new model.

    \b
    With --add FILE (several times if need be), the rows of a suggestions CSV whose
    labels column was filled (topics joined by ';', or 'none') are checked as labels.csv
    is, then appended to labels.csv with their source, article, labelled_by (the
    row's column, else your user name) and labelled_on (today); rows left blank are
    skipped.  Any bad row: nothing appended, no model written.

    \b
    Examples:
        newstag train --labels labels.csv --out /tmp/new.joblib
        newstag train --add round1.csv --add round2.csv
    """
    from newstag.training.labels import LabelsError
    from newstag.training.train import RefusedError, train as run_train

    out_path = out_path or DEFAULT_MODEL_PATH
    added = None
    if add_paths:
        from newstag.training.suggest import add_filled

        try:
            added = add_filled(labels_path, add_paths)
        except LabelsError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            raise click.ClickException(f"{len(exc.problems)} problem(s); nothing added to {labels_path}, no model written")
        click.echo(added.text(labels_path))
    rows_note = (f" ({added.added} row(s) were added to {labels_path} and stay there: run "
                 f"newstag train without --add to retrain)") if added and added.added else ""
    try:
        report = run_train(labels_path, out_path, force=force)
    except LabelsError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s) in the labels; no model written{rows_note}")
    except RefusedError as exc:
        if rows_note:
            raise click.ClickException(
                f"{exc} The {added.added} new row(s) were added to {labels_path} and stay there; to keep them and "
                f"replace the model anyway: newstag train --labels {labels_path}"
                + (f" --out {out_path}" if out_path != DEFAULT_MODEL_PATH else "") + " --force (without --add)")
        raise click.ClickException(str(exc))
    for w in report.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(report.text())
    m = report.meta
    click.echo(
        f"\nTrained on {m['n_paragraphs']} paragraphs in {m['n_articles']} articles in {report.seconds:.1f} s; "
        f"wrote {report.written} (version {m['version']})"
    )


def _classify_jsonl(model, stream_in, stream_out) -> int:
    """Tag JSON lines from the binary stream ``stream_in``; return the number of malformed
    lines (each answered with an error line)."""
    failed = 0
    for lineno, raw in enumerate(stream_in, start=1):
        if not raw.strip():
            continue
        ident = lineno
        try:
            line = raw.decode("utf-8")  # UnicodeDecodeError is a ValueError
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("line is not a JSON object")
            ident = obj.get("id", lineno)
            text = obj.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("field 'text' is missing, empty or not a string")
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            failed += 1
            out = {"id": ident, "line": lineno, "error": str(exc)}
        else:
            r = model.tag_article(text, evidence=False)
            out = {"id": ident, "labels": r["labels"], "scores": r["scores"]}
        stream_out.write(json.dumps(out, ensure_ascii=False) + "\n")
        stream_out.flush()
    return failed


@main.command()
@click.argument("file", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--jsonl", is_flag=True, help='Read {"id", "text"} JSON lines on standard input; write one result line each.')
@model_option
def classify(file, jsonl, model_path):
    """Tag one article (a headline line, then its paragraphs) and print JSON.

    \b
    Examples:
        newstag classify article.txt
        cat articles.jsonl | newstag classify --jsonl
    """
    model = load(model_path)
    if jsonl:
        failed = _classify_jsonl(model, sys.stdin.buffer, sys.stdout)
        if failed:
            click.echo(f"{failed} malformed line(s); see their error lines", err=True)
            sys.exit(1)
        return
    text = read_text_file(file)
    if not text.strip():
        raise click.ClickException(f"{'standard input' if file == '-' else file}: no text to classify")
    result = model.tag_article(text)
    result["model"] = model.meta_.get("version")
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


@main.command()
@click.option("--set", "set_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Evaluation set (JSON lines; default: tests/data/eval_articles.jsonl of the checkout).")
@click.option("--show-errors", is_flag=True, help="List the articles the model gets wrong.")
@model_option
def evaluate(set_path, show_errors, model_path):
    """Measure a model on the article-level evaluation set.

    \b
    Example:
        newstag evaluate --model /tmp/new.joblib --show-errors
    """
    from newstag.training.evaluate import EVAL_SET, evaluate_model, read_eval_set
    from newstag.training.metrics import format_table

    model = load(model_path)
    path = set_path or EVAL_SET
    if not Path(path).is_file():
        raise click.ClickException(f"{path}: no evaluation set (give one with --set)")
    try:
        articles = read_eval_set(path, model.topics)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    metrics, results = evaluate_model(model, articles)
    by_kind = metrics.pop("by_kind")
    click.echo(format_table(metrics, f"Evaluation set {path} ({len(articles)} articles), model {model.meta_.get('version')}"))
    click.echo("Exact match by kind: " + ", ".join(f"{k} {v['exact']}/{v['articles']}" for k, v in by_kind.items()))
    if show_errors:
        for a, r in zip(articles, results):
            if sorted(a.labels) != sorted(r["labels"]):
                click.echo(f"  {a.id} [{a.kind}] {a.title}: true {a.labels} got {r['labels']} {r['scores']}")


def _register():
    """Attach the commands that live in their own modules."""
    from newstag.diffcmd import diff
    from newstag.servecmd import serve
    from newstag.suggestcmd import suggest
    from newstag.tagcmd import tag

    main.add_command(tag)
    main.add_command(serve)
    main.add_command(suggest)
    main.add_command(diff)


_register()
