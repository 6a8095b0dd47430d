"""Atomic file writes: the file at a path is either its previous content or the complete new
one, never a part (checkpoint.py, weights.py and runs.py write through here)."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO


def atomic_write(path: str | os.PathLike, data: bytes | str | Callable[[BinaryIO], object]) -> None:
    """Write ``data`` to ``path`` atomically.

    data: bytes; str (written as UTF-8); or a function ``write(f)`` that writes the content to
    ``f``, an open binary file.

    The content goes to a temporary file ``.<name>.<random>.tmp`` in the directory of ``path``
    (which must exist); it is flushed and fsync'ed, ``os.replace``'d onto ``path`` and the
    directory fsync'ed, so the rename itself survives a crash. Whatever was at ``path`` stays
    intact until the rename, and the temporary file is removed if anything fails (Ctrl-C
    included). A symbolic link at ``path`` is replaced by the new file: its target is never
    written.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # a rename: a link at path is replaced, not followed
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if os.name == "posix":  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
