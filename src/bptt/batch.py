"""A validated batch: inputs, targets, loss weights, initial states, lengths.

Everything a user passes to ``RNN.forward`` / ``RNN.loss_and_grad`` goes through ``make_inputs``
and ``make_batch``; the algorithms (elman.py, gradients/) trust what comes out."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate as v
from . import memory
from .sequences import last_step_mask, length_mask


@dataclass
class Inputs:
    """x (T, B, D) float in the model dtype or (T, B) int64 ids; state0 the initial state tuple
    ((L·dirs, B, size), …) (model.RNN.state_shapes); lengths (B,) int64 or None; active (T, B)
    bool or None (None: every step is valid); learned_state0: state0 is the model's trainable
    initial state (``RNN(learn_h0=True)`` and no h0 passed), so its gradient is a parameter's."""

    x: np.ndarray
    state0: tuple
    lengths: np.ndarray | None
    active: np.ndarray | None
    learned_state0: bool = False
    masks: list | None = None  # dropout masks: one per layer input (None: not dropped), then the
    # head's, then with recurrent_dropout one recurrent mask per row l·dirs + d (RNN.dropout_masks)

    @property
    def T(self) -> int:
        return self.x.shape[0]

    @property
    def B(self) -> int:
        return self.x.shape[1]


@dataclass
class Batch(Inputs):
    """Inputs plus y ((T, B) ids or (T, B, K) floats) and weights w (T, B) = m_{t,b} / B (eq. L1)."""

    y: np.ndarray = None
    w: np.ndarray = None


def make_inputs(net, x, h0, lengths, dropout_rng=None) -> Inputs:
    """Validate x, h0 (or (h0, c0)), lengths against the model ``net``; with a Generator
    ``dropout_rng`` and ``net.dropout`` or ``net.recurrent_dropout`` > 0, draw the batch's
    dropout masks (dropout.py)."""
    x = v.array(x, "x")
    D = net.input_size
    if x.ndim == 2 and x.dtype.kind in "iu":
        x = v.int_array(x, "x (token ids)", (None, None), high=D)
    elif x.ndim == 3 and x.dtype.kind in "fiub":
        x = v.float_array(x, "x", (None, None, D), net.dtype)
    else:
        raise ValueError(
            f"x must be float inputs of shape (T, B, {D}) or integer token ids of shape (T, B); "
            f"got dtype {x.dtype} with shape {x.shape}"
        )
    if net.embedding_size and x.ndim != 2:
        raise ValueError(f"x must be integer token ids of shape (T, B) for a model with an embedding "
                         f"(embedding_size={net.embedding_size}); got dtype {x.dtype} with shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have T ≥ 1 steps and B ≥ 1 sequences, got shape {x.shape}")
    T, B = x.shape[:2]
    memory.check(f"a pass over x of {T} steps × {B} sequences", memory.pass_bytes(net, T, B),
                 "pass fewer sequences at a time (a smaller batch) or shorter ones")
    state0 = initial_state(net, h0, B)
    active = None
    if lengths is not None:
        lengths = v.int_array(lengths, "lengths", (B,), high=T + 1, low=1)
        if lengths.min() < T:
            active = length_mask(lengths, T)
    masks = None
    if dropout_rng is not None and (net.dropout or net.recurrent_dropout):
        if not isinstance(dropout_rng, np.random.Generator):
            raise TypeError(f"dropout_rng must be a numpy Generator or None, got {type(dropout_rng).__name__}")
        masks = net.dropout_masks(dropout_rng, T, B, ids=x.ndim == 2)
    return Inputs(x, state0, lengths, active, learned_state0=h0 is None and net.learn_h0, masks=masks)


def initial_state(net, h0, B: int) -> tuple:
    """The state tuple from the public ``h0``: None (zeros, or the model's trainable initial
    state), an array (L·dirs, B, H), or for a two-part state (LSTM) the pair (h0, c0) as torch."""
    shapes = net.state_shapes(B)
    if h0 is None and net.learn_h0:  # the trainable h0 (c0), one row per layer and direction
        return tuple(np.repeat(net.params[name][:, None, :], B, axis=1) for name in net.state0_names)
    if h0 is None:
        return tuple(np.zeros(shape, dtype=net.dtype) for shape in shapes)
    if len(shapes) == 1:
        return (v.float_array(h0, "h0", shapes[0], net.dtype),)
    if not isinstance(h0, (tuple, list)) or len(h0) != len(shapes):
        raise TypeError(f"h0 must be None or the pair (h0, c0) for cell={net.cell.name!r} "
                        f"(shapes {shapes[0]} and {shapes[1]}), got {type(h0).__name__}")
    return tuple(v.float_array(part, name, shape, net.dtype) for part, name, shape in zip(h0, ("h0", "c0"), shapes))


def make_batch(net, x, y, mask, h0, lengths, dropout_rng=None) -> Batch:
    """Validate everything for a loss: targets against the head, the mask against x."""
    inp = make_inputs(net, x, h0, lengths, dropout_rng)
    T, B, K = inp.T, inp.B, net.output_size
    last = isinstance(mask, str)
    if last and mask != "last":
        raise ValueError(f"mask must be None, 'last' or an array of shape ({T}, {B}); got {mask!r}")
    y_shape = (B,) if last else (T, B)
    if net.head.integer_targets:
        y = v.int_array(y, "y (class ids)", y_shape, high=K)
    else:
        if last and K == 1 and np.ndim(y) == 1:  # one regression target per sequence: (B,) is (B, 1)
            y = v.array(y, "y")[:, None]
        y = v.float_array(y, "y", y_shape + (K,), net.dtype)
        if net.head.loss == "bce" and (y.min() < 0 or y.max() > 1):
            raise ValueError("y must hold probabilities in [0, 1] for the bce loss")
    if last:  # many-to-one: the target sits at each sequence's last valid step
        lengths_ = inp.lengths if inp.lengths is not None else np.full(B, T)
        m = last_step_mask(lengths_, T)
        y_full = np.zeros((T,) + y.shape, dtype=y.dtype)
        y_full[lengths_ - 1, np.arange(B)] = y
        y = y_full
    elif mask is None:
        m = np.ones((T, B))
    else:
        m = v.float_array(mask, "mask", (T, B), net.dtype).astype(np.float64)  # in the model's range, as x
        if m.min() < 0:
            raise ValueError("mask must be non-negative (a weight per step; 0 = no loss)")
    if inp.active is not None:
        m = m * inp.active  # padding carries no loss
    return Batch(inp.x, inp.state0, inp.lengths, inp.active, inp.learned_state0, inp.masks, y=y,
                 w=(m / B).astype(net.dtype))
