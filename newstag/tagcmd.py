"""``newstag tag``: split archive pages into articles and tag every article.

The command is registered on the ``newstag`` group in ``newstag.cli``; the work is
done by ``newstag.archive`` (file walking, worker pool, resumable outputs, progress,
summary), or with ``--scheduler`` by ``newstag.cluster`` on a Dask cluster (same
outputs, progress and summary).
"""
from __future__ import annotations

import os
import signal
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import click

from newstag import archive
from newstag.console import load, silence_stdout
from newstag.model.store import DEFAULT_MODEL_PATH

EXIT_FAILED_FILES = 1
EXIT_INTERRUPTED = 130


def _pending(sources, output, say):
    """Yield the sources not yet written by an interrupted run; warn (through ``say``)
    about those written but changed since."""
    for src in sources:
        if src.name in output.done:
            size, mtime_ns = output.done[src.name]
            if size is None:  # failed in a Parquet part already written: reported again
                continue
            try:
                st = os.stat(src.path)
                changed = (st.st_size, st.st_mtime_ns) != (size, mtime_ns)
            except OSError:
                changed = True
            if changed:
                say(f"warning: {src.name} changed since the interrupted run tagged it; "
                    "its records are from the earlier version (use --restart to redo all)")
            continue
        yield src


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _on_sigterm(handler):
    """Install ``handler`` for SIGTERM (``kill``) and return the previous one; None where
    signals cannot be set (not the main thread)."""
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return None


def _connect(address, model_file):
    """Return ``(newstag.cluster, client, model SHA-256, model info)``: a client of the
    Dask scheduler at ``address`` whose workers have been sent and have loaded the model
    at ``model_file``, and what a worker says of that model (``cluster.ModelInfo``: the
    client does not load it).  A ``ClickException`` when dask is missing, the model file
    cannot be read, the scheduler does not answer or a worker cannot load the model."""
    try:
        from newstag import cluster
    except ImportError as exc:
        raise click.ClickException(
            f"--scheduler needs dask.distributed, which is not installed ({exc}): pip install 'newstag[cluster]'"
        ) from None
    if not os.access(model_file, os.R_OK) or os.path.isdir(model_file):
        raise click.ClickException(f"{model_file}: no such model file, or it cannot be read")
    try:
        client = cluster.connect(address)
    except cluster.ClusterError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        click.echo(cluster.describe(client), err=True)
        model_sha = cluster.send_model(client, model_file)
        info = cluster.model_info(client, model_sha)
    except cluster.ClusterError as exc:
        client.close()
        raise click.ClickException(str(exc)) from None
    for message in info.warnings:
        click.echo(f"warning: {message}", err=True)
    return cluster, client, model_sha, info


def _open_output(paths, output, format_name, model, model_sha, restart):
    """Return ``(output, sources)``: the output to write to (standard output, a
    resumable file, a Parquet dataset) and the files to tag, in order (for Parquet,
    listed and grouped into parts first)."""
    sources = archive.find_files(paths)
    fmt = archive.make_format(format_name, model.topics)
    if output is None:
        return archive.StreamOutput(sys.stdout.buffer, fmt), sources
    signature = {
        "paths": list(paths),
        "abs_paths": [os.path.abspath(p) for p in paths],
        "model_sha256": model_sha,
    }
    if format_name == "parquet":
        groups = list(archive.group_sources(sources))
        out = archive.ParquetOutput(output, model.topics, signature, groups, restart=restart)
        return out, [src for group in groups for src in group]
    return archive.ResumableOutput(output, fmt, signature, restart=restart), sources


@click.command("tag")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the records to OUT (resumable) instead of standard output; "
                   "with --format parquet, OUT is a folder.")
@click.option("--format", "format_name", type=click.Choice(["jsonl", "csv", "parquet"]), default="jsonl",
              show_default=True,
              help="JSON lines, CSV for spreadsheets (UTF-8 with BOM), or a Parquet dataset (needs -o).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of cores).")
@click.option("--scheduler", metavar="ADDRESS", envvar="NEWSTAG_SCHEDULER", default=None,
              help="Do the work on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786; "
                   "default: $NEWSTAG_SCHEDULER); its workers must read PATH at the same absolute paths.")
@click.option("--restart", is_flag=True,
              help="With -o: discard an interrupted run's OUT.part, or replace an existing OUT when this run finishes.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Model file (default: the shipped model, {DEFAULT_MODEL_PATH.name}).")
