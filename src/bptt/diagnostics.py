r"""Vanishing and exploding gradients, measured on any single-layer model and batch.

Unrolling the recursion (B1)–(B2) of ``elman.py``, the gradient that the loss at step t sends
to an earlier state h_k (k ≤ t) is a product of t − k Jacobians (seeds 001 and 004):

    ∂L_t/∂h_k = ∂L_t/∂h_t · Π_{j=k+1}^{t} ∂h_j/∂h_{j−1},    ∂h_j/∂h_{j−1} = diag(f'(z_j)) W     (D1)

(with row vectors, as in the code: g ← (g ⊙ f'(z_j)) W, one step back). Taking norms,

    ‖∂L_t/∂h_k‖ ≤ ‖∂L_t/∂h_t‖ · (γ σ_max(W))^{t−k},    γ = max f' = 1 (tanh, relu), ¼ (sigmoid)  (D2)

so γ σ_max(W) < 1 makes the gradient vanish geometrically (the sufficient condition of
Pascanu, Mikolov & Bengio 2013), and γ ρ(W) > 1 is necessary for it to explode.

The norm used everywhere here. For one sequence b, ‖∂L_t/∂h_k‖ is the Euclidean (L2) norm of
the H-vector ∂L_t(b)/∂h_k(b), where L_t(b) is the loss of sequence b at step t alone: not
divided by B and not weighted by the mask (the mask m_{t,b} > 0 only chooses which (t, b)
carry a loss). A reported number is the mean of these per-sequence norms over the sequences
whose step t carries a loss. The *relative* norm ‖∂L_t/∂h_k‖ / ‖∂L_t/∂h_t‖ is taken per
sequence before averaging; it is 1 at lag 0, and for a linear RNN with W = αI it is exactly
α^{t−k}. The decay rate is the geometric rate fitted to its average by lag (``fit_rate``).

Steps are 0-based: index t means the state h_{t+1} of the design (h[t + 1] in an elman cache).
Everything is computed in float64 (a float32 model is copied), so a gradient that decays by
1e-60 is measured rather than flushed to zero.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from . import _validate as v
from . import activations, optim
from .batch import make_batch, make_inputs
from .model import RNN

MAX_DERIVATIVE = {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25, "identity": 1.0}  # γ in (D2)
SATURATED = {"tanh": "|h| > 0.949, f' < 0.1", "sigmoid": "h < 0.026 or h > 0.974, f' < 0.025",
             "relu": "dead: h = 0, f' = 0", "identity": "never saturates"}
FIGURES = ("gradient_heatmap.png", "gradient_decay.png", "jacobian_sv.png", "spectrum.png")


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


def lag_norms(net, x, y, mask=None, h0=None, lengths=None) -> LagNorms:
    """Backpropagate each single-step gradient ∂L_t/∂h_t through (D1) and record its norm at
    every earlier state. All T sources travel back together: one (·, H) × (H, H) product per
    step. Arguments as ``RNN.loss_and_grad``; single-layer unidirectional models only."""
    net = _single_layer64(net)
    batch = make_batch(net, x, y, mask, h0, lengths)
    trace = net.run(batch)
    h = trace.caches[0].h  # (T+1, B, H), h[0] = h_0
    T, B, H = h.shape[0] - 1, h.shape[1], h.shape[2]
    W = net.params["W"]
    fp = _step_derivatives(net, h, batch.active)  # f'(z_t), 0 at frozen steps
    carries = batch.w > 0  # (T, B): step t of sequence b has a loss
    G = _head_gradients(net, batch, trace.top, carries)  # ∂L_t(b)/∂h_t, unweighted (T, B, H)

    per = np.full((T, T, B), np.nan)
    D = np.zeros((T, B, H))  # D[t] = ∂L_t/∂h_k for the current k, t ≥ k
    for k in range(T - 1, -1, -1):
        D[k] = G[k]
        per[k:, k] = np.linalg.norm(D[k:], axis=-1)
        if k:  # one step back, from h_{k+1} to h_k: g ← (g ⊙ f'(z_{k+1})) W  (D1)
            back = (D[k:] * fp[k]) @ W
            if batch.active is not None:  # frozen steps pass the gradient through (elman, B1)
                back += D[k:] * ~batch.active[k][:, None]
            D[k:] = back
    per[~np.broadcast_to(carries[:, None, :], per.shape)] = np.nan
    base = np.diagonal(per, axis1=0, axis2=1).T  # (T, B): ‖∂L_t/∂h_t‖
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(base[:, None, :] > 0, per / base[:, None, :], np.nan)
    by_lag = _pool_by_lag(per)
    rel_by_lag = _pool_by_lag(rel)
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
    the product of the last l Jacobians diag(f'(z_j)) W of (D1); sv[0] = 1. Only the first
    ``max_sequences`` sequences (B' ≤ B) are used: this costs an H × H SVD per lag and sequence."""
    max_sequences = v.positive_int("max_sequences", max_sequences)
    net = _single_layer64(net)
    inp = make_inputs(net, x, h0, lengths)
    h = net.run(inp).caches[0].h[:, :max_sequences]
    active = None if inp.active is None else inp.active[:, :max_sequences]
    fp = _step_derivatives(net, h, active)
    T, B, H = h.shape[0] - 1, h.shape[1], h.shape[2]
    W, eye = net.params["W"], np.eye(H)
    P = np.broadcast_to(eye, (B, H, H)).copy()  # ∂h_T/∂h_{T−l}, l = 0
    sv = np.empty((T, B, H))
    sv[0] = 1.0
    for lag in range(1, T):
        J = fp[T - lag][:, :, None] * W  # ∂h_j/∂h_{j−1}, j = T − lag + 1 (1-based): (B, H, H)
        if active is not None:
            J += (~active[T - lag])[:, None, None] * eye
        P = P @ J
        sv[lag] = np.linalg.svd(P, compute_uv=False)
    return sv


