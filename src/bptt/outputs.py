"""What the model's passes return, and the parameter names: a leaf module (it imports nothing of
the package), so model.py, the gradient methods and the tools can all import it."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Output(NamedTuple):
    """y_hat (T, B, K) = g(o_t); h (T, B, dirs·H) top-layer states; h_n (L·dirs, B, H) final
    states (an LSTM's: the pair (h_n, c_n), as torch)."""

    y_hat: np.ndarray
    h: np.ndarray
    h_n: np.ndarray


class Gradients(dict):
    """∂L/∂θ with the keys and shapes of ``net.params``, plus
    ``dh0`` (L·dirs, B, H) = ∂L/∂h_0 (an LSTM's: the pair (∂L/∂h_0, ∂L/∂c_0)), ``dx`` (T, B, D) = ∂L/∂x (float inputs, when asked) and
    ``h_n`` (L·dirs, B, H) (LSTM: (h_n, c_n)), the forward pass's final states (to carry into the next chunk of a
    stream without a second forward pass; set by method="bptt")."""

    dh0: np.ndarray | None = None
    dx: np.ndarray | None = None
    h_n: np.ndarray | None = None


class Trace(NamedTuple):
    """What ``RNN.run`` keeps for ``RNN.backprop``: the top states (T, B, dirs·H), the final
    state tuple ((L·dirs, B, size), …), every layer's cache and the reverse time index."""

    top: np.ndarray
    state_n: tuple
    caches: list
    reverse: np.ndarray | None
    ids: np.ndarray | None = None  # (T, B) the ids an embedding layer read (embedding.py), else None
    active: np.ndarray | None = None  # (T, B) the valid steps, or None (all)
    masks: list | None = None  # the dropout masks of the batch (Inputs.masks), or None


def param_name(base: str, layer: int, direction: int) -> str:
    """'U', 'W2', 'b_rev', 'U3_rev', … for layer (0-based) and direction (0 forward, 1 reverse)."""
    return base + (str(layer + 1) if layer else "") + ("_rev" if direction else "")


def public_state(state: tuple):
    """A state tuple as the public API shows it, torch's way: the array alone for a one-part
    state (Elman, GRU), the tuple (h, c) for an LSTM."""
    return state[0] if len(state) == 1 else tuple(state)
