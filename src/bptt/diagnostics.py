r"""Vanishing and exploding gradients, measured on any single-layer model and batch, for every
cell (Elman, LSTM, GRU). The report ``bptt diagnose`` writes is ``diagnose_report.py``.

Unrolling the backward recursion, the gradient that the loss at step t sends to an earlier
state s_k (k ≤ t) is a product of t − k Jacobians of one step (seeds 001 and 004):

    ∂L_t/∂s_k = ∂L_t/∂s_t · Π_{j=k+1}^{t} ∂s_j/∂s_{j−1}                                 (D1)

(with row vectors, as in the code: one step back is the cell's ``step_back``, the
vector–Jacobian product of bptt.cells). s_t is the cell's whole state: h_t for Elman and GRU,
(h_t, c_t) for an LSTM, whose gradient travels back through both; ∂L_t/∂s_t = (∂L_t/∂h_t, 0)
there, the loss reading h_t only. For Elman ∂h_j/∂h_{j−1} = diag(f'(z_j)) W, and taking norms

    ‖∂L_t/∂h_k‖ ≤ ‖∂L_t/∂h_t‖ · (γ σ_max(W))^{t−k},    γ = max f' = 1 (tanh, relu), ¼ (sigmoid)  (D2)

so γ σ_max(W) < 1 makes the gradient vanish geometrically (the sufficient condition of
Pascanu, Mikolov & Bengio 2013), and γ ρ(W) > 1 is necessary for it to explode. The gated
cells have an additive path instead: ∂c_t/∂c_{t−1} = diag(f_t) for an LSTM (c_t = f_t ⊙ c_{t−1}
+ i_t ⊙ g_t), and ∂h_t/∂h_{t−1} ∋ diag(z_t) for a GRU (h_t = … + z_t ⊙ h_{t−1}); a gate near 1
passes the gradient on unshrunk (``carry_gate``, ``gate_saturation``).

The norm used everywhere here. For one sequence b, ‖∂L_t/∂h_k‖ is the Euclidean (L2) norm of
the vector ∂L_t(b)/∂h_k(b) (the h part of the state), where L_t(b) is the loss of sequence b at
step t alone: not divided by B and not weighted by the mask (the mask m_{t,b} > 0 only chooses
which (t, b) carry a loss). A reported number is the mean of these per-sequence norms over the
sequences whose step t carries a loss. The *relative* norm ‖∂L_t/∂h_k‖ / ‖∂L_t/∂h_t‖ is taken
per sequence before averaging; it is 1 at lag 0, and for a linear RNN with W = αI it is exactly
α^{t−k}. The decay rate is the geometric rate fitted to its average by lag (``fit_rate``).

Steps are 0-based: index t means the state h_{t+1} of the design (h[t + 1] in a cell's cache).
Everything is computed in float64 (a float32 model is copied), so a gradient that decays by
1e-60 is measured rather than flushed to zero.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from . import _validate as v
from . import activations, memory, optim
from .batch import make_batch, make_inputs
from .model import RNN

MAX_DERIVATIVE = {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25, "identity": 1.0}  # γ in (D2)
SATURATED = {"tanh": "|h| > 0.949, f' < 0.1", "sigmoid": "h < 0.026 or h > 0.974, f' < 0.025",
             "relu": "dead: h = 0, f' = 0", "identity": "never saturates"}
# the gate that carries the state over a step: block 1 of the cache's gates ([i f g o], [r z n])
CARRY_GATES = {"lstm": "forget gate f", "gru": "update gate z"}
# ----------------------------------------------------------------------------- W and states
def spectral_radius(W) -> float:
    """ρ(W) = max |λ_i(W)|, the largest eigenvalue modulus of a square matrix."""
    W = _square(W)
    return float(np.abs(np.linalg.eigvals(W)).max())


def max_singular_value(W) -> float:
    """σ_max(W) = ‖W‖₂, the largest singular value (≥ ρ(W))."""
    return float(np.linalg.norm(_square(W), 2))


def saturation_fraction(h, activation: str, threshold: float = 0.1, active=None) -> float:
    """The fraction of units whose derivative f'(z) has fallen below ``threshold`` × max f'.

    h: states f(z), any shape (…, H); ``active``: optional bool mask broadcastable to h[..., 0]
    (e.g. (T, B) valid steps) — only those states count. With the default 0.1 a unit counts as
    saturated when: tanh |h| > √0.9 ≈ 0.949; sigmoid h < 0.026 or h > 0.974; relu h = 0 (a
    dead unit, f' = 0); identity never."""
    v.choice("activation", activation, activations.NAMES)
    if not (isinstance(threshold, (int, float)) and 0 < threshold < 1):
        raise ValueError(f"threshold must be a number in (0, 1), got {threshold!r}")
    h = np.asarray(h, dtype=np.float64)
    if h.ndim == 0 or h.size == 0:
        raise ValueError(f"h must be a non-empty array of states (…, H), got shape {h.shape}")
    sat = activations.derivative_from_output(activation, h) < threshold * MAX_DERIVATIVE[activation]
    if active is None:
        return float(sat.mean())
    active = np.broadcast_to(np.asarray(active, dtype=bool), h.shape[:-1])
    n = active.sum() * h.shape[-1]
    if n == 0:
        raise ValueError("active selects no state")
    return float(sat[active].sum() / n)


def carry_gate(net, x, h0=None, lengths=None) -> np.ndarray:
    """(T, B, H) the gate that carries the state over each step: an LSTM's forget gate f_t
    (c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t), a GRU's update gate z_t (h_t = (1 − z_t) ⊙ n_t + z_t ⊙
    h_{t−1}); NaN at frozen steps (past a sequence's end). Single-layer unidirectional gated
    models; arguments as ``RNN.forward``."""
    net = _single_layer64(net)
    if net.cell.name not in CARRY_GATES:
        raise ValueError(f"carry_gate needs a gated cell ({', '.join(CARRY_GATES)}); got cell={net.cell.name!r}")
    inp = make_inputs(net, x, h0, lengths)
    gates = net.run(inp).caches[0].gates
    H = net.hidden_size
    g = gates[..., H:2 * H].copy()  # f of [i f g o], z of [r z n]
    if inp.active is not None:
        g[~inp.active] = np.nan
    return g


def gate_saturation(gate, threshold: float = 0.1) -> tuple[float, float]:
    """(near 0, near 1): the fractions of the gate values (any shape, NaN = not counted) whose
    σ' = g(1 − g) has fallen below ``threshold`` × ¼, split by side: with the default 0.1, g <
    0.026 (the gate closes: the carried gradient is cut) and g > 0.974 (it passes almost whole)."""
    if not (isinstance(threshold, (int, float)) and 0 < threshold < 1):
        raise ValueError(f"threshold must be a number in (0, 1), got {threshold!r}")
    g = np.asarray(gate, dtype=np.float64)
    g = g[np.isfinite(g)]
    if g.size == 0:
        raise ValueError("gate holds no finite value")
    sat = g * (1 - g) < threshold * MAX_DERIVATIVE["sigmoid"]
    return float((sat & (g < 0.5)).mean()), float((sat & (g > 0.5)).mean())


# ----------------------------------------------------------------------------- training helpers
def global_grad_norm(grads) -> float:
    """√(Σ_θ ‖∂L/∂θ‖²) over every array in ``grads``: ``optim.global_norm`` (the norm clipping
    by global norm uses; finite for finite gradients, inf or nan when one holds inf or NaN)."""
    _dict_of_arrays("grads", grads)
    return optim.global_norm({k: np.asarray(g) for k, g in grads.items()})


def update_ratios(params, update=None, *, before=None, lr: float = 1.0) -> dict:
    """{name: ‖Δθ‖ / ‖θ‖} per parameter, the update-to-weight ratio (healthy: around 1e-3).

    Give the update one of two ways:
      ``update_ratios(params, delta)``            Δθ = delta (the step applied), or
      ``update_ratios(params, grads, lr=0.1)``    Δθ = lr · grads (what plain SGD would apply);
      ``update_ratios(params, before=snapshot)``  Δθ = params − snapshot (any optimizer: copy
                                                   the params before ``opt.step``).
    ‖·‖ is the Frobenius norm of the whole array. A parameter with ‖θ‖ = 0 gives inf (0.0 if
    its update is 0 too). Keys are those of ``update`` (or of ``params`` with ``before``)."""
    _dict_of_arrays("params", params)
    if (update is None) == (before is None):
        raise ValueError("give exactly one of update (the step or the gradients) and before")
    if before is not None:
        _dict_of_arrays("before", before)
        update = {k: np.asarray(params[k], np.float64) - np.asarray(before[k], np.float64)
                  for k in before if _same_key(k, params, before, "before")}
    else:
        _dict_of_arrays("update", update)
        for k in update:
            _same_key(k, params, update, "update")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr >= 0):
        raise ValueError(f"lr must be a finite number ≥ 0, got {lr!r}")
    out = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for k, d in update.items():
            dn = lr * float(np.linalg.norm(np.asarray(d, np.float64)))
            pn = float(np.linalg.norm(np.asarray(params[k], np.float64)))
            out[k] = dn / pn if pn > 0 else (math.inf if dn > 0 else 0.0)
    return out


