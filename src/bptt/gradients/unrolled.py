r"""The unrolled sum: the seeds' explicit Σ over earlier steps of products of Jacobians.

Seed 002, eqs. (9)–(14), for one layer, with the corrected factors (docs/algorithms.md;
elman.py holds the notation). For every step t that carries a loss and every earlier step k ≤ t:

    ∂L/∂θ = Σ_t Σ_{k≤t} ∂L_t/∂h_t (Π_{j=k}^{t−1} ∂h_{j+1}/∂h_j) ∂h_k/∂θ|direct         (U1)

    ∂L_t/∂h_t            = G_t = (ŷ_t − y_t) V for the canonical pairs (NOT y − ŷ as seed
                           002 writes), from the core's head (net.head_backward, eq. B8)
    ∂h_{j+1}/∂h_j        = diag(f'(z_{j+1})) W                                         (U2)
                           (a step past a sequence's end copies the state: the identity, F3)
    ∂h_k/∂W|direct       = f'(z_k) ⊗ h_{k−1}     ∂h_k/∂U|direct = f'(z_k) ⊗ x_k
    ∂h_k/∂b|direct       = f'(z_k)               (each with a_k = 0 past the end)        (U3)
    ∂L/∂h_0              = Σ_t ∂L_t/∂h_t Π_{j=0}^{t−1} ∂h_{j+1}/∂h_j                     (U4)
    ∂L/∂x_k              = Σ_{t≥k} ∂L_t/∂h_t (Π …) diag(f'(z_k)) U                      (U5)

V and c are read directly from the head (B8): their gradient has no sum over k.

Two loops, t outside and k inside, exactly as written: O(T²) pairs, each a row vector times
one Jacobian, O(B·H²), so O(T²·B·H²) time. The row vector ∂L_t/∂h_t Π_{j=k}^{t−1} … is
extended by one Jacobian per k (associativity: the same number as forming the matrix product
Π first, without its O(H³) matrix–matrix products). The backward recursion of elman.py (B1)
computes the same double sum in O(T) products by sharing the inner sums between t's; this
file is the reference that shows it is the same sum. Written for clarity, not speed.

Stacked layers: the layer above hands G_t = ∂L/∂x_t of its own sum (U5) to the layer below;
the reverse direction of a bidirectional layer is the same sum over its reversed sequence.
Dropout on the layers' inputs and the head's (dropout.py DR1–DR2) is net.run's and net.backprop's;
recurrent_dropout (DR3) is not supported (ValueError): (U2) and (U3) are the undropped step's.
"""
from __future__ import annotations

import numpy as np

from .. import activations
from ..cells import elman
from ._common import elman_only, no_options, no_recurrent_dropout, ordered


def loss_and_grad(net, batch, input_grad=False, **options):
    """(L, Gradients) by the unrolled sum (U1)–(U5) for every layer and direction; the layers
    are walked top to bottom by net.backprop, each one's sum computed by ``layer_sum``."""
    no_options("unrolled", options)
    elman_only(net, "unrolled", "its Jacobians (U2) are diag(f'(z)) W")
    no_recurrent_dropout(net, batch, "unrolled", "its Jacobians (U2) and terms (U3) are the undropped step's")
    trace = net.run(batch)  # forward (F1)–(F3), every state kept
    loss, head, G_top = net.head_backward(batch, trace.top)  # L, {V, c}, G_t = ∂L_t/∂h_t (B8)
    def layer(cache, G, dstate_T, p, need_dx):  # the cell's backward signature, for net.backprop
        grads, dx, dh0 = layer_sum(cache, G, p["U"], p["W"], net.activation, need_dx)
        return grads, dx, (dh0,)  # no gradient reaches h_T from outside (dstate_T is None)

    grads = net.backprop(trace, G_top, input_grad=input_grad, layer_backward=layer)
    net.add_head_grads(grads, head)
    return loss, ordered(net, grads, grads.dh0, grads.dx, batch)


def layer_sum(cache, G, U, W, activation, need_dx, first_kept=None):
    """(U1)–(U5) for one layer and direction: returns ({U, W, b}, dx or None, dh0).

    cache: elman.Cache of the forward (x, h with h[0] = h_0, active); G (T, B, H): ∂L_t/∂h_t.
    first_kept: None (every term), or a function t ↦ the smallest k whose term is kept;
    terms with k < first_kept(t) are dropped, and the h_0 term (U4) is kept only when
    first_kept(t) ≤ 1. Used to state exactly which terms truncated BPTT drops (truncated.py).
    Steps are numbered 1…T as in the seeds; array index k−1 holds step k."""
    x, h, active = cache.x, cache.h, cache.active
    T, B, H = G.shape
    a = np.ones((T, B), dtype=W.dtype) if active is None else active.astype(W.dtype)
    fprime = activations.derivative_from_output(activation, h[1:])  # f'(z_k) from h_k, k = 1…T
    eye = np.eye(H, dtype=W.dtype)

    def jacobian(j):
        """∂h_j/∂h_{j−1} (U2), one (H, H) matrix per sequence: (B, H, H)."""
        aj = a[j - 1][:, None, None]
        return aj * (fprime[j - 1][:, :, None] * W) + (1 - aj) * eye

    dW, db = np.zeros_like(W), np.zeros(H, dtype=W.dtype)
    dU = np.zeros_like(U)
    dx = np.zeros((T, B, U.shape[1]), dtype=W.dtype) if need_dx else None
    dh0 = np.zeros((B, H), dtype=W.dtype)
    for t in range(1, T + 1):
        lo = 1 if first_kept is None else first_kept(t)
        v = G[t - 1]  # ∂L_t/∂h_t: the product Π_{j=t}^{t−1} is empty
        for k in range(t, lo - 1, -1):
            # here v = ∂L_t/∂h_t Π_{j=k}^{t−1} ∂h_{j+1}/∂h_j = ∂L_t/∂h_k, (B, H)
            d = v * a[k - 1][:, None] * fprime[k - 1]  # ∂L_t/∂z_k: the factor common to (U3)
            dW += d.T @ h[k - 1]  # · ∂h_k/∂W|direct = f'(z_k) ⊗ h_{k−1}   (U3, seed 002 eq. 10)
            dU += elman.input_weight_grad(d, x[k - 1:k], U)  # · f'(z_k) ⊗ x_k (eq. 12)
            db += d.sum(axis=0)  # · ∂h_k/∂b|direct = f'(z_k)   (eq. 14)
            if need_dx:
                dx[k - 1] += d @ U  # (U5)
            v = np.einsum("bi,bij->bj", v, jacobian(k))  # one more factor: ∂L_t/∂h_{k−1}
        if lo <= 1:
            dh0 += v  # the loop ended at k = 1: v = ∂L_t/∂h_0 (U4)
    return {"U": dU, "W": dW, "b": db}, dx, dh0
