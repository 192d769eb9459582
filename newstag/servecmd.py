"""``newstag serve``: run the web service under gunicorn (or Flask's server with --debug).

The app is made, and its model loaded, once in the gunicorn master ("preload"); the
workers are forked from it and share the loaded model's memory until they write to it.
Worker class ``gthread``: each worker answers ``--threads`` connections at a time,
keeps connections alive, and finishes the ones in flight when told to stop.

Switching to a new model (after ``newstag train`` wrote one):

* ``kill -HUP <master pid>``: the master loads the file again, forks new workers from it,
  and stops the old ones gracefully (they finish their requests first);
* or nothing at all: each worker looks at the file every ``--reload-interval`` seconds
  and switches to a new file by itself, between requests.

Every option also reads an environment variable (``NEWSTAG_HOST``, ``NEWSTAG_PORT``,
``NEWSTAG_WORKERS``, ``NEWSTAG_THREADS``, ``NEWSTAG_MODEL``, ``NEWSTAG_MAX_BYTES``,
``NEWSTAG_MAX_TEXTS``, ``NEWSTAG_RELOAD_INTERVAL``, ``NEWSTAG_BATCH_MAX``,
``NEWSTAG_LABELLING``, ``NEWSTAG_LABELLING_TOKEN``, ``NEWSTAG_LABEL_QUEUE``,
``NEWSTAG_LABEL_QUEUE_SIZE``, ``NEWSTAG_LABELS``); the option wins.

Labelling (``--labelling``) adds the page ``/label`` and its API; it refuses to start
without a token.  The token is a secret: it is not echoed, and the access log
(``ACCESS_LOG_FORMAT``: the request line, no header) never holds it, as the page sends it
in the ``Authorization`` header.  Prefer the environment variable to the option, which
other users of the machine can read in the process list.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from newstag.service.config import (
    DEFAULT_BATCH_MAX,
    DEFAULT_LABEL_QUEUE_SIZE,
    DEFAULT_LABELS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_TEXTS,
    DEFAULT_RELOAD_INTERVAL,
)

ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms id=%({x-request-id}o)s'


def default_workers() -> int:
    """Return the number of cores this process may run on (the default --workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def gunicorn_options(host, port, workers, threads, timeout, access_log) -> dict:
    """Return the gunicorn settings ``newstag serve`` runs with."""
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "preload_app": True,
        "timeout": timeout,
        "graceful_timeout": timeout,
        "keepalive": 5,
        "accesslog": access_log,
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "newstag",
    }


def make_gunicorn_app(flask_app, options: dict):
    """Return a gunicorn application serving the already-made ``flask_app`` with
    ``options``; its ``run()`` blocks until gunicorn stops."""
    from gunicorn.app.base import BaseApplication

    holder = flask_app.extensions["newstag"]

    def post_fork(server, worker):
        # A worker forked after the file changed (a crash, a restart) starts on it.
        holder.reload_if_changed()
        holder.ensure_watcher()

    class NewstagServer(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)
            self.cfg.set("post_fork", post_fork)
            if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 24: no shared ~/.gunicorn socket
                self.cfg.set("control_socket_disable", True)

        def load(self):
            return flask_app

        def reload(self):
            """SIGHUP in the master: re-read settings, then the model file; the new
            workers gunicorn forks next start on it."""
            super().reload()
            holder.reload_now()

    return NewstagServer()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="NEWSTAG_HOST",
              help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, envvar="NEWSTAG_PORT",
              help="Port to listen on.")
@click.option("--workers", type=click.IntRange(min=1), default=None, envvar="NEWSTAG_WORKERS",
              help="Worker processes (default: the number of cores).")
