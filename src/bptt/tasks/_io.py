"""Reading the users' text files with errors that name the file and the line.

Errors from a file's contents are ``ValueError`` whose message starts with
``"<path>, line <n>: "`` (1-based). A missing or unreadable file raises the usual ``OSError``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import files


def as_path(path: object, name: str = "path") -> Path:
    """Return ``path`` (a ``str`` or ``os.PathLike``) as a ``Path``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a file path (str or os.PathLike), got {type(path).__name__}")
    return Path(path)


def line_error(path: Path, line: int, message: str) -> ValueError:
    """The error for a malformed 1-based ``line`` of ``path``."""
    return ValueError(f"{path}, line {line}: {message}")


def read_text(path: object, name: str = "path") -> str:
    """The whole file as a ``str``, decoded as strict UTF-8.

    Raises ``ValueError`` naming the file for an empty file, and the (0-based) byte offset and line of
    the first byte that is not UTF-8.
    """
    path = as_path(path, name)
    data = files.read_bytes(path)  # regular files only, size checked before reading
    if not data:
        raise ValueError(f"{path}: the file is empty")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise line_error(
            path, line, f"not valid UTF-8 at byte offset {exc.start} ({exc.reason}); expected a UTF-8 text file"
        ) from None


def read_lines(path: object, name: str = "path") -> list[str]:
    """The lines of a UTF-8 text file, split on ``"\\n"`` only.

    ``str.splitlines`` is not used because it also breaks lines at characters such as U+0085
    that may occur inside a line. One ``"\\r"`` before each ``"\\n"`` is removed (CRLF files),
    and the empty piece after a final newline is dropped; line ``i`` (1-based) of the file is
    element ``i - 1``.
    """
    lines = read_text(path, name).split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]
