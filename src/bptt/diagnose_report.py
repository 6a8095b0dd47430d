r"""The report of ``bptt diagnose``: the measurements of ``diagnostics.py`` on one model and one
batch, a summary text that agrees with its own numbers, and the figures (``plots.py``).

What the summary shows depends on the cell. Every cell: the fitted decay rate of the relative
gradient ‖∂L_t/∂h_k‖ / ‖∂L_t/∂h_t‖ and its extrapolation rate^horizon (the relative norm is 1 at
lag 0, so the extrapolation is the rate's alone, never the fit's intercept), the measured value
at that lag, the singular values of ∂h_T/∂h_{T−l}, the loss and its gradient norm. Elman: ρ(W),
σ_max(W), the bound (D2) and the saturated units. LSTM, GRU: W stacks the gates' blocks, (D2)
does not apply, so those are None; instead the carry gate (forget gate f, update gate z): its
mean and the fractions near 0 and near 1.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from . import _validate as v
from .batch import make_inputs
from .files import atomic_write
from .diagnostics import (CARRY_GATES, MAX_DERIVATIVE, SATURATED, LagNorms, _single_layer64, carry_gate,
                          gate_saturation, global_grad_norm, jacobian_singular_values, lag_norms,
                          max_singular_value, saturation_fraction, spectral_radius)

FIGURES = ("gradient_heatmap.png", "gradient_decay.png", "jacobian_sv.png", "spectrum.png")  # Elman
GATED_FIGURES = FIGURES[:3] + ("gates.png",)  # LSTM, GRU: the carry gate's histogram, no W spectrum
MAX_LAG = 200  # the report carries each gradient back at most this many steps (T in the thousands)


@dataclass
class Report:
    """Every number ``diagnose`` shows; ``text`` is the summary written to summary.txt.

    W, spectral_radius, max_singular_value, saturation (of the units, f' < 0.1 max f'): Elman
    only, None for a gated cell. gate (T, B, H) the carry gate's values (NaN when frozen) and
    gate_saturation (near 0, near 1) (``diagnostics.gate_saturation``): gated cells only."""

    lag: LagNorms
    jacobian_sv: np.ndarray
    W: np.ndarray | None
    spectral_radius: float | None
    max_singular_value: float | None
    saturation: float | None
    loss: float
    grad_norm: float
    activation: str
    text: str = ""
    cell: str = "elman"
    gate: np.ndarray | None = None
    gate_saturation: tuple | None = None

    @property
    def figures(self) -> tuple:
        return FIGURES if self.cell == "elman" else GATED_FIGURES


def analyse(net, x, y, mask=None, h0=None, lengths=None, *, horizon: int = 20,
            max_sequences: int = 16, title: str | None = None) -> Report:
    """Measure everything (no files): lag norms (back at most MAX_LAG steps), Jacobian spectra,
    W's spectrum and the saturated units (Elman) or the carry gate (LSTM, GRU), the loss and its
    global gradient norm. ``horizon``: the lag the summary extrapolates to."""
    horizon = v.positive_int("horizon", horizon)
    lag = lag_norms(net, x, y, mask, h0, lengths, max_lag=MAX_LAG)
    sv = jacobian_singular_values(net, x, h0, lengths, max_sequences=max_sequences)
    net64 = _single_layer64(net)
    loss, grads = net64.loss_and_grad(x, y, mask, h0, lengths)
    common = dict(lag=lag, jacobian_sv=sv, loss=loss, grad_norm=global_grad_norm(grads),
                  activation=net.activation, cell=net.cell.name)
    if net.cell.name == "elman":
        inp = make_inputs(net64, x, h0, lengths)
        h = net64.run(inp).caches[0].h[1:]
        W = net64.params["W"]
        rep = Report(W=W, spectral_radius=spectral_radius(W), max_singular_value=max_singular_value(W),
                     saturation=saturation_fraction(h, net.activation, active=inp.active), **common)
    else:
        gate = carry_gate(net, x, h0, lengths)
        rep = Report(W=None, spectral_radius=None, max_singular_value=None, saturation=None, gate=gate,
                     gate_saturation=gate_saturation(gate), **common)
    T = np.shape(x)[0]
    rep.text = summary_text(rep, horizon=horizon, title=title or describe(net, T, np.shape(x)[1]))
    return rep


def diagnose(net, x, y, out_dir, *, mask=None, h0=None, lengths=None, horizon: int = 20,
             max_sequences: int = 16, title: str | None = None) -> str:
    """Write gradient_heatmap.png, gradient_decay.png, jacobian_sv.png, then spectrum.png
    (Elman: W's eigenvalues and singular values) or gates.png (LSTM, GRU: the carry gate's
    histogram), and summary.txt into ``out_dir`` (created if needed); return the summary text.

    This is all ``bptt diagnose`` does after building (net, x, y), e.g. with ``random_setup``.
    Arguments as ``RNN.loss_and_grad``."""
    from . import plots

    rep = analyse(net, x, y, mask, h0, lengths, horizon=horizon, max_sequences=max_sequences,
                  title=title)
    if os.path.islink(out_dir):
        raise ValueError(f"--out {out_dir} is a symbolic link; diagnose writes into a real folder "
                         "(remove the link or choose another --out)")
    os.makedirs(out_dir, exist_ok=True)
    name = rep.text.splitlines()[0]
    paths = [os.path.join(out_dir, f) for f in rep.figures]
    plots.lag_heatmap(rep.lag, paths[0], title=name)
    plots.gradient_decay(rep.lag, paths[1], title=name)
    plots.jacobian_spectrum(rep.jacobian_sv, paths[2], title=name)
    if rep.W is not None:
        plots.weight_spectrum(rep.W, paths[3], title=name)
    else:
        plots.gate_histogram(rep.gate, paths[3], label=CARRY_GATES[rep.cell], title=name)
    atomic_write(os.path.join(out_dir, "summary.txt"), rep.text)
    return rep.text


def summary_text(rep: Report, *, horizon: int = 20, title: str = "") -> str:
    """The short text of ``diagnose``: the decay rate in words, then the numbers behind it. The
    extrapolation is rate^horizon, so the two numbers of the first line always agree; where the
    measured value at that lag is more than 10× away, the text says the decay is not geometric."""
    lag = rep.lag
    L = len(lag.by_lag) - 1
    lines = [title] if title else []
    r, measured = lag.rate, math.nan
    if not math.isfinite(r):
        lines.append("gradient decay rate: not measurable (fewer than 2 lags with a finite gradient)")
    else:
        at = r ** horizon  # the relative norm is 1 at lag 0: the extrapolation is the rate's
        measured = lag.relative_by_lag[horizon] if horizon <= L else math.nan
        seen = f" (measured: {_sci(measured)})" if math.isfinite(measured) else ""
        if abs(math.log(r)) < 0.005:
            lines.append(f"gradient keeps its size: ×{r:.3f} per step; after {horizon} steps it is "
                         f"{_sci(at)} of its size{seen}")
        else:
            word = "shrinks" if r < 1 else "grows"
            size = f"{_sci(at)} of its size" if at < 1 else f"{_sci(at)}× its size"
            lines.append(f"gradient {word} ×{r:.3g} per step; after {horizon} steps it is {size}{seen}")
    lines.append(f"  (fit of the mean ‖∂L_t/∂h_k‖ / ‖∂L_t/∂h_t‖ over lags t−k = 0…{L}; "
                 f"norms: per-sequence L2, averaged)")
    if math.isfinite(r) and math.isfinite(measured) and measured > 0 and abs(math.log10(measured / at)) > 1:
        lines.append(f"  the decay is not geometric: measured {_sci(measured / at)}× the extrapolation at lag "
                     f"{horizon}, so ×{r:.3g} per step is only a rough fit")
    if rep.W is not None:
        gamma = MAX_DERIVATIVE[rep.activation]
        bound = gamma * rep.max_singular_value
        verdict = ("< 1: the gradient must vanish (Pascanu et al. 2013)" if bound < 1 else
                   "≥ 1: vanishing is not forced" + (", exploding is possible" if gamma * rep.spectral_radius > 1 else ""))
        lines += [
            f"W: spectral radius ρ = {rep.spectral_radius:.3g}, largest singular value σ_max = "
            f"{rep.max_singular_value:.3g}; max f' = {gamma:g} ({rep.activation}), so σ_max·max f' = {bound:.3g} {verdict}",
            f"saturated units: {100 * rep.saturation:.1f}% ({SATURATED[rep.activation]})",
        ]
    else:
        gate = CARRY_GATES[rep.cell]
        path = ("c_t = f ⊙ c_(t−1) + i ⊙ g" if rep.cell == "lstm" else "h_t = (1 − z) ⊙ n + z ⊙ h_(t−1)")
        near0, near1 = rep.gate_saturation
        lines += [
            f"W: ρ, σ_max and the bound (D2) are Elman's, not reported for cell={rep.cell}; its gradient "
            f"also takes the additive path {path}",
            f"{gate}: mean {np.nanmean(rep.gate):.3g}; saturated {100 * (near0 + near1):.1f}% "
            f"({100 * near0:.1f}% near 0 (< 0.026): cuts the carried gradient, {100 * near1:.1f}% near 1 "
            f"(> 0.974): passes it on)",
        ]
    sv = rep.jacobian_sv[-1]
    T = len(rep.jacobian_sv)
    rank = (sv > sv[:, :1] * sv.shape[1] * np.finfo(np.float64).eps).sum(axis=1)
    lines.append(f"∂h_T/∂h_(T−{T - 1}): largest singular value {_sci(float(np.median(sv[:, 0])))}, "
                 f"numerical rank {np.median(rank):g} of {sv.shape[1]} (medians over {sv.shape[0]} sequences)")
    lines.append(f"batch loss {rep.loss:.4g} (summed over the {T} steps, averaged over sequences), "
                 f"global gradient norm {rep.grad_norm:.3g}")
    lines.append("figures: " + ", ".join(rep.figures))
    return "\n".join(lines) + "\n"


def describe(net, T: int, B: int) -> str:
    """One line naming the model and the batch, e.g. 'tanh RNN, H=32, init=uniform; T=50, B=16',
    'LSTM (proj_size=8), H=32, init=uniform; T=50, B=16'."""
    if net.cell.name == "elman":
        name = f"{net.activation} RNN"
    else:
        opts = ", ".join(f"{k}={val}" for k, val in net.cell.options.items()
                         if val is not None and not (k == "reset_after" and val))
        name = net.cell.name.upper() + (f" ({opts})" if opts else "")
    return f"{name}, H={net.hidden_size}, init={net.init}; T={T}, B={B}"


# ----------------------------------------------------------------------------- `bptt diagnose`
def random_setup(init: str = "uniform", activation: str = "tanh", hidden: int = 32, *, steps: int = 50,
                 batch: int = 16, input_size: int = 8, output_size: int = 8, radius: float | None = None,
                 seed: int = 0, cell: str = "elman"):
    """(net, x, y) for ``bptt diagnose --cell --init --activation --hidden``: a float64 RNN with a
    softmax head, inputs x ~ N(0, 1) of shape (steps, batch, input_size), random class targets
    y (steps, batch) at every step. ``radius`` (Elman only): rescale W so that ρ(W) = radius."""
    from .model import RNN

    net = RNN(input_size, hidden, output_size, cell=cell, activation=activation, init=init, seed=seed,
              dtype=np.float64)
    if radius is not None:
        if not (isinstance(radius, (int, float)) and math.isfinite(radius) and radius > 0):
            raise ValueError(f"radius must be a finite number > 0, got {radius!r}")
        if net.cell.name != "elman":
            raise ValueError(f"radius rescales an Elman W (H, H) to a spectral radius; cell={cell!r} stacks "
                             "its gates' blocks in W")
        net.params["W"] *= radius / spectral_radius(net.params["W"])
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((v.positive_int("steps", steps), v.positive_int("batch", batch), input_size))
    y = rng.integers(0, output_size, size=(steps, batch))
    return net, x, y


def run_diagnose(out_dir, *, init: str = "uniform", activation: str = "tanh", hidden: int = 32,
                 steps: int = 50, batch: int = 16, radius: float | None = None, seed: int = 0,
                 horizon: int = 20, cell: str = "elman") -> str:
    """``random_setup`` then ``diagnose``: the whole ``bptt diagnose`` command. Returns the summary."""
    net, x, y = random_setup(init, activation, hidden, steps=steps, batch=batch, radius=radius, seed=seed,
                             cell=cell)
    title = describe(net, steps, batch) + " (random batch" + (f", ρ(W) set to {radius:g})" if radius else ")")
    return diagnose(net, x, y, out_dir, horizon=horizon, title=title)


def _sci(x: float) -> str:
    """1e-3, 2.5e+04, 0.71: short and readable."""
    if not math.isfinite(x):
        return str(x)
    if x == 0 or 1e-2 <= abs(x) < 1e3:
        return f"{x:.2g}"
    m, e = f"{x:.1e}".split("e")
    m = m.rstrip("0").rstrip(".")
    return f"{m}e{int(e)}"
