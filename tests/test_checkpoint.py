"""bptt.checkpoint: round trips, detection of damaged files, atomic writes, RNG state."""

import datetime
import json
import os

import numpy as np
import pytest

from bptt.checkpoint import load, rng_from_meta, rng_to_meta, save, take_prefix, with_prefix
from bptt.optim import Adam

RESERVED = ("format_version", "created", "sha256")


def sample_arrays():
    rng = np.random.default_rng(0)
    return {
        "param/U": rng.standard_normal((4, 3)).astype(np.float32),
        "param/W": rng.standard_normal((4, 4)),
        "optim/step": np.asarray(7),
        "data/tokens": rng.integers(0, 50, size=(2, 9), dtype=np.int8),
        "data/mask": np.array([True, False, True]),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "file": np.arange(3, dtype=np.int64),          # np.savez would choke on this name
        "vocab/Ωmega": np.array(["a", "ü", "\n"]),
    }


SAMPLE_META = {"model": {"hidden": 64, "layers": [1, 2]}, "step": 1200, "lr": 1e-3,
               "vocab": "abcüΩ漢\n\"\\", "big": 2**130 + 1, "loss": float("nan")}


def assert_same_arrays(got, expected):
    assert set(got) == set(expected)
    for k, a in expected.items():
        assert got[k].dtype == a.dtype and got[k].shape == a.shape, k
        np.testing.assert_array_equal(got[k], a)


def user_meta(meta):
    return {k: v for k, v in meta.items() if k not in RESERVED}


def assert_clear_error(excinfo, path, *fragments):
    """One ValueError naming the path, with no chained zipfile/numpy traceback."""
    e = excinfo.value
    assert type(e) is ValueError
    assert str(path) in str(e)
    for fragment in fragments:
        assert fragment in str(e), str(e)
    assert e.__cause__ is None and (e.__context__ is None or e.__suppress_context__)


@pytest.fixture
def ckpt(tmp_path):
    path = tmp_path / "last.npz"
    save(path, sample_arrays(), SAMPLE_META)
    return path


# ----------------------------------------------------------------------------- round trips


def test_round_trip(ckpt):
    arrays, meta = load(ckpt)
    assert_same_arrays(arrays, sample_arrays())
    expected = dict(SAMPLE_META, loss=None)
    got = dict(user_meta(meta), loss=None)
    assert got == expected and np.isnan(meta["loss"]) and meta["big"] == 2**130 + 1
    assert meta["format_version"] == 1
    created = datetime.datetime.fromisoformat(meta["created"])
    assert abs(datetime.datetime.now(datetime.timezone.utc) - created).total_seconds() < 60
    assert len(meta["sha256"]) == 64


def test_plain_numpy_reads_everything_without_pickle(ckpt):
    with np.load(ckpt, allow_pickle=False) as f:
        assert set(f.files) == set(sample_arrays()) | {"__meta__"}
        assert f["__meta__"].dtype == np.uint8
        meta = json.loads(f["__meta__"].tobytes().decode("utf-8"))
    assert meta["model"] == SAMPLE_META["model"]


def test_empty_metadata_and_no_arrays(tmp_path):
    save(tmp_path / "a.npz", {}, {})
    arrays, meta = load(tmp_path / "a.npz")
    assert arrays == {} and user_meta(meta) == {}


def test_overwrite_replaces_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "c.npz"
    save(path, {"x": np.zeros(2)}, {"step": 1})
    save(str(path), {"x": np.ones(3)}, {"step": 2})
    arrays, meta = load(str(path))
    assert_same_arrays(arrays, {"x": np.ones(3)})
    assert meta["step"] == 2
    assert os.listdir(tmp_path) == ["c.npz"]


def test_optimizer_and_params_through_prefixes(tmp_path):
    rng = np.random.default_rng(1)
    params = {"U": rng.standard_normal((3, 2)), "b": rng.standard_normal(3)}
    grads = {k: rng.standard_normal(p.shape) for k, p in params.items()}
    opt = Adam(params, lr=0.01)
    opt.step(grads)
    save(tmp_path / "c.npz", {**with_prefix("param/", params),
                              **with_prefix("optim/", opt.state_dict())}, {"step": 1})
    arrays, _ = load(tmp_path / "c.npz")
    restored = take_prefix("param/", arrays)
    assert_same_arrays(restored, params)
    opt2 = Adam(restored, lr=0.01)
    opt2.load_state_dict(take_prefix("optim/", arrays))
    opt.step(grads)
    opt2.step(grads)
    assert_same_arrays(restored, params)


