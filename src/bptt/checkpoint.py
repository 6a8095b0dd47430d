"""Checkpoints: one ``.npz`` file of arrays plus checksummed JSON metadata, written atomically.

Layout (everything readable with ``np.load(path, allow_pickle=False)``):

* arrays under caller-chosen names; by convention ``param/<name>`` for model parameters,
  ``optim/<key>`` for ``Optimizer.state_dict()`` entries, anything else under other prefixes
  (see ``with_prefix`` / ``take_prefix``);
* ``__meta__``: a 1-D uint8 array holding UTF-8 JSON, an object with ``format_version`` (int,
  ``FORMAT_VERSION``), ``created`` (ISO 8601, UTC), ``sha256`` and the caller's keys (model and
  task config, vocabulary, step, RNG states from ``rng_to_meta``, metrics, ...).

``sha256`` is computed over every array's name, dtype, shape and bytes in sorted name order,
followed by the rest of the metadata in canonical JSON, so a corrupted or edited file is
detected on ``load``. The zip container's CRCs catch most accidental damage first; the checksum
also catches consistent rewrites (an array swapped for another, edited metadata).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import zipfile
from collections.abc import Mapping

import numpy as np

from .files import atomic_write

__all__ = ["FORMAT_VERSION", "save", "load", "with_prefix", "take_prefix", "rng_to_meta",
           "rng_from_meta"]

FORMAT_VERSION = 1
META_KEY = "__meta__"
_RESERVED = ("format_version", "created", "sha256")
# dtype kinds stored without pickle: bool, signed/unsigned int, float, complex, bytes, unicode
_DTYPE_KINDS = "biufcSU"


def _canonical_json(obj) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, non-ASCII kept as is."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _checksum(arrays: Mapping[str, np.ndarray], meta: Mapping) -> str:
    """Hex sha256 over, for each array in sorted name order, a JSON header
    ``[name, dtype.str, shape, nbytes]`` + newline + the C-order bytes; then ``meta``
    (without ``sha256``) as canonical JSON. The byte count in each header makes the framing
    unambiguous."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        h.update(_canonical_json([name, a.dtype.str, list(a.shape), a.nbytes]).encode() + b"\n")
        h.update(a if a.flags.c_contiguous else np.ascontiguousarray(a))
    h.update(_canonical_json({k: v for k, v in meta.items() if k != "sha256"}).encode())
    return h.hexdigest()


