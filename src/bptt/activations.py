"""Hidden and output activations f, with f' written from the OUTPUT where it can be.

The backward recursion needs f'(z_t) but the forward pass keeps only h_t = f(z_t), so each
derivative is expressed through h (derivation eq. (B2) in ``elman.py``):

    tanh:      f'(z) = 1 − h²
    sigmoid:   f'(z) = h (1 − h)
    relu:      f'(z) = [h > 0]          (0 at z = 0, as torch)
    identity:  f'(z) = 1

Reusing h means the forward pass is never recomputed and z is never stored.
"""
from __future__ import annotations

import numpy as np

NAMES = ("tanh", "relu", "sigmoid", "identity")


def apply(name: str, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """h = f(z), elementwise; ``out`` may be ``z`` itself (in place)."""
    if out is None:
        out = np.empty_like(z)
    if name == "tanh":
        return np.tanh(z, out=out)
    if name == "relu":
        return np.maximum(z, 0, out=out)
    if name == "sigmoid":
        return sigmoid(z, out=out)
    if name == "identity":
        if out is not z:
            np.copyto(out, z)
        return out
    raise ValueError(f"activation must be one of {NAMES}, got {name!r}")


def derivative_from_output(name: str, h: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f'(z) computed from h = f(z) (see the module docstring); same shape as h."""
    if out is None:
        out = np.empty_like(h)
    if name == "tanh":  # 1 − h²
        np.multiply(h, h, out=out)
        return np.subtract(1, out, out=out)
    if name == "sigmoid":  # h (1 − h)
        np.subtract(1, h, out=out)
        return np.multiply(out, h, out=out)
    if name == "relu":  # [h > 0]
        return np.greater(h, 0, out=out, casting="unsafe")
    if name == "identity":
        out[...] = 1
        return out
    raise ValueError(f"activation must be one of {NAMES}, got {name!r}")


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(z) = 1 / (1 + e^{−z}), finite for any finite z (exp of a large positive number overflows
    to inf and 1/inf = 0, which is the correct limit; the warning is silenced)."""
    if out is None:
        out = np.empty_like(z)
    with np.errstate(over="ignore"):
        np.negative(z, out=out)
        np.exp(out, out=out)
    np.add(out, 1, out=out)
    return np.reciprocal(out, out=out)
