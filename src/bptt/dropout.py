r"""Dropout on the non-recurrent connections and on the recurrent state, with exact gradients
through fixed masks.

Inverted dropout with rate p: each unit is kept with probability 1 − p and scaled by 1/(1 − p),
so the expected activation is unchanged and evaluation (no masks) needs no rescaling:

    m ~ Bernoulli(1 − p) / (1 − p),    x̃ = x ⊙ m                                      (DR1)
    ∂L/∂x = ∂L/∂x̃ ⊙ m                  (the same m: the gradient through a fixed mask)  (DR2)

Where (model.py): the input of every layer (the embedded ids or the float x of layer 1, the
states of the layer below for layers ≥ 2) and the top states the head reads — the
non-recurrent connections of Zaremba, Sutskever & Vinyals (2014). Token ids without an
embedding are not dropped (there is no dense input). Two kinds of mask:

    per step       (T, B, width): a new mask at every step (Zaremba et al.)
    variational    (B, width): one mask per sequence, the same at every step (Gal & Ghahramani 2016)

Recurrent dropout (``recurrent_dropout`` p_r; Gal & Ghahramani 2016): one mask ρ (B, width of
h) per sequence and per layer-direction, the same at every step, on h_{t−1} where it enters the
recurrent product, and nowhere else (not the direct paths: an LSTM's c, a GRU's z ⊙ h_{t−1},
the state a frozen row keeps):

    ρ ~ Bernoulli(1 − p_r) / (1 − p_r),    h̃_{t−1} = h_{t−1} ⊙ ρ   in  h̃_{t−1} Wᵀ     (DR3)
    ∂L/∂h_{t−1} ∋ (δ_t W) ⊙ ρ,    ∂L/∂W = Σ_t δ_tᵀ h̃_{t−1}                          (DR4)

(δ_t W: the recurrent product's backward, multiplied by ρ before the direct and frozen
paths are added; each cell cites DR3/DR4 where its equations change: cells/elman.py F1, B1,
B3; cells/lstm.py F1, B6, B8; cells/gru.py F2, B6, B7 and F2′, F4′, B5′–B7′.)

Masks are drawn only when the caller passes a Generator (``loss_and_grad(..., dropout_rng=rng)``,
as the trainer does with its saved RNG, so a resumed run draws the same masks); without one,
nothing is dropped (evaluation). They are drawn once per batch, in a fixed order (layer 1's
input, layer 2's, …, the head's, then with recurrent_dropout the recurrent masks of rows
0 … L·dirs − 1), before any forward pass, so every gradient method and every truncation window
sees the same masks (a recurrent mask is per sequence: every window reads all of it).
"""
from __future__ import annotations

import numpy as np


def draw(rng: np.random.Generator, p: float, variational: bool, T: int, B: int, widths: list,
         dtype) -> list:
    """One mask per width (DR1): (T, B, w), or (B, w) when ``variational``, in ``dtype``."""
    keep = 1.0 - p
    out = []
    for w in widths:
        shape = (B, w) if variational else (T, B, w)
        out.append(((rng.random(shape) < keep) / keep).astype(dtype))
    return out


def apply(a: np.ndarray, m: np.ndarray | None) -> np.ndarray:
    """x̃ = x ⊙ m (DR1) for a (T, B, w) and m (T, B, w) or (B, w); m None: a itself. The same
    product is the backward (DR2): ∂L/∂x = apply(∂L/∂x̃, m)."""
    return a if m is None else a * m


def window(m: np.ndarray | None, lo: int, hi: int) -> np.ndarray | None:
    """The mask of steps lo … hi − 1 (a per-sequence mask is the same at every step)."""
    return m if m is None or m.ndim == 2 else m[lo:hi]