def save(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping) -> None:
    """Write a checkpoint atomically.

    Args:
        path: target file (conventionally ``*.npz``); its directory must exist.
        arrays: ``{name: array}``; names are non-empty strings other than ``"__meta__"``;
            values are ndarrays or scalars (``np.asarray`` is applied, so ``Optimizer.state_dict``
            entries work as is) of bool, integer, float, complex or string dtype.
        meta: JSON-serialisable dict of caller metadata; must not use the reserved keys
            ``format_version``, ``created``, ``sha256``. Tuples come back as lists.

    The file is written by ``files.atomic_write``: to a temporary file in the same directory,
    flushed and fsync'ed, then ``os.replace``'d onto ``path`` and the directory fsync'ed:
    whatever was at ``path`` stays intact until the rename, the temporary file is removed if
    anything fails, and a symbolic link at ``path`` is replaced, never written through.

    Raises:
        ValueError: bad array names or dtypes, reserved or non-JSON-serialisable metadata.
    """
    entries = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name == META_KEY:
            raise ValueError(f"array names must be non-empty strings other than {META_KEY!r}, "
                             f"got {name!r}")
        a = np.asarray(value)
        if a.dtype.kind not in _DTYPE_KINDS:
            raise ValueError(f"arrays[{name!r}] has dtype {a.dtype}, which cannot be stored "
                             f"without pickle")
        entries[name] = a
    if not isinstance(meta, Mapping):
        raise ValueError(f"meta must be a dict, got {type(meta).__name__}")
    reserved = sorted(set(_RESERVED) & set(meta))
    if reserved:
        raise ValueError(f"meta must not contain the reserved keys {reserved}")
    doc = {"format_version": FORMAT_VERSION,
           "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           **meta}
    try:
        doc["sha256"] = _checksum(entries, doc)
    except (TypeError, ValueError) as e:
        raise ValueError(f"meta is not JSON-serialisable: {e}") from None
    entries[META_KEY] = np.frombuffer(_canonical_json(doc).encode("utf-8"), dtype=np.uint8)

    def write(f):  # what np.savez does, minus its keyword clash on names such as "file"
        with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, a in entries.items():
                with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                    np.lib.format.write_array(member, a, allow_pickle=False)

    atomic_write(path, write)


def load(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read and verify a checkpoint written by ``save``.

    Returns:
        ``(arrays, meta)``: ``{name: np.ndarray}`` exactly as saved (dtype and shape), and the
        metadata dict: the caller's keys plus ``format_version``, ``created`` and ``sha256``.

    Raises:
        FileNotFoundError: ``path`` does not exist (other OS errors also propagate).
        ValueError: one message naming ``path`` and the problem for anything else: not an
            ``.npz`` archive, truncated or damaged container, missing or unreadable
            ``__meta__``, invalid JSON, missing or unsupported ``format_version``, checksum
            mismatch. Nothing is unpickled, executed, or used as a path.
    """
    path = os.fspath(path)

    def corrupted(problem: str) -> ValueError:
        return ValueError(f"checkpoint {path} is corrupted: {problem}")

    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":  # np.load would try .npy or pickle next: refuse here
            raise ValueError(f"checkpoint {path} is not an .npz archive (no zip header)")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as npz:
                # save writes stored members: a compressed one could inflate far beyond the file
                packed = [i.filename for i in npz.zip.infolist() if i.compress_type != zipfile.ZIP_STORED]
                arrays = {} if packed else {name: npz[name] for name in npz.files}
        except Exception as e:  # zipfile, zlib, EOF, .npy header parsing...: all mean damage
            raise corrupted(f"cannot read it as an .npz archive ({type(e).__name__}: {e})") \
                from None
    if packed:
        raise corrupted(f"compressed members {packed[:3]}; bptt writes uncompressed archives "
                        "and does not inflate others")

    raw = arrays.pop(META_KEY, None)
    if raw is None:
        raise ValueError(f"checkpoint {path} has no {META_KEY} entry (not a bptt checkpoint?)")
    if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8 or raw.ndim != 1:
        raise corrupted(f"{META_KEY} is not a 1-D uint8 array")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError, JSONDecodeError, deep nesting
        raise corrupted(f"{META_KEY} is not valid UTF-8 JSON ({e})") from None
    if not isinstance(meta, dict):
        raise corrupted(f"{META_KEY} is not a JSON object")
    if "format_version" not in meta:
        raise ValueError(f"checkpoint {path} has no format_version in its metadata")
    version = meta["format_version"]
    if type(version) is not int or version != FORMAT_VERSION:
        raise ValueError(f"checkpoint {path} has format_version {version!r}; "
                         f"this version of bptt reads format_version {FORMAT_VERSION}")
    for name, a in arrays.items():
        if not isinstance(a, np.ndarray):
            raise corrupted(f"entry {name!r} is not a .npy array")
    expected = meta.get("sha256")
    if not isinstance(expected, str):
        raise corrupted("the metadata has no sha256 checksum")
    got = _checksum(arrays, meta)
    if got != expected:
        raise corrupted(f"checksum mismatch (expected {expected}, got {got})")
    return arrays, meta


def with_prefix(prefix: str, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{prefix + name: value}``, e.g. ``with_prefix("param/", params)`` for ``save``."""
    return {prefix + name: value for name, value in arrays.items()}


def take_prefix(prefix: str, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The entries whose name starts with ``prefix``, with the prefix removed
    (``take_prefix("param/", arrays)`` gives back the parameter dict)."""
    return {name[len(prefix):]: value for name, value in arrays.items()
            if name.startswith(prefix)}


# ----------------------------------------------------------------------------- RNG state

_BIT_GENERATORS = {cls.__name__: cls for cls in (np.random.PCG64, np.random.PCG64DXSM,
                                                  np.random.MT19937, np.random.Philox,
                                                  np.random.SFC64)}


def _encode_state(x):
    """Bit-generator state → JSON: every integer becomes ``{"int": "<decimal>"}`` (JSON readers
    outside Python parse numbers as doubles, exact only below 2**53, and PCG64's state is 128
    bits), every (1-D) array ``{"array": dtype.str, "values": ["<decimal>", ...]}``."""
    if isinstance(x, dict):
        return {k: _encode_state(v) for k, v in x.items()}
    if isinstance(x, str):
        return x
    if isinstance(x, np.ndarray):
        return {"array": x.dtype.str, "values": [str(v) for v in x.tolist()]}
    return {"int": str(int(x))}


def _decode_state(x):
    """Inverse of ``_encode_state``."""
    if isinstance(x, str):
        return x
    if set(x) == {"int"}:
        return int(x["int"])
    if set(x) == {"array", "values"}:
        if np.dtype(x["array"]).kind not in "iu":
            raise ValueError(f"RNG state arrays hold integers, got dtype {x['array']!r}")
        return np.array([int(v) for v in x["values"]], dtype=np.dtype(x["array"]))
    return {k: _decode_state(v) for k, v in x.items()}


def rng_to_meta(rng: np.random.Generator) -> dict:
    """JSON-serialisable snapshot of ``rng.bit_generator.state`` (integers as decimal strings).

    Store it in checkpoint metadata; ``rng_from_meta`` rebuilds a Generator whose next draws are
    identical to ``rng``'s. Supports PCG64, PCG64DXSM, MT19937, Philox and SFC64.
    """
    state = rng.bit_generator.state
    if state.get("bit_generator") not in _BIT_GENERATORS:
        raise ValueError(f"unsupported bit generator {state.get('bit_generator')!r}; "
                         f"expected one of {sorted(_BIT_GENERATORS)}")
    return _encode_state(state)


def rng_from_meta(state: Mapping) -> np.random.Generator:
    """A new ``np.random.Generator`` in the state captured by ``rng_to_meta``.

    Raises:
        ValueError: the snapshot is malformed or names an unsupported bit generator.
    """
    try:
        decoded = _decode_state(state)
        bit_generator = _BIT_GENERATORS[decoded["bit_generator"]]()
        bit_generator.state = decoded
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"invalid RNG state in checkpoint metadata ({type(e).__name__}: {e})") \
            from None
    return np.random.Generator(bit_generator)
