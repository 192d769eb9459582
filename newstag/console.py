"""What the commands share at the console: loading the model the operator named, and
quieting standard output after the reader went away."""
from __future__ import annotations

import os
import sys
import warnings

import click

from newstag.model.store import ModelFileError, ModelVersionWarning, load_model


def load(model_path):
    """Return the model at ``model_path`` (None: the shipped one).  A model saved under
    other library versions loads with a warning on standard error; a file that is not
    a newstag model becomes a ``ClickException`` naming it (one line, no traceback)."""

    def show(message, category, filename, lineno, file=None, line=None):
        click.echo(f"warning: {message}", err=True)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", ModelVersionWarning)
            warnings.showwarning = show
            return load_model(model_path)
    except ModelFileError as exc:
        raise click.ClickException(str(exc)) from None


def silence_stdout() -> None:
    """After a broken pipe: point standard output at /dev/null so exit does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
