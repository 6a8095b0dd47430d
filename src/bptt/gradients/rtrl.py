r"""Real-time recurrent learning (RTRL): the forward-mode recursion of seeds 000 and 003.

Instead of carrying δ_t = ∂L/∂z_t backwards (elman.py, B1–B2), carry the sensitivity of the
state to every parameter forwards, P_t^θ = ∂h_t/∂θ, one (H × |θ|) matrix per sequence:

    P_t^θ = a_t ⊙ f'(z_t) ⊙ (∂z_t/∂θ|direct + W P_{t−1}^θ) + (1 − a_t) P_{t−1}^θ          (R1)
    ∂z_{t,i}/∂W_pq|direct = [i = p] h_{t−1,q}    ∂z_{t,i}/∂U_pq|direct = [i = p] x_{t,q}
    ∂z_{t,i}/∂b_p|direct  = [i = p]                                                      (R2)
    P_0^θ = 0 for the weights;  P_0^{h_0} = I  (so ∂L/∂h_0 comes out of the same recursion)
    ∂L_t/∂θ = ∂L_t/∂h_t P_t^θ = G_t P_t^θ,  ∂L/∂θ = Σ_t ∂L_t/∂θ                          (R3)

(seed 000: ∂h_t/∂W = (1 − tanh²(z_t)) (h_{t−1} + W ∂h_{t−1}/∂W); seed 003 eq. (6) per entry.)
a_t = 0 past a sequence's end (F3): the state, and so its sensitivity, is copied. G_t and the
head's V, c gradients come from the core's head (net.head_backward, B8) one step at a time.

Stacked layers: the input of layer l is x_t^l = h_t^{l−1}, which depends on every parameter
below, so layer l carries P^θ for θ in layers ≤ l and adds U^l P_t^{θ, l−1} inside (R1).

Cost, per step and sequence: W P_{t−1}^W is (H × H)·(H × H²): O(H⁴) time; P^W holds H³
numbers: O(H³) memory, independent of T. Nothing of the past is stored, so ∂L_t/∂θ is
available at step t: ``Online`` is that use; ``loss_and_grad`` sums its steps.

Not supported, with a ValueError: dropout and recurrent_dropout (dropout.py), bidirectional=True
(the reverse direction needs the future, which a forward-in-time method does not have) and
input_grad=True (∂L/∂x_t for every t would need a sensitivity per input step; that is a
backward quantity — use bptt).
"""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from .. import activations
from ..batch import Batch, make_batch
from ..cells import elman
from ..outputs import param_name
from ._common import elman_only, no_bidirectional, no_options, no_recurrent_dropout, ordered

_WHY_BIDIRECTIONAL = "RTRL runs forward in time and the reverse direction needs the future"


def loss_and_grad(net, batch, input_grad=False, **options):
    """(L, Gradients) as the sum over t of the per-step RTRL gradients (R3); no dx."""
    no_options("rtrl", options)
    no_bidirectional(net, "rtrl", _WHY_BIDIRECTIONAL)
    if input_grad:
        raise ValueError("method='rtrl' does not support input_grad=True: ∂L/∂x_t is a backward "
                         "quantity (it needs the losses after t); use method='bptt' or 'unrolled'")
    no_recurrent_dropout(net, batch, "rtrl", "its sensitivities (R1) are of the undropped h_{t−1} Wᵀ")
    if batch.masks is not None:
        raise ValueError("method='rtrl' does not support dropout (dropout_rng with dropout > 0): its "
                         "sensitivities (R1) read x_t directly; use method='bptt' or method='tbptt'")
    online = Online(net, batch.state0[0])
    loss, total, dh0 = 0.0, {k: np.zeros_like(p) for k, p in net.params.items()}, 0
    for t in range(batch.T):
        active = None if batch.active is None else batch.active[t:t + 1]
        step = Batch(batch.x[t:t + 1], None, None, active, y=batch.y[t:t + 1], w=batch.w[t:t + 1])
        loss_t, g = online._step(step)
        loss += loss_t
        for k in total:
            total[k] += g[k]
        dh0 = dh0 + g.dh0
    return loss, ordered(net, total, (dh0,), None, batch)


