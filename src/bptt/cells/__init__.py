r"""Recurrent cells: one layer, one direction, over a whole sequence, behind ONE interface.

model.py stacks layers, runs the reverse direction, freezes states past each sequence's end
and owns the head; a cell only maps a sequence to its states and back. Every cell is an
object (its options, e.g. Elman's activation, are attributes) with:

    name                          "elman", "lstm", "gru"
    OPTIONS                       the names of its options beyond ``activation`` (a class attribute)
    options                       {option: value} of those (JSON-able, for config)
    output_size(H)                width of h_t (H; an LSTM with proj_size P: P)
    state_sizes(H)                the widths of the state tuple: (H,) for Elman and GRU (h),
                                  (P or H, H) for LSTM (h, c) — torch's (h_0, c_0) order
    param_shapes(H, D_in)         {base name: shape}, e.g. {"U": (H, D_in), "W": (H, H), "b": (H,)}
    init(scheme, rng, H, D_in)    {base name: float64 array} (init.py's schemes)
    forward(x, state0, p, active, rmask=None) -> (h, cache, state_T)
    backward(cache, G, dstate_T, p, need_dx) -> (grads, dx, dstate0)   (rmask from the cache)
    step_back(cache, t, dstate, p) -> dstate_prev
                                  one step of the backward without G: ∂L/∂state_{t−1} through
                                  step t alone (t = 1 … T) from ∂L/∂state_t, the vector–Jacobian
                                  product of ∂state_t/∂state_{t−1} (frozen rows: the identity).
                                  dstate: a state tuple of (..., B, size) arrays, any leading
                                  dims (diagnostics.py sends many gradients at once); an LSTM's
                                  is (∂L/∂h_t, ∂L/∂c_t). Chained from T down to 1 it gives
                                  backward's dstate0 when G = 0
    state_at(cache, t)            the state tuple after t steps (t = 0: state0), for truncation
    torch_module                  the torch.nn class computing the same layer: "RNN", "LSTM", "GRU"
    torch_weights(p)              {torch's per-layer name without _l{k}{_reverse}: array}, e.g.
                                  weight_ih, weight_hh, bias_ih (= b), bias_hh (= 0), weight_hr
    from_torch_weights(w)         p from such a dict (torch's two biases summed into b, …)
    torch_options                 optional: keyword arguments of the torch module beyond the
                                  sizes, e.g. {"nonlinearity": "tanh"}, {"proj_size": P}; absent
                                  means none (interop/torch.py)

x: (T, B, D_in) float or (T, B) int ids (gathered, never one-hot); state0, state_T, dstate0:
tuples of (B, size) arrays in the order of ``state_sizes``; dstate_T: such a tuple or None
(no gradient reaches the final state from outside); p: {base name: array} of this layer and
direction; active: (T, B) bool or None — past its end a sequence's state (every part of it)
is frozen, F3 of elman.py; rmask: (B, output_size) the recurrent dropout mask ρ of this layer
and direction (dropout.py DR3–DR4: h_{t−1} ⊙ ρ where it enters the recurrent product only; the
cache keeps it for the backward) or None (nothing dropped). h: (T, B, output_size) the states h_1 … h_T (what the layer above
or the head reads); G: (T, B, output_size) = ∂L/∂h_t from the head or the layer above;
grads: {base name: array} with the shapes of ``param_shapes``; dx: (T, B, D_in) when need_dx
(float inputs), else None. Each cell's module holds its own labelled derivation.
"""
from __future__ import annotations

from .elman import Elman
from .gru import GRU
from .lstm import LSTM

CELLS = {"elman": Elman, "lstm": LSTM, "gru": GRU}


def options_for(name: str, options: dict) -> dict:
    """The entries of ``options`` that the cell ``name`` takes (its class's OPTIONS), for a
    model that passes one set of options to several cells (Seq2Seq); an unknown name is left
    for ``make`` to report."""
    return {k: v for k, v in options.items() if k in getattr(CELLS.get(name), "OPTIONS", ())}


def make(name: str, activation: str = "tanh", **options):
    """The cell called ``name`` with its options; an option another cell owns is a ValueError."""
    if not isinstance(name, str) or name not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}; got {name!r}")
    return CELLS[name].make(activation=activation, **options)
