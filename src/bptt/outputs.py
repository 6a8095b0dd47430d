"""What the model's passes return, and the parameter names: a leaf module (it imports nothing of
the package), so model.py, the gradient methods and the tools can all import it."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Output(NamedTuple):
    """y_hat (T, B, K) = g(o_t); h (T, B, dirs·H) top-layer states; h_n (L·dirs, B, H) final states."""

    y_hat: np.ndarray
    h: np.ndarray
    h_n: np.ndarray


class Gradients(dict):
    """∂L/∂θ with the keys and shapes of ``net.params``, plus
    ``dh0`` (L·dirs, B, H) = ∂L/∂h_0, ``dx`` (T, B, D) = ∂L/∂x (float inputs, when asked) and
    ``h_n`` (L·dirs, B, H), the forward pass's final states (to carry into the next chunk of a
    stream without a second forward pass; set by method="bptt")."""

    dh0: np.ndarray | None = None
    dx: np.ndarray | None = None
    h_n: np.ndarray | None = None


class Trace(NamedTuple):
    """What ``RNN.run`` keeps for ``RNN.backprop``: the top states and every layer's caches."""

    top: np.ndarray
    h_n: np.ndarray
    caches: list
    reverse: np.ndarray | None


def param_name(base: str, layer: int, direction: int) -> str:
    """'U', 'W2', 'b_rev', 'U3_rev', … for layer (0-based) and direction (0 forward, 1 reverse)."""
    return base + (str(layer + 1) if layer else "") + ("_rev" if direction else "")
