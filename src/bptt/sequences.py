"""Sequence mappings as masks and index arrays (time-major, (T, B)).

many-to-many      every valid step carries a loss: ``length_mask`` (the default)
many-to-one       the last valid step of each sequence: ``last_step_mask`` (``mask="last"``)
one-to-many       an input at the first step only: ``one_to_many`` builds that input
variable lengths  steps t ≥ len_b are padding: the state is frozen there (elman.py, F3)
"""
from __future__ import annotations

import numpy as np

from . import _validate as v


def length_mask(lengths: np.ndarray, T: int) -> np.ndarray:
    """a[t, b] = [t < lengths[b]] (0-based t), bool (T, B); lengths (B,) in [1, T]."""
    T = v.positive_int("T", T)
    lengths = v.int_array(lengths, "lengths", (None,), high=T + 1, low=1)
    return np.arange(T)[:, None] < lengths[None, :]


def last_step_mask(lengths: np.ndarray, T: int) -> np.ndarray:
    """m[t, b] = [t == lengths[b] − 1], float (T, B): one loss per sequence (many-to-one)."""
    T = v.positive_int("T", T)
    lengths = v.int_array(lengths, "lengths", (None,), high=T + 1, low=1)
    m = np.zeros((T, len(lengths)))
    m[lengths - 1, np.arange(len(lengths))] = 1.0
    return m


def one_to_many(x0: np.ndarray, T: int) -> np.ndarray:
    """Inputs for a one-to-many mapping: x_1 = x0 (B, D), x_t = 0 for t > 1; returns (T, B, D)."""
    x0 = v.array(x0, "x0")
    if x0.dtype.kind not in "fiub":
        raise TypeError(f"x0 must be a real array, got dtype {x0.dtype}")
    if x0.ndim != 2:
        raise ValueError(f"x0 must have shape (B, D), got {x0.shape}")
    T = v.positive_int("T", T)
    x = np.zeros((T,) + x0.shape, dtype=x0.dtype if x0.dtype.kind == "f" else np.float64)
    x[0] = x0
    return x


def reverse_index(lengths: np.ndarray | None, T: int, B: int) -> np.ndarray:
    """idx (T, B) with idx[t, b] = len_b − 1 − t for t < len_b and t otherwise.

    Gathering along time with it reverses each sequence's valid prefix and leaves padding in
    place; it is its own inverse, so the same gather maps the reverse direction's states back."""
    t = np.arange(T)[:, None]
    if lengths is None:
        return np.broadcast_to(T - 1 - t, (T, B)).copy()
    lengths = np.asarray(lengths)[None, :]
    return np.where(t < lengths, lengths - 1 - t, t)


def gather_time(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """a[idx[t, b], b, ...] for a (T, B, ...) and idx (T, B)."""
    return np.take_along_axis(a, idx.reshape(idx.shape + (1,) * (a.ndim - 2)), axis=0)
