"""Hostile checkpoint files beyond tests/test_checkpoint.py (which covers: truncation at 5
points, every single flipped byte of a small file, rewritten archives with a consistent zip but
a stale checksum, wrong/missing format_version, unreadable metadata, text/empty/.npy/pickle/
object-array files, failed saves). Here: files built to attack the reader rather than damaged.

Each must give one clear ValueError naming the file, execute nothing, create nothing, and not
allocate more than the file could honestly hold.
"""
from __future__ import annotations

import io
import os
import tracemalloc
import zipfile

import numpy as np
import pytest

from bptt.checkpoint import load, save


def npy_bytes(header: bytes, payload: bytes = b"\0" * 8) -> bytes:
    """A .npy v1.0 member with a raw (possibly hostile) header dict."""
    pad = (64 - (10 + len(header) + 1) % 64) % 64
    header = header + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + payload


def meta_member(text: bytes = b'{"format_version":1}') -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.frombuffer(text, dtype=np.uint8))
    return buf.getvalue()


def write_zip(path, members: dict, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)


def assert_clear(path, *fragments):
    with pytest.raises(ValueError) as info:
        load(path)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg, msg
    for f in fragments:
        assert f in msg, msg
    return msg


def test_npy_header_with_code_is_not_executed(tmp_path):
    marker = tmp_path / "PWNED"
    header = b"{'descr': __import__('os').system('touch " + str(marker).encode() + b"'), " \
             b"'fortran_order': False, 'shape': (1,), }"
    path = tmp_path / "inject.npz"
    write_zip(path, {"x.npy": npy_bytes(header), "__meta__.npy": meta_member()})
    assert_clear(path, "corrupted")
    assert not marker.exists()


def test_non_npy_member_is_refused_not_run(tmp_path):
    path = tmp_path / "script.npz"
    write_zip(path, {"evil.py": b"import os; os.system('touch PWNED')\n", "__meta__.npy": meta_member()})
    assert_clear(path, "'evil.py'", "not a .npy array")
    assert sorted(os.listdir(tmp_path)) == ["script.npz"]


def test_declared_shape_far_beyond_the_data_fails_fast(tmp_path):
    path = tmp_path / "huge.npz"
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (10**12,), }"
    write_zip(path, {"x.npy": npy_bytes(header), "__meta__.npy": meta_member()})
    tracemalloc.start()
    try:
        assert_clear(path, "corrupted")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20  # refused from the header, never allocating the declared 8 TB


def test_deflate_bomb_is_refused_before_inflating(tmp_path):
    """bptt writes stored (uncompressed) members, so a member's memory is bounded by the file's
    size; a compressed member (here 64 MB from ~64 kB) is refused without being inflated."""
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("x.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f8", "fortran_order": False, "shape": (8 * 2**20,)})
            for _ in range(64):
                f.write(b"\0" * 2**20)
        z.writestr("__meta__.npy", meta_member())
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        assert_clear(path, "compressed")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.0f} MB while refusing a 64 MB bomb"


def test_member_names_are_never_paths(tmp_path):
    """Names such as '../x' or '/abs/x' are dictionary keys only: nothing is extracted."""
    work = tmp_path / "run"
    work.mkdir()
    path = work / "ckpt.npz"
    names = ["../escape", "../../tmp/escape", "/abs/escape", "param/../../W"]
    save(path, {n: np.arange(3.0) for n in names}, {"step": 1})
    arrays, _ = load(path)
    assert sorted(arrays) == sorted(names)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["ckpt.npz", "run"]


def test_save_through_a_symlink_replaces_the_link_not_its_target(tmp_path):
    outside = tmp_path / "precious.txt"
    outside.write_text("do not overwrite\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.npz").symlink_to(outside)
    save(run / "last.npz", {"x": np.zeros(2)}, {})
    assert outside.read_text() == "do not overwrite\n"
    assert not (run / "last.npz").is_symlink()
    load(run / "last.npz")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_device_files_are_refused_after_four_bytes(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    with pytest.raises(ValueError, match="not an .npz archive"):
        load(device)


def test_duplicate_member_names_do_not_mix_versions(tmp_path):
    """A zip may hold two members with one name; whichever the reader picks, the checksum must
    still describe exactly what was returned, or the load fails."""
    good = tmp_path / "good.npz"
    save(good, {"x": np.zeros(3)}, {"step": 1})
    with zipfile.ZipFile(good) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    path = tmp_path / "dup.npz"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.ones(3))
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
            z.writestr("x.npy", buf.getvalue())
    try:
        arrays, meta = load(path)
    except ValueError as e:
        assert str(path) in str(e)
    else:
        np.testing.assert_array_equal(arrays["x"], np.zeros(3))