# ----------------------------------------------------------------------------- gradient by lag
@dataclass
class LagNorms:
    """‖∂L_t/∂h_k‖ for every pair k ≤ t (0-based steps; see the module docstring for the norm).

    per_sequence (T, T, B): [t, k, b] the norm for sequence b, NaN where k > t or step t of b
        carries no loss.
    norms (T, T): [t, k] the mean over sequences (NaN where k > t or no sequence counts).
    relative (T, T): [t, k] the mean of ‖∂L_t/∂h_k‖ / ‖∂L_t/∂h_t‖ over sequences.
    by_lag, relative_by_lag (T,): the same means pooled over every (t, k, b) with t − k = lag.
    rate, scale: relative_by_lag[lag] ≈ scale · rate^lag, least squares in log space."""

    per_sequence: np.ndarray
    norms: np.ndarray
    relative: np.ndarray
    by_lag: np.ndarray
    relative_by_lag: np.ndarray
    rate: float
    scale: float

    @property
    def lags(self) -> np.ndarray:
        return np.arange(len(self.by_lag))


def lag_norms(net, x, y, mask=None, h0=None, lengths=None, *, max_lag: int | None = None) -> LagNorms:
    """Backpropagate each single-step gradient ∂L_t/∂h_t through (D1), one ``step_back`` of the
    cell per step, and record its norm at every earlier state. All T sources travel back
    together. Arguments as ``RNN.loss_and_grad``; single-layer unidirectional models only.
    ``max_lag``: carry each source back at most this many steps (None: all the way, T − 1);
    the cost is T·max_lag vector–Jacobian products, by_lag then has max_lag + 1 entries and
    per_sequence is NaN beyond. per_sequence holds T²B float64 numbers."""
    net = _single_layer64(net)
    batch = make_batch(net, x, y, mask, h0, lengths)
    T, B = batch.T, batch.B
    L = T - 1 if max_lag is None else min(T - 1, v.positive_int("max_lag", max_lag))
    memory.check(f"lag_norms over T={T} steps × B={B} sequences", 3.0 * T * T * B * 8,
                 "pass fewer or shorter sequences")
    trace = net.run(batch)
    cache, cell, p = trace.caches[0], net.cell, net.layer_params(0, 0)
    carries = batch.w > 0  # (T, B): step t of sequence b has a loss
    G = _head_gradients(net, batch, trace.top, carries)  # ∂L_t(b)/∂h_t, unweighted (T, B, H)

    per = np.full((T, T, B), np.nan)
    # D[part][t] = ∂L_t/∂s_k, the state's parts at the current k, for the sources k ≤ t ≤ k + L;
    # the loss reads h only, so a source starts as (G_t, 0) (D1)
    D = tuple(np.zeros((T, B, size)) for size in cell.state_sizes(net.hidden_size))
    for k in range(T - 1, -1, -1):
        D[0][k] = G[k]
        hi = min(T, k + L + 1)
        per[k:hi, k] = np.linalg.norm(D[0][k:hi], axis=-1)
        if k:  # one step back, from s_{k+1} to s_k (1-based): the cell's step k + 1 (D1)
            back = cell.step_back(cache, k + 1, tuple(d[k:hi] for d in D), p)
            for d, b in zip(D, back):
                d[k:hi] = b
    per[~np.broadcast_to(carries[:, None, :], per.shape)] = np.nan
    base = np.diagonal(per, axis1=0, axis2=1).T  # (T, B): ‖∂L_t/∂h_t‖
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(base[:, None, :] > 0, per / base[:, None, :], np.nan)
    by_lag = _pool_by_lag(per, L)
    rel_by_lag = _pool_by_lag(rel, L)
    rate, scale = fit_rate(rel_by_lag)
    return LagNorms(per, _nanmean(per, -1), _nanmean(rel, -1), by_lag, rel_by_lag, rate, scale)


