r"""An embedding layer for integer-id inputs: ids → rows of E → the first recurrent layer.

With a vocabulary of V ids and E (V, d), the first layer reads the dense vector of each id
instead of a V-wide column of U per id (the gated cells' U is (4H, V) otherwise):

    x̃_t = E[x_t]                            x_t (B,) ids, x̃_t (B, d)               (E1)
    ∂L/∂E[v] = Σ_{t,b: x_{t,b} = v} ∂L/∂x̃_{t,b}      a scatter-add, never a one-hot  (E2)

∂L/∂x̃ is the first layer's dx (cells' backward, need_dx). Padding steps (past a sequence's
length) carry ∂L/∂x̃ = 0 and are left out of (E2), so the ids written there cannot change a bit.
Tied weights (Press & Wolf 2017): with d = the head's input width and K = V, the head's V is
E itself (model.py), and ∂L/∂E adds the head's ∂L/∂V (B8) to (E2).
"""
from __future__ import annotations

import numpy as np

from .cells.elman import scatter_add


def forward(E: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """x̃ = E[ids] (E1): E (V, d), ids (T, B) int in [0, V) -> (T, B, d)."""
    return np.take(E, ids, axis=0)


def backward(ids: np.ndarray, dx: np.ndarray, active, V: int) -> np.ndarray:
    """∂L/∂E (V, d) from dx = ∂L/∂x̃ (T, B, d), eq. (E2); active (T, B) bool or None."""
    rows, flat = dx.reshape(-1, dx.shape[-1]), ids.reshape(-1)
    if active is not None:
        valid = active.reshape(-1)
        rows, flat = rows[valid], flat[valid]
    dE = np.zeros((V, dx.shape[-1]), dtype=dx.dtype)
    scatter_add(dE, flat, rows)
    return dE