@click.option("--threads", type=click.IntRange(min=1), default=4, show_default=True, envvar="NEWSTAG_THREADS",
              help="Connections each worker answers at once.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              envvar="NEWSTAG_MODEL", help="Model file (default: the shipped model).")
@click.option("--max-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES, show_default=True,
              envvar="NEWSTAG_MAX_BYTES", help="Largest request body; larger ones get 413.")
@click.option("--max-texts", type=click.IntRange(min=1), default=DEFAULT_MAX_TEXTS, show_default=True,
              envvar="NEWSTAG_MAX_TEXTS", help='Most articles in one {"texts": [...]} call.')
@click.option("--reload-interval", type=click.FloatRange(min=0), default=DEFAULT_RELOAD_INTERVAL, show_default=True,
              envvar="NEWSTAG_RELOAD_INTERVAL",
              help="Seconds between looks at the model file for a new version (0: only on SIGHUP).")
@click.option("--batch-max", type=click.IntRange(min=1), default=DEFAULT_BATCH_MAX, show_default=True,
              envvar="NEWSTAG_BATCH_MAX",
              help="Most articles of concurrent /classify requests tagged in one model call (1: no batching).")
@click.option("--timeout", type=click.IntRange(min=1), default=30, show_default=True,
              help="Seconds before a silent worker is restarted; also the grace period for stopping.")
@click.option("--access-log", default=None, help="Write an access log line per request here ('-': standard error).")
@click.option("--debug", is_flag=True, help="Flask's development server instead of gunicorn (one process).")
@click.option("--labelling", is_flag=True, envvar="NEWSTAG_LABELLING",
              help="Serve the labelling page /label and its API (needs --labelling-token and --label-queue).")
@click.option("--labelling-token", default=None, envvar="NEWSTAG_LABELLING_TOKEN", show_default=False,
              help="Secret the /label page must send with every call (8+ characters); "
                   "better given as NEWSTAG_LABELLING_TOKEN than on the command line.")
@click.option("--label-queue", type=click.Path(exists=True, path_type=Path), default=None,
              envvar="NEWSTAG_LABEL_QUEUE",
              help="What to label: a `newstag suggest` CSV, or an archive folder or page file to suggest from.")
@click.option("--label-queue-size", type=click.IntRange(min=1), default=DEFAULT_LABEL_QUEUE_SIZE, show_default=True,
              envvar="NEWSTAG_LABEL_QUEUE_SIZE", help="Most paragraphs suggested from an archive --label-queue.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path), default=Path(DEFAULT_LABELS),
              show_default=True, envvar="NEWSTAG_LABELS",
              help="labels.csv the answers are appended to (topics.csv beside it).")
def serve(host, port, workers, threads, model_path, max_bytes, max_texts, reload_interval, batch_max, timeout,
          access_log, debug, labelling, labelling_token, label_queue, label_queue_size, labels_path):
    """Serve POST /classify, POST /tag, GET /health, /labels, /model, /openapi.json and
    the page at GET /.

    \b
    Examples:
        newstag serve --port 8000 --workers 2
        NEWSTAG_MODEL=/srv/newstag.joblib newstag serve --host 0.0.0.0
        kill -HUP <master pid>      # switch to the model file's new version
        NEWSTAG_LABELLING_TOKEN=$(openssl rand -hex 16) newstag serve --labelling \\
            --label-queue suggestions.csv --labels labels.csv     # then open /label
    """
    from newstag.model.store import ModelFileError
    from newstag.service import create_app
    from newstag.service.config import ConfigError

    config = {
        "NEWSTAG_MODEL": str(model_path) if model_path else None,
        "MAX_CONTENT_LENGTH": max_bytes,
        "NEWSTAG_MAX_TEXTS": max_texts,
        "NEWSTAG_RELOAD_INTERVAL": reload_interval,
        "NEWSTAG_BATCH_MAX": batch_max,
    }
    if labelling:
        if not labelling_token:
            raise click.UsageError(
                "--labelling needs a token: give --labelling-token TOKEN or set NEWSTAG_LABELLING_TOKEN "
                "(editors type it into the /label page once; every answer must carry it)")
        if label_queue is None:
            raise click.UsageError("--labelling needs --label-queue PATH: a `newstag suggest` CSV, or an archive "
                                   "folder or page file to suggest paragraphs from")
        config.update({
            "NEWSTAG_LABELLING": True,
            "NEWSTAG_LABELLING_TOKEN": labelling_token,
            "NEWSTAG_LABEL_QUEUE": str(label_queue),
            "NEWSTAG_LABEL_QUEUE_SIZE": label_queue_size,
            "NEWSTAG_LABELS": str(labels_path),
        })
    try:
        app = create_app(config)  # in the master: the workers fork with the model loaded
    except (ModelFileError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    if debug:
        app.run(host=host, port=port, debug=True, use_reloader=False, threaded=True)
        return
    workers = workers or default_workers()
    click.echo(f"newstag: serving model {app.extensions['newstag'].version} on http://{host}:{port} "
               f"with {workers} worker(s) x {threads} thread(s); master pid {os.getpid()}", err=True)
    if labelling:
        queue = app.extensions["newstag_label"]
        click.echo(f"newstag: labelling at http://{host}:{port}/label: {len(queue.items)} paragraph(s) to label, "
                   f"answers appended to {queue.labels_path}", err=True)
    make_gunicorn_app(app, gunicorn_options(host, port, workers, threads, timeout, access_log)).run()


if __name__ == "__main__":  # python -m newstag.servecmd ...
    serve(prog_name="newstag serve")