# ----------------------------------------------------------------------------- the whole report
@dataclass
class Report:
    """Every number ``diagnose`` shows; ``text`` is the summary written to summary.txt."""

    lag: LagNorms
    jacobian_sv: np.ndarray
    W: np.ndarray
    spectral_radius: float
    max_singular_value: float
    saturation: float
    loss: float
    grad_norm: float
    activation: str
    text: str = ""


def analyse(net, x, y, mask=None, h0=None, lengths=None, *, horizon: int = 20,
            max_sequences: int = 16, title: str | None = None) -> Report:
    """Measure everything (no files): lag norms, Jacobian spectra, W's spectrum, saturation, the
    loss and its global gradient norm. ``horizon``: the lag the summary extrapolates to."""
    horizon = v.positive_int("horizon", horizon)
    lag = lag_norms(net, x, y, mask, h0, lengths)
    sv = jacobian_singular_values(net, x, h0, lengths, max_sequences=max_sequences)
    net64 = _single_layer64(net)
    batch = make_batch(net64, x, y, mask, h0, lengths)
    loss, grads = net64.loss_and_grad(x, y, mask, h0, lengths)
    h = net64.run(batch).caches[0].h[1:]
    W = net64.params["W"]
    rep = Report(lag, sv, W, spectral_radius(W), max_singular_value(W),
                 saturation_fraction(h, net.activation, active=batch.active), loss,
                 global_grad_norm(grads), net.activation)
    rep.text = summary_text(rep, horizon=horizon, title=title or describe(net, batch.T, batch.B))
    return rep