def fit_rate(values, lags=None) -> tuple[float, float]:
    """(rate, scale) with values ≈ scale · rate^lag: least squares of log(values) on lag over the
    finite positive entries (lags default to 0, 1, …). NaN, NaN when fewer than 2 points."""
    values = np.asarray(values, dtype=np.float64)
    lags = np.arange(len(values), dtype=np.float64) if lags is None else np.asarray(lags, np.float64)
    ok = np.isfinite(values) & (values > 1e-300)
    if ok.sum() < 2 or np.ptp(lags[ok]) == 0:
        return math.nan, math.nan
    slope, intercept = np.polyfit(lags[ok], np.log(values[ok]), 1)
    return float(np.exp(slope)), float(np.exp(intercept))


def jacobian_singular_values(net, x, h0=None, lengths=None, *, max_sequences: int = 16) -> np.ndarray:
    """sv (T, B', H): sv[l, b] = singular values (descending) of ∂h_T/∂h_{T−l} for sequence b,
    the h-to-h block of the product of the last l Jacobians of (D1) (Elman: diag(f'(z_j)) W;
    an LSTM's runs through c as well: the block with c_{T−l} held fixed); sv[0] = 1. Its rows
    are H gradients e_i sent back together by ``step_back``. Only the first ``max_sequences``
    sequences (B' ≤ B) are used: this costs an H × H SVD per lag and sequence."""
    max_sequences = v.positive_int("max_sequences", max_sequences)
    net = _single_layer64(net)
    inp = make_inputs(net, x, h0, lengths)
    n = min(max_sequences, inp.B)
    inp = replace(inp, x=inp.x[:, :n], state0=tuple(s[:, :n] for s in inp.state0),
                  lengths=None if inp.lengths is None else inp.lengths[:n],
                  active=None if inp.active is None else inp.active[:, :n])
    cache, cell, p = net.run(inp).caches[0], net.cell, net.layer_params(0, 0)
    T, H = inp.T, net.state_width
    sizes = cell.state_sizes(net.hidden_size)
    # D[part][i, b] = ∂h_T[i]/∂s_{T−l}: row i of the Jacobian, for every b at once; l = 0: I
    D = (np.broadcast_to(np.eye(H)[:, None, :], (H, n, H)).copy(),) + tuple(np.zeros((H, n, s)) for s in sizes[1:])
    sv = np.empty((T, n, H))
    sv[0] = 1.0
    for lag in range(1, T):
        D = cell.step_back(cache, T - lag + 1, D, p)  # through the step from s_{T−l} to s_{T−l+1}
        sv[lag] = np.linalg.svd(D[0].transpose(1, 0, 2), compute_uv=False)
    return sv