class Online:
    """RTRL online: feed one step at a time, get that step's loss and gradient at once.

        online = Online(net, h0=None)          # h0 (num_layers, B, H) or None (zeros)
        loss_t, grads_t = online.step(x_t, y_t, mask_t=None, active_t=None)

    x_t (B, D) floats or (B,) ids; y_t (B,) class ids for cross_entropy, else (B, K), or None
    (no loss at this step); mask_t (B,) ≥ 0 weights (default ones); active_t (B,) bool, False
    once a sequence has ended (its state is frozen, F3, and it carries no loss).
    loss_t = (1/B) Σ_b m_{t,b} L_t(b), so Σ_t loss_t is the batch loss of ``RNN.loss`` and
    Σ_t grads_t its gradient. grads_t is a Gradients dict (keys of net.params) with
    grads_t.dh0 = ∂loss_t/∂h_0. Memory: the current states and their sensitivities only,
    O(B·H³) per layer, whatever the number of steps taken. ``h`` is the current state."""

    def __init__(self, net, h0=None):
        no_bidirectional(net, "rtrl", _WHY_BIDIRECTIONAL)
        elman_only(net, "rtrl", "its sensitivity recursion (R1) is the Elman step's")
        if net.embedding_size:
            raise ValueError("method='rtrl' does not support embedding_size: its sensitivities (R2) "
                             "read x_t directly; use method='bptt' or method='tbptt'")
        self.net = net
        self.t = 0
        self.h = None  # (L, B, H) once started
        self._P = None  # per layer l: {key: ∂h_t^l/∂key, (B, H, *shape)}
        self._kind = {}  # key -> (base 'U' | 'W' | 'b' | 'h0', layer)
        if h0 is not None:
            L, H = net.num_layers, net.hidden_size
            self._start(v.float_array(h0, "h0", (L, None, H), net.dtype))

    def _start(self, h0):
        L, B, H = h0.shape
        self.h = h0.copy()
        self._P = []
        for l in range(L):
            P = {}
            for m in range(l + 1):  # layer l depends on the parameters of layers ≤ l
                for base in "UWb":
                    name = param_name(base, m, 0)
                    P[name] = np.zeros((B, H) + self.net.params[name].shape, dtype=self.net.dtype)
                    self._kind[name] = (base, m)
                key = f"h0[{m}]"  # ∂h^l/∂h_0^m: I for m = l, 0 below, at t = 0 (R2)
                P[key] = np.broadcast_to(np.eye(H, dtype=self.net.dtype) if m == l else 0, (B, H, H)).copy()
                self._kind[key] = ("h0", m)
            self._P.append(P)

    def step(self, x_t, y_t=None, mask_t=None, active_t=None):
        """Advance one step; return (loss_t, grads_t). See the class docstring."""
        net = self.net
        x_t = v.array(x_t, "x_t")
        if x_t.ndim not in (1, 2):
            raise ValueError(f"x_t must be (B, {net.input_size}) floats or (B,) token ids, got shape {x_t.shape}")
        B = x_t.shape[0]
        mask = np.ones(B) if mask_t is None else v.float_array(mask_t, "mask_t", (B,), np.float64)
        if y_t is None:  # no loss at this step: a placeholder target with zero weight
            y_t = np.zeros((B,) if net.head.integer_targets else (B, net.output_size),
                           dtype=np.int64 if net.head.integer_targets else net.dtype)
            mask = np.zeros(B)
        active = None
        if active_t is not None:
            active = v.array(active_t, "active_t")
            if active.dtype != bool or active.shape != (B,):
                raise ValueError(f"active_t must be a bool array of shape ({B},), got {active.dtype} {active.shape}")
            mask = mask * active
            active = active[None]
        y_t = np.asarray(y_t)
        batch = make_batch(net, x_t[None], y_t[None], mask[None], self.h, None)
        batch.active = active
        if self.h is None:
            self._start(batch.state0[0])
        return self._step(batch)

    def _step(self, batch):
        """One validated step: batch has T = 1. Forward (F1)–(F3), (R1), then (R3)."""
        net, act = self.net, self.net.activation
        B, H = batch.B, net.hidden_size
        a = None if batch.active is None else batch.active[0][:, None, None]
        inp, new_h, new_P = batch.x[0], [], []
        eye = np.arange(H)
        for l in range(net.num_layers):
            U, W, b = (net.params[param_name(base, l, 0)] for base in "UWb")
            h_prev = self.h[l]
            h, _ = elman.forward(inp[None], h_prev, U, W, b, act, batch.active)  # (F1)–(F3)
            h_t = h[1]
            fp = activations.derivative_from_output(act, h_t)[:, :, None]  # f'(z_t) (B, H, 1)
            P_l = {}
            for key, P in self._P[l].items():
                flat = P.reshape(B, H, -1)
                S = W @ flat  # W ∂h_{t−1}/∂θ (R1)
                if l > 0 and key in new_P[l - 1]:  # U^l ∂x_t^l/∂θ, x_t^l = h_t^{l−1}
                    S += U @ new_P[l - 1][key].reshape(B, H, -1)
                S = S.reshape(P.shape)
                base, layer = self._kind[key]
                if layer == l:  # ∂z_t/∂θ|direct (R2)
                    if base == "W":
                        S[:, eye, eye, :] += h_prev[:, None, :]
                    elif base == "b":
                        S[:, eye, eye] += 1
                    elif base == "U" and inp.ndim == 1:  # ids: x_t is one-hot at inp[b]
                        S[np.arange(B)[:, None], eye, eye, inp[:, None]] += 1
                    elif base == "U":
                        S[:, eye, eye, :] += inp[:, None, :]
                S = (fp * S.reshape(B, H, -1)).reshape(P.shape)  # f'(z_t) ⊙ (…) (R1)
                if a is not None:  # past the end: the state is copied, so is its sensitivity
                    S = np.where(a.reshape((B, 1) + (1,) * (P.ndim - 2)), S, P)
                P_l[key] = S
            new_P.append(P_l)
            new_h.append(h_t)
            inp = h_t
        self.h, self._P, self.t = np.stack(new_h), new_P, self.t + 1
        loss, grads, G = net.head_backward(batch, self.h[-1][None])  # L_t, {V, c}, G_t (B8)
        G = G[0].reshape(B * H)
        top = self._P[-1]
        for key, (base, layer) in self._kind.items():
            if base != "h0":  # ∂L_t/∂θ = Σ_b G_t P_t^θ (R3)
                grads[key] = (G @ top[key].reshape(B * H, -1)).reshape(net.params[key].shape)
        dh0 = np.stack([np.einsum("bi,bij->bj", G.reshape(B, H), top[f"h0[{m}]"])
                        for m in range(net.num_layers)])
        return loss, ordered(net, grads, (dh0,), None, batch)