def diagnose(net, x, y, out_dir, *, mask=None, h0=None, lengths=None, horizon: int = 20,
             max_sequences: int = 16, title: str | None = None) -> str:
    """Write gradient_heatmap.png, gradient_decay.png, jacobian_sv.png, spectrum.png and
    summary.txt into ``out_dir`` (created if needed); return the summary text.

    This is all ``bptt diagnose`` does after building (net, x, y), e.g. with ``random_setup``.
    Arguments as ``RNN.loss_and_grad``; the plots need matplotlib (the ``train`` extra)."""
    from . import plots

    rep = analyse(net, x, y, mask, h0, lengths, horizon=horizon, max_sequences=max_sequences,
                  title=title)
    os.makedirs(out_dir, exist_ok=True)
    name = rep.text.splitlines()[0]
    plots.lag_heatmap(rep.lag, os.path.join(out_dir, FIGURES[0]), title=name)
    plots.gradient_decay(rep.lag, os.path.join(out_dir, FIGURES[1]), title=name)
    plots.jacobian_spectrum(rep.jacobian_sv, os.path.join(out_dir, FIGURES[2]), title=name)
    plots.weight_spectrum(rep.W, os.path.join(out_dir, FIGURES[3]), title=name)
    with open(os.path.join(out_dir, "summary.txt"), "w", encoding="utf-8") as f:
        f.write(rep.text)
    return rep.text


def summary_text(rep: Report, *, horizon: int = 20, title: str = "") -> str:
    """The short text of ``diagnose``: the decay rate in words, then the numbers behind it."""
    lag, gamma = rep.lag, MAX_DERIVATIVE[rep.activation]
    T = len(lag.by_lag)
    lines = [title] if title else []
    r = lag.rate
    if not math.isfinite(r):
        lines.append("gradient decay rate: not measurable (fewer than 2 lags with a finite gradient)")
    else:
        at = lag.scale * r ** horizon
        measured = lag.relative_by_lag[horizon] if horizon < T else math.nan
        seen = f" (measured: {_sci(measured)})" if math.isfinite(measured) else ""
        if abs(math.log(r)) < 0.005:
            lines.append(f"gradient keeps its size: ×{r:.3f} per step; after {horizon} steps it is "
                         f"{_sci(at)} of its size{seen}")
        else:
            word = "shrinks" if r < 1 else "grows"
            size = f"{_sci(at)} of its size" if at < 1 else f"{_sci(at)}× its size"
            lines.append(f"gradient {word} ×{r:.3g} per step; after {horizon} steps it is {size}{seen}")
    lines.append(f"  (fit of the mean ‖∂L_t/∂h_k‖ / ‖∂L_t/∂h_t‖ over lags t−k = 0…{T - 1}; "
                 f"norms: per-sequence L2, averaged)")
    bound = gamma * rep.max_singular_value
    verdict = ("< 1: the gradient must vanish (Pascanu et al. 2013)" if bound < 1 else
               "≥ 1: vanishing is not forced" + (", exploding is possible" if gamma * rep.spectral_radius > 1 else ""))
    lines += [
        f"W: spectral radius ρ = {rep.spectral_radius:.3g}, largest singular value σ_max = "
        f"{rep.max_singular_value:.3g}; max f' = {gamma:g} ({rep.activation}), so σ_max·max f' = {bound:.3g} {verdict}",
        f"saturated units: {100 * rep.saturation:.1f}% ({SATURATED[rep.activation]})",
    ]
    sv = rep.jacobian_sv[-1]
    rank = (sv > sv[:, :1] * sv.shape[1] * np.finfo(np.float64).eps).sum(axis=1)
    lines.append(f"∂h_T/∂h_(T−{T - 1}): largest singular value {_sci(float(np.median(sv[:, 0])))}, "
                 f"numerical rank {np.median(rank):g} of {sv.shape[1]} (medians over {sv.shape[0]} sequences)")
    lines.append(f"batch loss {rep.loss:.4g} (summed over the {T} steps, averaged over sequences), "
                 f"global gradient norm {rep.grad_norm:.3g}")
    lines.append("figures: " + ", ".join(FIGURES))
    return "\n".join(lines) + "\n"


def describe(net, T: int, B: int) -> str:
    """One line naming the model and the batch, e.g. 'tanh RNN, H=32, init=uniform; T=50, B=16'."""
    return f"{net.activation} RNN, H={net.hidden_size}, init={net.init}; T={T}, B={B}"