# ----------------------------------------------------------------------------- bad input to save


@pytest.mark.parametrize("arrays, meta, match", [
    ({"x": np.zeros(1)}, {"sha256": "abc"}, "reserved"),
    ({"x": np.zeros(1)}, {"created": "now"}, "reserved"),
    ({"x": np.zeros(1)}, {"loss": np.float32(1.0)}, "not JSON-serialisable"),
    ({"x": np.zeros(1)}, {"tags": {1, 2}}, "not JSON-serialisable"),
    ({"x": np.zeros(1)}, ["not", "a", "dict"], "meta must be a dict"),
    ({"x": np.array([{}, None], dtype=object)}, {}, "without pickle"),
    ({"__meta__": np.zeros(1)}, {}, "__meta__"),
    ({"": np.zeros(1)}, {}, "non-empty"),
    ({3: np.zeros(1)}, {}, "strings"),
])
def test_save_rejects_bad_input_and_writes_nothing(tmp_path, arrays, meta, match):
    with pytest.raises(ValueError, match=match):
        save(tmp_path / "x.npz", arrays, meta)
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- damaged files


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load(tmp_path / "nope.npz")


@pytest.mark.parametrize("keep", [0.5, 0.0, 0.9, "4 bytes", "minus 1"])
def test_truncated(ckpt, keep):
    data = ckpt.read_bytes()
    n = {"4 bytes": 4, "minus 1": len(data) - 1}.get(keep) or int(len(data) * keep)
    ckpt.write_bytes(data[:n])
    with pytest.raises(ValueError) as excinfo:
        load(ckpt)
    assert_clear_error(excinfo, ckpt)


def test_every_flipped_byte_is_detected_or_harmless(tmp_path):
    path = tmp_path / "small.npz"
    arrays = {"param/W": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.asarray(3)}
    save(path, arrays, {"step": 5})
    good = path.read_bytes()
    _, good_meta = load(path)
    detected = 0
    for offset in range(len(good)):
        bad = bytearray(good)
        bad[offset] ^= 0x5A
        path.write_bytes(bytes(bad))
        try:
            got, meta = load(path)
        except ValueError as e:
            assert str(path) in str(e)
            detected += 1
            continue
        # bytes zipfile ignores (timestamps, "version made by", ...): data must be intact
        assert_same_arrays(got, arrays)
        assert meta == good_meta
    assert detected > 0.6 * len(good)


def test_flipped_bytes_in_array_data_and_metadata(ckpt):
    good = ckpt.read_bytes()
    targets = [good.find(sample_arrays()["param/W"].tobytes()) + 8,
               good.find(b'"hidden":64') + 10,       # a digit of the metadata
               good.find(b"param/U.npy") + 1]        # a member name
    for offset in targets:
        bad = bytearray(good)
        bad[offset] ^= 0x01
        ckpt.write_bytes(bytes(bad))
        with pytest.raises(ValueError) as excinfo:
            load(ckpt)
        assert_clear_error(excinfo, ckpt, "is corrupted")


def rewrite(path, arrays, meta_bytes):
    """Write a valid .npz (correct zip CRCs) with the given entries and raw __meta__ bytes."""
    np.savez(path, **arrays, __meta__=np.frombuffer(meta_bytes, dtype=np.uint8))


def stored_meta(path):
    with np.load(path, allow_pickle=False) as f:
        return json.loads(f["__meta__"].tobytes().decode("utf-8"))


@pytest.mark.parametrize("tamper, fragment", [
    (lambda a, m: a.update({"param/W": np.zeros((3, 3))}), "checksum mismatch"),
    (lambda a, m: a.update({"param/W": a["param/W"].astype(np.float32)}), "checksum mismatch"),
    (lambda a, m: a["param/W"].__setitem__((0, 0), 1.0), "checksum mismatch"),
    (lambda a, m: a.update({"param/V": a.pop("param/W")}), "checksum mismatch"),
    (lambda a, m: a.pop("data/mask"), "checksum mismatch"),
    (lambda a, m: m.update(step=1201), "checksum mismatch"),
    (lambda a, m: m.pop("sha256"), "no sha256"),
    (lambda a, m: m.update(format_version=2), "format_version 2"),
    (lambda a, m: m.update(format_version="1"), "format_version '1'"),
    (lambda a, m: m.pop("format_version"), "no format_version"),
])
def test_rewritten_archives_are_rejected(ckpt, tamper, fragment):
    arrays, meta = sample_arrays(), stored_meta(ckpt)
    del arrays["file"]                           # np.savez cannot write this name
    tamper(arrays, meta)
    rewrite(ckpt, arrays, json.dumps(meta).encode())
    with pytest.raises(ValueError) as excinfo:
        load(ckpt)
    assert_clear_error(excinfo, ckpt, fragment)


