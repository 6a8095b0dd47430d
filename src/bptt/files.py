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


# -------------------------------------------------------------------- bounded reads
MAX_DATA_BYTES = 256 * 2**20  # the largest data file read (or hashed); env BPTT_MAX_DATA_BYTES overrides
_CHUNK = 2**20


def max_data_bytes() -> int:
    """``MAX_DATA_BYTES``, or the environment's ``BPTT_MAX_DATA_BYTES`` (an integer ≥ 1)."""
    env = os.environ.get("BPTT_MAX_DATA_BYTES")
    if env is not None:
        try:
            if int(env) >= 1:
                return int(env)
        except ValueError:
            pass
        raise ValueError(f"BPTT_MAX_DATA_BYTES must be an integer ≥ 1, got {env!r}")
    return MAX_DATA_BYTES


def _open_regular(path, limit: int):
    """An open binary file at ``path`` and its size, if it is a regular file of at most ``limit``
    bytes. Opened non-blocking (a FIFO never blocks the open) and checked on the descriptor
    (fstat), so what is read is what was checked: no FIFO, device, socket or directory."""
    import errno
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):  # as open() says it
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if not stat.S_ISREG(st.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a file")
            raise ValueError(f"{os.fspath(path)} is {kind}; expected a regular file")
        if st.st_size > limit:
            raise ValueError(f"{os.fspath(path)} holds {st.st_size:,} bytes, more than the {limit:,} bytes a data file may "
                             "hold (set BPTT_MAX_DATA_BYTES to allow more)")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path``, refused (ValueError naming the file and the limit)
    before reading if it is not a regular file or holds more than ``limit`` bytes (default
    ``max_data_bytes()``); a file that grows while read is cut at the limit and refused."""
    limit = max_data_bytes() if limit is None else limit
    f, _ = _open_regular(path, limit)
    with f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{os.fspath(path)} holds more than the {limit:,} bytes a data file may hold "
                         "(set BPTT_MAX_DATA_BYTES to allow more)")
    return data


def sha256(path, limit: int | None = None) -> str:
    """Hex sha256 of the regular file ``path``, read in 1 MiB chunks (never more than ``limit``
    bytes, default ``max_data_bytes()``: the same refusals as ``read_bytes``)."""
    import hashlib

    limit = max_data_bytes() if limit is None else limit
    f, _ = _open_regular(path, limit)
    h, n = hashlib.sha256(), 0
    with f:
        while chunk := f.read(_CHUNK):
            n += len(chunk)
            if n > limit:
                raise ValueError(f"{os.fspath(path)} holds more than the {limit:,} bytes a data file may hold "
                                 "(set BPTT_MAX_DATA_BYTES to allow more)")
            h.update(chunk)
    return h.hexdigest()
