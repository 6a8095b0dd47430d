"""PNG figures of training runs and of the gradient diagnostics (``diagnostics.py``,
``diagnose_report.py``).

matplotlib is imported only inside these functions, and only its object-oriented API is used
(``matplotlib.figure.Figure`` drawn by the Agg canvas): no pyplot, no global backend switch, so
calling them from a notebook or a headless server is the same. Every function writes one PNG to
``path`` (its folder must exist) and returns ``path``.

    training_curves(metrics_rows, path)   loss and validation metrics against step
    lag_heatmap(lag, path)                ‖∂L_t/∂h_k‖ for every k ≤ t
    gradient_decay(lag or {label: lag}, path)   relative norm against lag, log axis, fitted rate
    jacobian_spectrum(sv, path)           singular values of ∂h_T/∂h_{T−l} against l
    weight_spectrum(W, path)              eigenvalues of W with the unit circle; singular values
    gate_histogram(gate, path)            histogram of a gate's values (a gated cell's carry gate)
    rate_vs_radius(rows, path)            fitted decay rate against ρ(W), one line per activation
    compare_runs({label: rows}, path)     the same metrics of several runs, one panel per metric
"""
from __future__ import annotations

import math
import numbers
import os
import warnings

import numpy as np

from .files import atomic_write

CEILING = 1e100  # larger values are drawn here: a log axis cannot span 1e±300
DECADES = 30  # a gradient figure's log axis spans at most this many decades below its largest value
MAX_POINTS = 200  # lags drawn as dots (or heat-map rows) at most; longer sequences are subsampled
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def _figure(ncols=1, width=6.4, height=4.4):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _save(fig, path, title):
    if title:
        fig.suptitle(title, fontsize=11)
    suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    atomic_write(path, lambda f: fig.savefig(f, format=suffix, dpi=110))  # never through a link at path
    return path


def _label_log_axis(axis):
    """Labels at 1, 2 and 5 × each power of ten on a log ``axis`` (plain numbers), so that a
    range under one decade (a loss from 2.1 to 1.6) still shows several labelled ticks."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _number(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(float(x))


# ----------------------------------------------------------------------------- training
def training_curves(metrics_rows, path, *, x: str = "step", title: str | None = None):
    """Training loss and validation metrics against ``x`` from a list of dicts (one per log or
    eval row; a key may be missing or None in some rows).

    Left panel: every key containing "loss" (e.g. train_loss, loss, val_loss), log axis when all
    are positive. Right panel: every other numeric key starting with "val" or "test" (e.g.
    val_accuracy). A third panel shows "grad_norm" when present. Other keys are ignored."""
    rows = [r for r in metrics_rows if isinstance(r, dict)]
    if not rows:
        raise ValueError("metrics_rows must be a non-empty list of dicts")
    keys = []
    for r in rows:
        keys += [k for k, val in r.items() if k != x and _number(val) and k not in keys]
    losses = [k for k in keys if "loss" in k]
    metrics = [k for k in keys if k not in losses and k.startswith(("val", "test"))]
    panels = [p for p in (losses, metrics, [k for k in keys if k == "grad_norm"]) if p]
    if not panels:
        raise ValueError(f"metrics_rows have no loss or validation metric to plot (keys: {keys})")
    fig, axes = _figure(len(panels), width=5.2, height=3.8)
    for ax, group in zip(axes, panels):
        positive = True
        for i, k in enumerate(group):
            pts = [(r.get(x, j), min(r[k], CEILING)) for j, r in enumerate(rows) if _number(r.get(k))]
            xs, ys = zip(*pts)
            positive &= min(ys) > 0
            ax.plot(xs, ys, color=COLORS[i % len(COLORS)], marker="o" if len(xs) < 30 else None,
                    ms=3, lw=1.4, label=k)
        if positive and group is not metrics:
            ax.set_yscale("log")
            _label_log_axis(ax.yaxis)
        ax.set_xlabel(x)
        ax.set_ylabel("loss" if group is losses else ("gradient norm" if group[0] == "grad_norm" else ", ".join(group)))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=9)
    return _save(fig, path, title)


def compare_runs(runs: dict, path, *, keys=("loss", "grad_norm"), x: str = "step",
                 log=(True, True), xscale: str = "linear", title: str | None = None):
    """One panel per key in ``keys``, one colour per label: runs = {label: metrics rows} or
    {label: [rows, rows, …]} (several seeds of one setting: thin lines, one colour).
    A run that ends in a NaN/inf value or in a row with "diverged": True is drawn up to its
    last finite point and marked there with an ×. ``xscale="symlog"`` shows the first 10 steps
    linearly and the rest on a log axis (a blow-up at step 5 stays visible next to 1000 steps).
    Values above 1e100 are drawn at 1e100 (matplotlib's log axis cannot span 1e±300)."""
    fig, axes = _figure(len(keys), width=5.2, height=3.8)
    for ax, key, lg in zip(axes, keys, log):
        if lg:  # y limits set from the data below: autoscaling 1e300 in log space overflows
            ax.set_yscale("log")
            ax.set_autoscaley_on(False)
        if xscale == "symlog":
            ax.set_xscale("symlog", linthresh=10)
        seen = []
        for i, (label, group) in enumerate(runs.items()):
            c = COLORS[i % len(COLORS)]
            group = group if group and isinstance(group[0], list) else [group]
            for n, rows in enumerate(group):
                xs = [r.get(x, j) for j, r in enumerate(rows) if key in r]
                raw = [float(r[key]) for r in rows if key in r]
                good = [j for j, yv in enumerate(raw) if math.isfinite(yv) and (yv > 0 or not lg)]
                ys = [min(yv, CEILING) for yv in raw]
                seen += [ys[j] for j in good]
                ax.plot([xs[j] for j in good], [ys[j] for j in good], color=c, lw=1.3 if len(group) == 1 else 0.8,
                        alpha=1 if len(group) == 1 else 0.75, label=None if n else label)
                if good and (len(good) < len(ys) or (rows and rows[-1].get("diverged"))):
                    ax.plot(xs[good[-1]], ys[good[-1]], "x", color=c, ms=9, mew=2)
        if lg and seen:
            ax.set_ylim(min(seen) / 2, max(seen) * 2)
        ax.set_xlabel(x)
        ax.set_ylabel(key)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=9)
    return _save(fig, path, title)