def tag(paths, output, format_name, workers, scheduler, restart, model_path):
    """Split the pages in PATH... (files, or folders searched for *.txt) into articles
    and tag each: one record per article, in file order.

    \b
    Records (JSON lines): file, index, title, lines [first, last], labels, scores, chars.
    Files that cannot be read or decoded are reported and skipped; the exit status is 1
    when any file failed.  With -o, an interrupted run carries on when run again with
    the same arguments.

    \b
    Examples:
        newstag tag archive/ > records.jsonl
        newstag tag archive/2023 archive/2024 -o tags.csv --format csv --workers 4
        newstag tag /mnt/archive -o /mnt/tags --format parquet --scheduler tcp://10.0.0.5:8786
    """
    if restart and output is None:
        raise click.UsageError("--restart only applies with -o")
    if format_name == "parquet" and output is None:
        raise click.UsageError("--format parquet writes a folder of part files: name it with -o DIR")
    if format_name != "parquet" and output is not None and output.is_dir():
        raise click.UsageError(f"-o {output}: is a folder; --format {format_name} writes one file")
    if scheduler and workers:
        raise click.UsageError("--workers does not apply with --scheduler: the cluster's workers do the work")
    model_file = str(model_path or DEFAULT_MODEL_PATH)
    if scheduler:  # the workers load the model; the client only needs its topics
        cluster, client, model_sha, model = _connect(scheduler, model_file)
    else:
        model = load(model_path)
        archive.set_worker_model(model, model_file, format_name)  # forked workers inherit it
        cluster = client = None
        model_sha = archive.model_fingerprint(model_file) if output is not None else None
    try:
        _tag(paths, output, format_name, workers or archive.default_workers(), restart, model, model_file,
             model_sha, cluster, client)
    finally:
        if client is not None:
            client.close()


def _tag(paths, output, format_name, workers, restart, model, model_file, model_sha, cluster, client):
    """Run ``newstag tag`` (its arguments checked): locally with ``workers`` processes
    and ``model`` loaded, or with ``cluster`` (the ``newstag.cluster`` module) and its
    ``client``, whose workers hold the model (``model`` is then a ``cluster.ModelInfo``:
    its topics and their display names).  Ends with ``sys.exit`` on failures or an
    interruption."""
    out, sources = _open_output(paths, output, format_name, model, model_sha, restart)
    try:
        out.start()
    except archive.ResumeError as exc:
        raise click.ClickException(str(exc)) from None

    err = sys.stderr
    tty = archive.stderr_is_tty(err)
    progress = archive.Progress(err, tty)
    progress.count_in_background(paths)
    progress.files = out.resumed_files
    progress.articles = out.resumed_articles

    def say(message):
        progress.clear()
        click.echo(message, err=True)

    display = dict(getattr(model, "display_names", None) or {}) or {t: t for t in model.topics}
    summary = archive.Summary(display={t: display.get(t, t) for t in model.topics})
    summary.add_resumed(out)
    if out.resumed_files:
        say(f"resuming {output}: {out.resumed_files} file(s), {out.resumed_articles} article(s) "
            "already written by the interrupted run")

    pending = _pending(sources, out, say)
    if client is not None:
        results = cluster.tag_in_order(client, pending, model_sha, format_name)
        cluster_errors = (cluster.ClusterError,)
    else:
        results = archive.tag_in_order(pending, workers, model_file, format_name)
        cluster_errors = ()
    stopped = None  # why the run stopped early, if it did
    previous_sigterm = _on_sigterm(_interrupt)  # `kill` ends the run as Ctrl-C does
    try:
        for result in results:
            if result.error:
                say(f"{result.name}: {result.error}")
            out.append(result)
            summary.add(result)
            progress.update(result)
    except KeyboardInterrupt:
        stopped = "interrupted"
    except BrokenPipeError:
        stopped = "broken pipe"
    except BrokenProcessPool:
        stopped = "a worker process died (killed, or out of memory?)"
    except cluster_errors as exc:
        stopped = f"the cluster failed: {exc}"
    finally:
        results.close()  # stops the worker pool
        if previous_sigterm is not None:
            _on_sigterm(previous_sigterm)
        out.close()
    progress.clear()

    if stopped == "broken pipe":
        silence_stdout()
        sys.exit(EXIT_FAILED_FILES)
    if stopped:
        if stopped != "interrupted":
            click.echo(f"error: {stopped}", err=True)
        click.echo(summary.text(interrupted=True), err=True)
        if output is not None:
            click.echo(f"{output} is not finished: run the same command again to carry on "
                       f"(records so far are in {out.part})", err=True)
        sys.exit(EXIT_INTERRUPTED if stopped == "interrupted" else EXIT_FAILED_FILES)
    out.finish()
    click.echo(summary.text(), err=True)
    if summary.failures:
        sys.exit(EXIT_FAILED_FILES)
