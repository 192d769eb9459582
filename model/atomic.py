"""Writing files so that a crash never leaves half of one: the data go to a temporary
file beside the target, are fsync'ed, and the file is renamed over the target (then
the folder is fsync'ed, so the rename itself is durable)."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def fsync_dir(path) -> None:
    """Make a rename or creation in ``path``'s folder durable (where the OS allows)."""
    try:
        fd = os.open(Path(path).parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path):
    """Yield a binary file object whose contents replace ``path`` when the block ends
    without an exception (and are thrown away when it raises).  The new file keeps the
    permissions of the file it replaces, else gets those of an ordinary new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path)


def write_atomically(path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (see ``atomic_file``)."""
    with atomic_file(path) as fh:
        fh.write(data)
