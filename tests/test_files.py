"""files.atomic_write: the one way the library replaces a file (checkpoints, weights, run files)."""
from __future__ import annotations

import os

import numpy as np
import pytest

import bptt
from bptt import checkpoint, weights
from bptt.files import atomic_write
from bptt.runs import RunDir


@pytest.mark.parametrize("data, expected", [
    (b"\x00bytes", b"\x00bytes"),
    ("text é\n", "text é\n".encode("utf-8")),
    (lambda f: f.write(b"from a function"), b"from a function"),
])
def test_writes_bytes_text_or_through_a_function(tmp_path, data, expected):
    path = tmp_path / "out"
    path.write_bytes(b"old content, longer than the new one")
    atomic_write(path, data)
    assert path.read_bytes() == expected
    assert os.listdir(tmp_path) == ["out"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    path = tmp_path / "out"
    path.write_bytes(b"old")

    def half_then_interrupted(f):
        f.write(b"new, but only ha")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half_then_interrupted)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out"]


def test_content_and_rename_are_fsynced(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.path.isdir(f"/proc/self/fd/{fd}")) or real(fd))
    atomic_write(tmp_path / "out", b"x")
    assert synced[0] is False  # the file, before the rename
    if os.name == "posix":
        assert synced[1:] == [True]  # then its directory


@pytest.mark.parametrize("writer", ["atomic_write", "checkpoint", "weights", "summary"])
def test_a_symlink_is_replaced_never_written_through(tmp_path, writer):
    outside = tmp_path / "precious.txt"
    outside.write_text("do not overwrite\n")
    run = tmp_path / "run"
    run.mkdir()
    name = "summary.json" if writer == "summary" else "target.npz"
    (run / name).symlink_to(outside)
    if writer == "atomic_write":
        atomic_write(run / name, b"new")
    elif writer == "checkpoint":
        checkpoint.save(run / name, {"x": np.zeros(2)}, {})
    elif writer == "weights":
        weights.save(run / name, bptt.RNN(2, 3, 2, seed=0))
    else:
        RunDir(run).write_summary({"status": "done"})
    assert outside.read_text() == "do not overwrite\n"
    assert not (run / name).is_symlink()
    assert os.listdir(run) == [name]