# ----------------------------------------------------------------------------- diagnostics
def lag_heatmap(lag, path, *, title: str | None = None):
    """Heat map of log10 ‖∂L_t/∂h_k‖ (``LagNorms.norms``): loss step t down, state k across;
    the lower triangle k ≤ t. The diagonal is the gradient at its own step; moving left along a
    row follows one step's gradient back in time."""
    norms = np.asarray(getattr(lag, "norms", lag), dtype=np.float64)
    T = norms.shape[0]
    stride = -(-T // MAX_POINTS)  # long sequences: every stride-th step, both ways
    with np.errstate(divide="ignore"):
        logn = np.log10(np.where(norms > 0, norms, np.nan))[::stride, ::stride]
    fig, (ax,) = _figure(1, width=6.0, height=5.0)
    finite = logn[np.isfinite(logn)]
    vmin, vmax = (finite.min(), finite.max()) if finite.size else (-1, 0)
    clipped = vmin < vmax - DECADES
    vmin = max(vmin, vmax - DECADES)  # lower values are drawn in the darkest colour
    n = logn.shape[0] * stride
    im = ax.imshow(np.ma.masked_invalid(logn), origin="upper", cmap="magma", vmin=vmin, vmax=vmax,
                   extent=(0.5, n + 0.5, n + 0.5, 0.5), interpolation="nearest", aspect="equal")
    ax.set_facecolor("#e8e8e8")
    ax.set_xlabel("state k (step whose h receives the gradient)")
    ax.set_ylabel("loss step t")
    ax.set_title(r"$\log_{10}\Vert\partial L_t/\partial h_k\Vert$  (mean over sequences; steps 1-based)", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.85, label="log₁₀ norm" + (f" (below {vmin:.0f}: darkest)" if clipped else "")
                 + (f"; every {stride}th step" if stride > 1 else ""))
    return _save(fig, path, title)


def gradient_decay(lags, path, *, title: str | None = None, horizon: int | None = None):
    """‖∂L_t/∂h_k‖ / ‖∂L_t/∂h_t‖ averaged by lag t − k (dots, log axis) with the fitted geometric
    rate (dashed line, "×r per step"). ``lags``: a ``LagNorms`` or {label: LagNorms} to overlay."""
    runs = lags if isinstance(lags, dict) else {"": lags}
    fig, (ax,) = _figure(1, width=6.4, height=4.4)
    lo, hi = np.inf, -np.inf
    for i, (label, lag) in enumerate(runs.items()):
        c = COLORS[i % len(COLORS)]
        y = np.asarray(lag.relative_by_lag, dtype=np.float64)
        x = np.arange(len(y))
        ok = np.isfinite(y) & (y > 0)
        dots = ok & (x % -(-len(y) // MAX_POINTS) == 0)  # long sequences: every stride-th lag
        rate = f"×{lag.rate:.3g} per step" if math.isfinite(lag.rate) else "no fit"
        ax.plot(x[dots], y[dots], "o", color=c, ms=3.5, label=f"{label}: {rate}" if label else f"measured: {rate}")
        if ok.any():
            lo, hi = min(lo, y[ok].min()), max(hi, y[ok].max())
        if math.isfinite(lag.rate):
            with np.errstate(under="ignore", over="ignore"):
                ax.plot(x, np.clip(lag.scale * lag.rate ** x, 1e-300, CEILING), "--", color=c, lw=1.2)
    ax.plot([], [], "--", color="grey", lw=1.2, label="dashed: fitted scale·rate^lag")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_yscale("log")
    if np.isfinite(lo):
        hi = min(max(hi, 1.0) * 3, CEILING)
        floor = hi * 10.0 ** -DECADES
        ax.set_ylim(max(lo / 3, floor), hi)
        if lo < floor:
            ax.set_title(f"values below {floor:.0e} not drawn", fontsize=9)
    ax.set_xlabel("lag t − k (steps back in time)")
    ax.set_ylabel(r"$\Vert\partial L_t/\partial h_k\Vert\;/\;\Vert\partial L_t/\partial h_t\Vert$  (mean)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9)
    return _save(fig, path, title)


def jacobian_spectrum(sv, path, *, title: str | None = None):
    """Singular values of ∂h_T/∂h_{T−l} (``diagnostics.jacobian_singular_values``, (T, B, H))
    against the lag l: the largest, the median and the smallest, each a geometric mean over the
    sequences, with the range of the largest over sequences shaded. Zeros are not drawn."""
    sv = np.asarray(sv, dtype=np.float64)
    T, _, H = sv.shape
    lags = np.arange(T)
    fig, (ax,) = _figure(1)
    tiny = sv[:, :, :1] * (H * np.finfo(np.float64).eps)  # below this a singular value is rounding
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.where(sv > tiny, sv, np.nan))
    picks = {0: ("largest", COLORS[1])}
    if H >= 3:
        picks[H // 2] = ("median", COLORS[0])
    picks.setdefault(H - 1, ("smallest", COLORS[2]))
    with warnings.catch_warnings():  # an all-zero column (rank lost for good) has no mean, min or max
        warnings.simplefilter("ignore", RuntimeWarning)
        for j, (label, c) in picks.items():
            ax.plot(lags, np.exp(np.nanmean(logs[:, :, j], axis=1)), color=c, lw=1.6, label=f"σ {label}")
        ax.fill_between(lags, np.nanmin(np.exp(logs[:, :, 0]), axis=1), np.nanmax(np.exp(logs[:, :, 0]), axis=1),
                        color=COLORS[1], alpha=0.15, lw=0, label="σ largest: range over sequences")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_yscale("log")
    drawn = np.exp(logs[np.isfinite(logs)])
    top = max(1.0, float(drawn.max())) if drawn.size else 1.0
    if drawn.size and drawn.min() < top * 10.0 ** -DECADES:  # long sequences: at most DECADES decades
        ax.set_ylim(top * 10.0 ** -DECADES, top * 3)
        with np.errstate(invalid="ignore"):
            seen = np.flatnonzero((logs >= np.log(top) - DECADES * np.log(10.0)).any(axis=(1, 2)))
        if seen.size and seen[-1] < T - 1:  # the lags below the axis everywhere are not shown either
            ax.set_xlim(-0.5, seen[-1] * 1.05 + 1)
    ax.set_xlabel("lag l")
    ax.set_ylabel(r"singular values of $\partial h_T/\partial h_{T-l}$")
    ax.set_title("numerically zero values (< H·eps·σ_max) not drawn", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9, loc="lower left")
    return _save(fig, path, title)


def weight_spectrum(W, path, *, title: str | None = None):
    """Left: the eigenvalues of W in the complex plane with the unit circle (ρ(W) is the radius of
    the dashed circle). Right: the singular values of W, sorted, against the line σ = 1."""
    W = np.asarray(W, dtype=np.float64)
    ev = np.linalg.eigvals(W)
    s = np.linalg.svd(W, compute_uv=False)
    rho = float(np.abs(ev).max())
    fig, (a1, a2) = _figure(2, width=4.6, height=4.4)
    t = np.linspace(0, 2 * np.pi, 400)
    a1.plot(np.cos(t), np.sin(t), color="black", lw=1.2, label="unit circle")
    a1.plot(rho * np.cos(t), rho * np.sin(t), "--", color=COLORS[1], lw=1, label=f"ρ(W) = {rho:.3g}")
    a1.scatter(ev.real, ev.imag, s=14, color=COLORS[0], zorder=3, label="eigenvalues")
    r = max(1.15, rho * 1.15)
    a1.set_xlim(-r, r)
    a1.set_ylim(-r, r)
    a1.set_aspect("equal")
    a1.axhline(0, color="grey", lw=0.5)
    a1.axvline(0, color="grey", lw=0.5)
    a1.set_xlabel("Re λ")
    a1.set_ylabel("Im λ")
    a1.set_title("eigenvalues of W", fontsize=10)
    a1.legend(fontsize=8, loc="upper right")
    a2.plot(np.arange(1, len(s) + 1), s, "o-", ms=3, color=COLORS[0], label="σ_i(W)")
    a2.axhline(1.0, color="black", lw=1.2, label="σ = 1")
    a2.set_yscale("log")
    if s[0] - s[-1] < 1e-12 * s[0]:  # equal up to rounding (e.g. an orthogonal W): no zoomed-in staircase
        a2.set_ylim(min(s[-1], 1.0) / 3, max(s[0], 1.0) * 3)
    a2.set_xlabel("index i")
    a2.set_ylabel("singular value")
    a2.set_title(f"singular values of W (σ_max = {s[0]:.3g})", fontsize=10)
    a2.grid(True, alpha=0.3)
    a2.legend(fontsize=8)
    return _save(fig, path, title)


def gate_histogram(gate, path, *, label: str = "gate", title: str | None = None):
    """Histogram of a gate's values in [0, 1] (NaN, frozen steps, left out), log counts, with the
    saturated ends (σ' < 0.1·¼: below 0.026, above 0.974) shaded: a gated cell's carry gate
    (``diagnostics.carry_gate``), near 1 where it passes the gradient on, near 0 where it cuts it."""
    g = np.asarray(gate, dtype=np.float64)
    g = g[np.isfinite(g)]
    fig, (ax,) = _figure(1)
    ax.hist(g, bins=np.linspace(0, 1, 51), color=COLORS[0])
    for a, b in ((0, 0.026), (0.974, 1)):
        ax.axvspan(a, b, color=COLORS[1], alpha=0.15, lw=0)
    ax.axvline(float(np.mean(g)), color="black", lw=1.2, ls="--", label=f"mean {np.mean(g):.3g}")
    ax.plot([], [], "s", color=COLORS[1], alpha=0.3, label="saturated: < 0.026 or > 0.974")
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{label} (every unit, step and sequence)")
    ax.set_ylabel("count")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    return _save(fig, path, title)


def rate_vs_radius(rows, path, *, references=None, title: str | None = None):
    """Fitted decay rate (per step) against ρ(W): rows are dicts with "activation", "radius" and
    "rate"; one line per activation, the line rate = 1 (above it the gradient explodes) and
    dotted reference lines rate = factor·ρ, ``references`` = {label: factor}
    (default {"rate = ρ": 1})."""
    from matplotlib.ticker import FixedLocator, NullLocator

    fig, (ax,) = _figure(1)
    acts = list(dict.fromkeys(r["activation"] for r in rows))
    radii = sorted({r["radius"] for r in rows})
    for (label, factor), style in zip((references or {"rate = ρ": 1.0}).items(), (":", "-.", (0, (1, 3)))):
        ax.plot(radii, [factor * r for r in radii], linestyle=style, color="grey", lw=1.2, label=label)
    ax.axhline(1.0, color="black", lw=1)
    for i, act in enumerate(acts):
        pts = sorted((r["radius"], r["rate"]) for r in rows if r["activation"] == act)
        ax.plot(*zip(*pts), "o-", color=COLORS[i % len(COLORS)], lw=1.5, ms=4, label=act)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(FixedLocator(radii))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(radii, [f"{r:g}" for r in radii])
    ax.set_xlabel("spectral radius ρ(W)")
    ax.set_ylabel("gradient rate per step (×r)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=9)
    return _save(fig, path, title)
