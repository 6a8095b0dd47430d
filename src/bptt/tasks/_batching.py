"""Padding variable-length id sequences into time-major batches."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._checks import int_array


def pad(sequences: Sequence[object], pad_id: int, name: str = "sequences") -> tuple[np.ndarray, np.ndarray]:
    """Stack B id sequences, time-major, padding the short ones with ``pad_id``.

    Returns ``ids`` int64 (T, B), T the longest length, and ``lengths`` int64 (B,), each in
    [1, T]. Raises ``ValueError`` for an empty batch or an empty sequence.
    """
    if len(sequences) == 0:
        raise ValueError(f"{name}: expected at least one sequence")
    arrays = [int_array(seq, f"{name}[{i}]", ndim=1) for i, seq in enumerate(sequences)]
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    if np.any(lengths == 0):
        raise ValueError(f"{name}[{int(np.argmin(lengths))}]: expected at least one token, got none")
    ids = np.full((int(lengths.max()), len(arrays)), pad_id, dtype=np.int64)
    for b, a in enumerate(arrays):
        ids[: len(a), b] = a
    return ids, lengths

