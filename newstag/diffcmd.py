"""``newstag diff``: the articles of an archive whose tags differ between two models.

The command is registered on the ``newstag`` group in ``newstag.cli``.  Files are found
and read as ``newstag tag`` reads them (``archive.find_files``, ``archive.read_page``,
the page splitter); the comparison itself is ``newstag.training.diff``.  Work is spread
over ``--workers`` processes, each holding both models once; at most 4 files per worker
are in flight.  Only the changed articles are kept in memory, to be sorted.
"""
from __future__ import annotations

import sys
import warnings
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import click

from newstag import archive
from newstag.console import load, silence_stdout
from newstag.model.atomic import write_atomically
from newstag.model.store import ModelVersionWarning, load_model
from newstag.training import diff as modeldiff

EXIT_FAILED_FILES = 1


# ---------------------------------------------------------------------------
# One file, in a worker process or in this one

_models: dict = {}


@dataclass
class FileDiff:
    """What became of one file: its ``SplitDiff`` or ``error`` (why it failed);
    ``articles`` and ``size`` feed the progress bar."""

    name: str
    result: modeldiff.SplitDiff | None = None
    error: str | None = None
    size: int = 0

    @property
    def articles(self) -> int:
        return self.result.articles if self.result else 0


def _init_worker(old_path, new_path) -> None:
    """Load both models in a pool worker (unless inherited through fork)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _models.get("paths") != (old_path, new_path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelVersionWarning)  # the main process warned already
            _models.update(old=load_model(old_path), new=load_model(new_path), paths=(old_path, new_path))


def diff_file(source: archive.Source) -> FileDiff:
    """Compare both models on one file; never raises for a bad file."""
    if source.error:
        return FileDiff(source.name, error=source.error)
    try:
        text, size, _ = archive.read_page(source.path)
    except ValueError as exc:
        return FileDiff(source.name, error=str(exc))
    try:
        result = modeldiff.compare_page(_models["old"], _models["new"], text, source.name)
    except Exception as exc:  # a bug on one odd page must not stop the archive
        return FileDiff(source.name, error=f"internal error: {type(exc).__name__}: {exc}", size=size)
    return FileDiff(source.name, result, size=size)


def diff_in_order(sources, workers: int, old_path, new_path):
    """Yield the ``FileDiff`` of each source, in order: in this process, or in a pool
    of ``workers`` processes holding both models (``archive.map_in_order``)."""
    if workers <= 1:
        yield from map(diff_file, sources)
        return
    yield from archive.map_in_order(diff_file, sources, workers, _init_worker, (old_path, new_path))


@click.command("diff")
@click.argument("old_model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new_model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--format", "format_name", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="Text for an editor, or JSON lines (one per changed article, then a summary line).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to OUT (replaced only when the run has finished) instead of standard output.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of cores).")
def diff(old_model, new_model, paths, format_name, output, workers):
    """Tag the articles of PATH... (files, or folders searched for *.txt) with
    OLD_MODEL and NEW_MODEL and list those whose tags differ: both tag sets, the
    scores that moved, the evidence of every gained or lost tag, the biggest changes
    first; then tags gained and lost per topic.

    \b
    Files that cannot be read or decoded are reported and skipped; the exit status is
    1 when any file failed.  Read this before a retrained model replaces the old one.

    \b
    Examples:
        newstag diff model/newstag.joblib /tmp/new.joblib examples/archive
        newstag diff old.joblib new.joblib /archive/2024 --format jsonl -o diff.jsonl
    """
    workers = workers or archive.default_workers()
    old = load(old_model)
    new = load(new_model)
    _models.update(old=old, new=new, paths=(str(old_model), str(new_model)))  # forked workers inherit them

    display = dict(getattr(old, "display_names", None) or {})
    display.update(getattr(new, "display_names", None) or {})
    summary = modeldiff.DiffSummary(list(old.topics), list(new.topics), display)

    err = sys.stderr
    progress = archive.Progress(err, archive.stderr_is_tty(err))
    progress.count_in_background(paths)
    changes = []
    results = diff_in_order(archive.find_files(paths), workers, str(old_model), str(new_model))
    try:
        for fd in results:
            if fd.error:
                progress.clear()
                click.echo(f"{fd.name}: {fd.error}", err=True)
                summary.add_failure(fd.name, fd.error)
                continue
            summary.add(fd.result)
            changes.extend(fd.result.changes)
            progress.update(fd)
    except KeyboardInterrupt:
        progress.clear()
        click.echo("interrupted: nothing written", err=True)
        sys.exit(130)
    except BrokenProcessPool:
        progress.clear()
        raise click.ClickException("a worker process died (killed, or out of memory?): nothing written") from None
    finally:
        results.close()
        _models.clear()
    progress.clear()

    changes = modeldiff.sort_changes(changes)
    if format_name == "jsonl":
        data = modeldiff.format_jsonl(changes, summary)
    else:
        data = modeldiff.format_text(changes, summary, str(old_model), str(new_model))
    if output is not None:
        write_atomically(output, data.encode("utf-8"))
        click.echo(summary.text(), err=True)
    else:
        try:
            click.echo(data, nl=False)
        except BrokenPipeError:  # `newstag diff ... | head`
            silence_stdout()
            sys.exit(EXIT_FAILED_FILES)
    if summary.failures:
        sys.exit(EXIT_FAILED_FILES)
