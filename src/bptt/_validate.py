"""Checks at the public boundary: every failure is one ValueError/TypeError that names the argument
and says what was expected. Internals trust what passed through here."""
from __future__ import annotations

import math
import numbers

import numpy as np


def positive_int(name: str, value, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int in [``minimum``, ``maximum``] (Python or NumPy integers and 0-d
    integer arrays, as ``np.load`` returns scalars; bools rejected)."""
    want = f"an integer ≥ {minimum}" if maximum is None else f"an integer in [{minimum}, {maximum}]"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {want}, got {type(value).__name__} {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {want}, got {value}")
    return int(value)


def real(name: str, value, low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
         high_open: bool = True) -> float:
    """``value`` as a finite float in the interval from ``low`` to ``high`` (closed or open ends;
    Python or NumPy reals and 0-d real arrays; bools and strings rejected)."""
    want = f"a real number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {want}, got {type(value).__name__} {value!r}")
    v = float(value)
    above = v > low if low_open else v >= low
    below = v < high if high_open else v <= high
    if not (math.isfinite(v) and above and below):
        raise ValueError(f"{name} must be {want}, got {value!r}")
    return v


def choice(name: str, value, allowed) -> str:
    """``value`` must be one of ``allowed`` (strings)."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def array(value, name: str) -> np.ndarray:
    """``value`` as an ndarray; ragged lists, objects and strings are rejected."""
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"{name} must be a rectangular array; {exc}") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    return arr


def float_array(value, name: str, shape: tuple, dtype) -> np.ndarray:
    """A finite float array of exactly ``shape`` (None entries: any size ≥ 1), cast to ``dtype``."""
    arr = array(value, name)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real float array, got dtype {arr.dtype}")
    check_shape(arr, name, shape)
    with np.errstate(over="ignore"):  # a finite float64 beyond the float32 range: reported below
        out = np.asarray(arr, dtype=dtype)
    if not np.all(np.isfinite(out)):
        if np.all(np.isfinite(arr)):
            raise ValueError(f"{name} has values beyond the {np.dtype(dtype).name} range "
                             f"(±{np.finfo(dtype).max:.4g}); expected finite {np.dtype(dtype).name} values")
        raise ValueError(f"{name} contains NaN or inf; expected finite values")
    return out


def int_array(value, name: str, shape: tuple, high: int, low: int = 0) -> np.ndarray:
    """An int64 array of exactly ``shape`` with every value in [low, high)."""
    arr = array(value, name)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    check_shape(arr, name, shape)
    if arr.size and (arr.min() < low or arr.max() >= high):  # before the cast: uint64 > 2**63
        bad = arr[(arr < low) | (arr >= high)].flat[0]
        raise ValueError(f"{name} must hold values in [{low}, {high - 1}], found {bad}")
    return arr.astype(np.int64, copy=False)


def check_shape(arr: np.ndarray, name: str, shape: tuple) -> None:
    """Raise unless ``arr.shape`` matches ``shape`` (None matches any size ≥ 1)."""
    ok = arr.ndim == len(shape) and all(
        (want is None and got >= 1) or got == want for got, want in zip(arr.shape, shape)
    )
    if not ok:
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")


def param_dict(params, shapes: dict, dtype) -> dict:
    """A copy of ``params`` in ``dtype``: exactly the keys of ``shapes``, each of its shape, finite."""
    if not isinstance(params, dict) or set(params) != set(shapes):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with keys {sorted(shapes)}, got {got}")
    return {k: float_array(params[k], f"params[{k!r}]", s, dtype).copy() for k, s in shapes.items()}