@pytest.mark.parametrize("meta_bytes, fragment", [
    (b'{"format_version": 1, "step": ', "not valid UTF-8 JSON"),
    (b"\xff\xfe{}", "not valid UTF-8 JSON"),
    (b"[" * 100_000, "not valid UTF-8 JSON"),
    (b"[1, 2]", "not a JSON object"),
])
def test_unreadable_metadata(tmp_path, meta_bytes, fragment):
    path = tmp_path / "m.npz"
    rewrite(path, {"x": np.zeros(2)}, meta_bytes)
    with pytest.raises(ValueError) as excinfo:
        load(path)
    assert_clear_error(excinfo, path, fragment)


def test_not_a_checkpoint(tmp_path):
    cases = {"text.npz": lambda p: p.write_text("hello, world\n"),
             "empty.npz": lambda p: p.write_bytes(b""),
             "array.npy": lambda p: np.save(p, np.zeros(3)),
             "pickle.npz": lambda p: p.write_bytes(b"\x80\x04K\x01."),
             "no_meta.npz": lambda p: np.savez(p, x=np.zeros(3)),
             "bad_meta_dtype.npz": lambda p: np.savez(p, __meta__=np.zeros(3)),
             "object.npz": lambda p: np.savez(p, x=np.array([{}], dtype=object),
                                              __meta__=np.zeros(2, np.uint8))}
    for name, write in cases.items():
        path = tmp_path / name
        write(path)
        with pytest.raises(ValueError) as excinfo:
            load(path)
        assert_clear_error(excinfo, path)


# ----------------------------------------------------------------------------- atomicity


def boom(*args, **kwargs):
    raise OSError("disk on fire")


def partial_write_then_boom(fp, array, **kwargs):
    fp.write(b"\x93NUMPY partial")
    raise KeyboardInterrupt


@pytest.mark.parametrize("target, replacement, error", [
    ("os.replace", boom, OSError),
    ("os.fsync", boom, OSError),
    ("numpy.lib.format.write_array", partial_write_then_boom, KeyboardInterrupt),
])
def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch, target, replacement, error):
    path = tmp_path / "last.npz"
    save(path, sample_arrays(), SAMPLE_META)
    before = path.read_bytes()
    monkeypatch.setattr(target, replacement)
    with pytest.raises(error):
        save(path, {"x": np.ones(3)}, {"step": 99})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["last.npz"]           # temp file removed
    assert path.read_bytes() == before
    arrays, meta = load(path)
    assert_same_arrays(arrays, sample_arrays())
    assert meta["step"] == SAMPLE_META["step"]


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        save(tmp_path / "new.npz", {"x": np.ones(3)}, {})
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- RNG state


@pytest.mark.parametrize("bit_generator", ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"])
def test_rng_state_resumes_bit_for_bit(tmp_path, bit_generator):
    rng = np.random.Generator(getattr(np.random, bit_generator)(1234))
    rng.standard_normal(17)
    rng.integers(0, 2**32, size=3, dtype=np.uint32)   # odd count: leaves a buffered uint32
    save(tmp_path / "r.npz", {}, {"rng": rng_to_meta(rng)})
    _, meta = load(tmp_path / "r.npz")
    text = json.dumps(meta["rng"])
    # a reader that parses every JSON number as a double still restores the state exactly
    resumed = rng_from_meta(json.loads(text, parse_int=float))
    for draw in (lambda r: r.integers(0, 2**32, size=5, dtype=np.uint32),
                 lambda r: r.standard_normal(7), lambda r: r.random(4),
                 lambda r: r.integers(0, 2**63, size=3)):
        np.testing.assert_array_equal(draw(resumed), draw(rng))


def test_rng_from_meta_rejects_bad_state():
    good = rng_to_meta(np.random.default_rng(0))
    for bad in [{}, {**good, "bit_generator": "os.system"},
                {**good, "state": {"state": {"int": "x"}, "inc": {"int": "1"}}},
                {**good, "state": {"array": "O", "values": ["1"]}}, [1, 2]]:
        with pytest.raises(ValueError, match="invalid RNG state"):
            rng_from_meta(bad)