# ----------------------------------------------------------------------------- internals
def _single_layer64(net):
    if net.num_layers != 1 or net.bidirectional:
        raise ValueError(
            "the per-lag gradient analysis needs a single-layer unidirectional RNN "
            f"(num_layers=1, bidirectional=False); got num_layers={net.num_layers}, "
            f"bidirectional={net.bidirectional}")
    return net if np.dtype(net.dtype) == np.float64 else net.astype(np.float64)


def _head_gradients(net, batch, top, carries):
    """∂L_t(b)/∂h_t = ∂L_t/∂o_t V for every (t, b) that carries a loss, weight 1 (T, B, H)."""
    rows = np.flatnonzero(carries)
    o = net.logits(top.reshape(-1, top.shape[-1])[rows])  # (F4)
    y = batch.y.reshape((-1,) + batch.y.shape[2:])[rows]
    _, d_o = net.head.value_and_grad(o, y, np.ones(len(rows)))
    G = np.zeros((top.shape[0] * top.shape[1], top.shape[-1]))
    G[rows] = d_o @ net.head_weight  # (B8)
    return G.reshape(top.shape)


def _pool_by_lag(a, max_lag):
    """(T, T, B) [t, k, b] -> (max_lag + 1,): nan-mean over every entry with t − k = lag."""
    return np.array([_nanmean(np.diagonal(a, offset=-lag, axis1=0, axis2=1), None) for lag in range(max_lag + 1)])


def _nanmean(a, axis):
    ok = np.isfinite(a)
    n = ok.sum(axis=axis)
    s = np.where(ok, a, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan) if axis is not None else (s / n if n else math.nan)


def _square(W):
    W = v.array(W, "W")
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.size == 0:
        raise ValueError(f"W must be a square matrix (H, H), got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("W contains NaN or inf")
    return np.asarray(W, dtype=np.float64)


def _dict_of_arrays(name, d):
    if not isinstance(d, dict) or not d:
        raise TypeError(f"{name} must be a non-empty dict of arrays, got {type(d).__name__}")


def _same_key(k, params, other, name):
    if k not in params:
        raise ValueError(f"{name} has key {k!r} that params does not")
    if np.shape(other[k]) != np.shape(params[k]):
        raise ValueError(f"{name}[{k!r}] has shape {np.shape(other[k])}, params[{k!r}] has {np.shape(params[k])}")
    return True