# ----------------------------------------------------------------------------- `bptt diagnose`
def random_setup(init: str = "uniform", activation: str = "tanh", hidden: int = 32, *, steps: int = 50,
                 batch: int = 16, input_size: int = 8, output_size: int = 8, radius: float | None = None,
                 seed: int = 0):
    """(net, x, y) for ``bptt diagnose --init --activation --hidden``: a float64 RNN with a
    softmax head, inputs x ~ N(0, 1) of shape (steps, batch, input_size), random class targets
    y (steps, batch) at every step. ``radius``: rescale W so that ρ(W) = radius."""
    net = RNN(input_size, hidden, output_size, activation=activation, init=init, seed=seed,
              dtype=np.float64)
    if radius is not None:
        if not (isinstance(radius, (int, float)) and math.isfinite(radius) and radius > 0):
            raise ValueError(f"radius must be a finite number > 0, got {radius!r}")
        net.params["W"] *= radius / spectral_radius(net.params["W"])
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((v.positive_int("steps", steps), v.positive_int("batch", batch), input_size))
    y = rng.integers(0, output_size, size=(steps, batch))
    return net, x, y


def run_diagnose(out_dir, *, init: str = "uniform", activation: str = "tanh", hidden: int = 32,
                 steps: int = 50, batch: int = 16, radius: float | None = None, seed: int = 0,
                 horizon: int = 20) -> str:
    """``random_setup`` then ``diagnose``: the whole ``bptt diagnose`` command. Returns the summary."""
    net, x, y = random_setup(init, activation, hidden, steps=steps, batch=batch, radius=radius, seed=seed)
    title = describe(net, steps, batch) + " (random batch" + (f", ρ(W) set to {radius:g})" if radius else ")")
    return diagnose(net, x, y, out_dir, horizon=horizon, title=title)


# ----------------------------------------------------------------------------- internals
def _single_layer64(net):
    if net.cell.name != "elman":
        raise ValueError(f"the per-lag gradient analysis reads the Elman Jacobians diag(f'(z)) W (D1); "
                         f"got cell={net.cell.name!r}")
    if net.num_layers != 1 or net.bidirectional:
        raise ValueError(
            "the per-lag gradient analysis needs a single-layer unidirectional RNN "
            f"(num_layers=1, bidirectional=False); got num_layers={net.num_layers}, "
            f"bidirectional={net.bidirectional}")
    return net if np.dtype(net.dtype) == np.float64 else net.astype(np.float64)


def _step_derivatives(net, h, active):
    """f'(z_t) for t = 1…T from h (T+1, B, H); zero at frozen steps (their Jacobian is I)."""
    fp = activations.derivative_from_output(net.activation, h[1:])
    if active is not None:
        fp *= active[..., None]
    return fp


def _head_gradients(net, batch, top, carries):
    """∂L_t(b)/∂h_t = ∂L_t/∂o_t V for every (t, b) that carries a loss, weight 1 (T, B, H)."""
    rows = np.flatnonzero(carries)
    o = net.logits(top.reshape(-1, top.shape[-1])[rows])  # (F4)
    y = batch.y.reshape((-1,) + batch.y.shape[2:])[rows]
    _, d_o = net.head.value_and_grad(o, y, np.ones(len(rows)))
    G = np.zeros((top.shape[0] * top.shape[1], top.shape[-1]))
    G[rows] = d_o @ net.head_weight  # (B8)
    return G.reshape(top.shape)


def _pool_by_lag(a):
    """(T, T, B) [t, k, b] -> (T,): nan-mean over every entry with t − k = lag."""
    T = a.shape[0]
    return np.array([_nanmean(np.diagonal(a, offset=-lag, axis1=0, axis2=1), None) for lag in range(T)])


def _nanmean(a, axis):
    ok = np.isfinite(a)
    n = ok.sum(axis=axis)
    s = np.where(ok, a, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan) if axis is not None else (s / n if n else math.nan)


def _sci(x: float) -> str:
    """1e-3, 2.5e+04, 0.71: short and readable."""
    if not math.isfinite(x):
        return str(x)
    if x == 0 or 1e-2 <= abs(x) < 1e3:
        return f"{x:.2g}"
    m, e = f"{x:.1e}".split("e")
    m = m.rstrip("0").rstrip(".")
    return f"{m}e{int(e)}"


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
