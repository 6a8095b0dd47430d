r"""Truncated BPTT in Williams & Peng's BPTT(k1, k2) sense (method "tbptt").

The forward pass runs over the whole sequence, the hidden state carried from step to step.
Every k1 steps, at τ = k1, 2k1, … (and at τ = T if T is not a multiple of k1), one update:
the losses of the k1 steps since the previous update, t ∈ (τ − k1, τ], are backpropagated
through the last k2 steps, (τ − k2, τ]; the state h_{τ−k2} they start from is a constant
(torch: ``h.detach()``). k2 ≥ k1, so every loss goes back at least k2 − k1 + 1 steps.

The gradient returned is the SUM OF THE UPDATES' GRADIENTS, all at the same θ:

    g = Σ_τ ∂/∂θ [ Σ_{t∈(τ−k1, τ]} L_t ]_{h_{τ−k2} constant}
      = Σ_t Σ_{k = k_min(t)}^{t} ∂L_t/∂h_t (Π_{j=k}^{t−1} ∂h_{j+1}/∂h_j) ∂h_k/∂θ|direct    (T1)

    k_min(t) = max(1, τ(t) − k2 + 1),   τ(t) = min(T, k1·⌈t/k1⌉), the update that owns t     (T2)

that is the unrolled sum (unrolled.py, U1) with the terms k ≤ τ(t) − k2 dropped; ∂L/∂h_0
keeps the loss L_t only when k_min(t) = 1 (its window reaches back to h_0). The loss is the
full L (each L_t is in exactly one update). For k2 ≥ T nothing is dropped: g is the BPTT
gradient. (A trainer that applies each update before the next would see a different θ per
update; this is the gradient that such a trainer's updates add up to at fixed θ.)

How the common variants differ (docs/algorithms.md has the picture):
- k1 = k2 = k, the "detach every chunk" idiom: split into chunks of k, detach the state at
  each boundary. L_t sees only back to its own chunk's start: 1 step at the chunk's first
  step, k at its last (on average (k+1)/2). Identical when k divides T; otherwise the last,
  short chunk differs: BPTT(k, k) updates at τ = T and goes back k steps (into the previous
  chunk), where the idiom stops at the short chunk's start.
- k1 = 1, a fixed per-output window: every L_t sees exactly k2 steps back (k_min = t − k2 + 1),
  at the price of one k2-step backward per step: O(T·k2·H²).
- 1 < k1 < k2 in between: every L_t sees between k2 − k1 + 1 and k2 steps.

Cost: T/k1 updates × k2 steps each: O(T·(k2/k1)·B·H²) time. Memory O(k2·B·H) per layer,
independent of T: each update re-runs the forward of its k2-step window from the stored
state h_{τ−k2} (only the states a later window starts from are kept, at most k2/k1 + 1),
then runs the core's head and backward (net.head_backward, net.backprop) on that window.

Stacked layers: the cut is in time, at every layer at once (all states at τ − k2 are constants).
Not supported: bidirectional=True (ValueError): the reverse direction reads the sequence from
its end, so no window of the past determines it.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from .. import dropout
from ..batch import Batch, Inputs
from ._common import no_bidirectional, ordered


def check_options(k1, k2):
    """Validate (k1, k2): integers with 1 ≤ k1 ≤ k2; k2 = None means k2 = k1. Returns (k1, k2)."""
    if k1 is None:
        raise ValueError("method='tbptt' needs k1 (steps between updates), e.g. k1=5, k2=10")
    k1 = v.positive_int("k1", k1)
    k2 = k1 if k2 is None else v.positive_int("k2", k2)
    if k2 < k1:
        raise ValueError(f"k2 must be ≥ k1 (k2 steps of backward every k1 steps); got k1={k1}, k2={k2}")
    return k1, k2


def update_times(T: int, k1: int) -> list[int]:
    """τ = k1, 2k1, … < T, then T: the steps (1-based) after which an update is made."""
    return list(range(k1, T, k1)) + [T]


def first_kept(t: int, T: int, k1: int, k2: int) -> int:
    """k_min(t) of (T2): the earliest step k whose term of L_t's sum is kept (1-based)."""
    tau = min(T, k1 * -(-t // k1))
    return max(1, tau - k2 + 1)


def loss_and_grad(net, batch, input_grad=False, *, k1=None, k2=None, **options):
    """(L, Gradients) of BPTT(k1, k2): the sum over the updates' gradients at fixed θ (T1)."""
    if options:
        raise ValueError(f"method='tbptt' takes the options k1 and k2; got {', '.join(sorted(options))}")
    k1, k2 = check_options(k1, k2)
    no_bidirectional(net, "tbptt", "truncation runs forward in time and the reverse direction "
                                   "reads the sequence from its end")
    T = batch.T
    states = {0: batch.state0}  # step s -> every layer's state tuple; only the ones still needed
    grads = {k: np.zeros_like(p) for k, p in net.params.items()}
    dstate0 = tuple(np.zeros_like(part) for part in batch.state0)
    dx = np.zeros(batch.x.shape, dtype=net.dtype) if input_grad else None
    loss, prev = 0.0, 0
    for tau in update_times(T, k1):  # the updates, in order; prev is the one before
        lo = max(0, tau - k2)
        active = None if batch.active is None else batch.active[lo:tau]
        masks = None if batch.masks is None else [dropout.window(m, lo, tau) for m in batch.masks]
        window = Inputs(batch.x[lo:tau], states[lo], None, active, masks=masks)
        trace = net.run(window)  # forward over (lo, τ] from h_lo, a constant unless lo = 0
        w = batch.w[lo:tau].copy()
        w[:prev - lo] = 0  # the losses of steps ≤ the previous update were injected there
        wbatch = Batch(window.x, window.state0, None, active, masks=masks, y=batch.y[lo:tau], w=w)
        loss_u, head, G = net.head_backward(wbatch, trace.top)  # (B8) for t ∈ (τ − k1, τ]
        g = net.backprop(trace, G, input_grad=input_grad)  # (B1)–(B7) over the window only
        loss += loss_u
        net.add_head_grads(g, head)
        for k, value in g.items():
            grads[k] += value
        if lo == 0:  # the window reaches h_0: ∂L/∂h_0 gets these losses (else h_lo is cut)
            for total, part in zip(dstate0, g.dh0):
                total += part
        if input_grad:
            dx[lo:tau] += g.dx
        for s in range(prev + 1, tau + 1):  # keep the states later windows start from
            if _starts_a_window(s, T, k1, k2):
                at = [net.cell.state_at(cache, s - lo) for cache in trace.caches]  # per layer
                states[s] = tuple(np.stack(parts) for parts in zip(*at))
        next_lo = max(0, min(tau + k1, T) - k2)  # no later window starts before this
        states = {s: h for s, h in states.items() if s >= next_lo}
        prev = tau
    return loss, ordered(net, grads, dstate0, dx, batch)


def _starts_a_window(s: int, T: int, k1: int, k2: int) -> bool:
    """Is step s ≥ 1 the start τ − k2 of some update's window (τ a multiple of k1 below T, or T)?"""
    tau = s + k2
    return tau == T or (tau < T and tau % k1 == 0)
