"""The experiments of docs/vanishing.md: vanishing and exploding gradients, measured.

    python benchmarks/vanishing.py rate       decay rate per step against ρ(W), tanh/sigmoid/relu
    python benchmarks/vanishing.py irnn       identity init (IRNN) vs the defaults, T = 100
    python benchmarks/vanishing.py clip       W scaled to ρ = 3: SGD with and without clipping
    python benchmarks/vanishing.py diagnose   the four figures of `bptt diagnose` (tanh, default init)
    python benchmarks/vanishing.py gates      Elman, LSTM, GRU on the same data: decay with lag
    python benchmarks/vanishing.py all        everything (30–70 s on one core)

Figures go to docs/img/vanishing-*.png (``--out`` to change); the tables print as Markdown.
Every run is seeded: the same command prints the same numbers.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
import time

import numpy as np

import bptt
from bptt import diagnose_report as report
from bptt import diagnose_report as report
from bptt import diagnostics as dg
from bptt import plots

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RADII = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)


def rate(out, seeds=3, hidden=64, steps=40, batch=32):
    """Fitted rate r (‖∂L_t/∂h_k‖/‖∂L_t/∂h_t‖ ≈ r^(t−k)) for W = ρ·Q, Q orthogonal, so every
    singular value of W is ρ; mean over seeds (± the spread across seeds)."""
    rows = []
    print(f"\n### rate per step against ρ(W) (W = ρ·orthogonal, H={hidden}, T={steps}, B={batch}, "
          f"{seeds} seeds)\n")
    print("| activation | " + " | ".join(f"ρ={r:g}" for r in RADII) + " |")
    print("|---" * (len(RADII) + 1) + "|")
    for act in ("tanh", "sigmoid", "relu", "identity"):
        cells = []
        for radius in RADII:
            rates = []
            for seed in range(seeds):
                net, x, y = report.random_setup("orthogonal", act, hidden, steps=steps, batch=batch,
                                            radius=radius, seed=seed)
                rates.append(dg.lag_norms(net, x, y).rate)
            rows.append({"activation": act, "radius": radius, "rate": float(np.mean(rates))})
            cells.append(f"{np.mean(rates):.3f}" + (f" ±{np.std(rates):.2f}" if np.std(rates) >= 0.005 else ""))
        print(f"| {act} | " + " | ".join(cells) + " |")
    refs = {"σ_max(W)·max f' = ρ: bound for tanh, relu": 1.0, "ρ/4: bound for sigmoid": 0.25}
    path = plots.rate_vs_radius(rows, os.path.join(out, "vanishing-rate.png"), references=refs,
                                title="gradient rate per step against ρ(W)  (W = ρ·orthogonal)")
    print(f"\n→ {os.path.relpath(path, ROOT)}")
    return rows


def irnn(out, hidden=64, steps=100, batch=32, seed=0):
    """Relative gradient against lag for three initialisations over T = 100 steps."""
    setups = {"relu, uniform (torch default)": ("uniform", "relu"),
              "tanh, orthogonal": ("orthogonal", "tanh"),
              "relu, identity (IRNN)": ("identity", "relu")}
    lags = {}
    print(f"\n### initialisations (H={hidden}, T={steps}, B={batch}, seed {seed})\n")
    print("| model | ρ(W) | rate per step | relative gradient at lag 20 | at lag 99 |")
    print("|---|---|---|---|---|")
    for label, (init, act) in setups.items():
        net, x, y = report.random_setup(init, act, hidden, steps=steps, batch=batch, seed=seed)
        lag = lags[label] = dg.lag_norms(net, x, y)
        print(f"| {label} | {dg.spectral_radius(net.params['W']):.3g} | ×{lag.rate:.3f} | "
              f"{report._sci(lag.relative_by_lag[20])} | {report._sci(lag.relative_by_lag[99])} |")
    path = plots.gradient_decay(lags, os.path.join(out, "vanishing-irnn.png"),
                                title=f"gradient kept alive by the identity initialisation (H={hidden}, T={steps})")
    print(f"\n→ {os.path.relpath(path, ROOT)}")
    return lags


# --------------------------------------------------------------------------- clipping
def delayed_recall(rng, T, B, delay=3):
    """x_t = ±1 at random, y_t = x_{t−delay} (0 for the first ``delay`` steps): (T, B, 1) each."""
    x = rng.choice([-1.0, 1.0], size=(T, B, 1))
    y = np.zeros_like(x)
    y[delay:] = x[:-delay]
    return x, y


def train(radius, clip, *, lr=0.3, steps=1000, hidden=32, T=30, batch=32, seed=0):
    """SGD on delayed recall (tanh, identity output + MSE, the loss averaged over the T steps
    through mask weights 1/T); W rescaled to ρ(W) = ``radius`` (None: the default init as it is).
    One row per step: loss, the global gradient norm before clipping, the update-to-weight ratio
    of W. The run stops when it diverges: a NaN/inf, or a loss above 100× the first one."""
    try:
        from bptt.optim import SGD, clip_grad_norm
    except ImportError:  # optim.py not there: plain SGD and clipping by global norm, inline
        SGD, clip_grad_norm = _SGD, _clip_grad_norm
    net = bptt.RNN(1, hidden, 1, activation="tanh", output="identity", seed=seed, dtype=np.float64)
    if radius is not None:
        net.params["W"] *= radius / dg.spectral_radius(net.params["W"])
    opt = SGD(net.params, lr=lr)
    rng = np.random.default_rng(seed)
    mean_over_time = np.full((T, batch), 1.0 / T)
    rows = []
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps):
            x, y = delayed_recall(rng, T, batch)
            loss, grads = net.loss_and_grad(x, y, mean_over_time)
            norm = dg.global_grad_norm(grads)
            row = {"step": step, "loss": loss, "grad_norm": norm}
            rows.append(row)
            if not (math.isfinite(loss) and math.isfinite(norm)) or loss > 100 * rows[0]["loss"]:
                row["diverged"] = True
                break
            if clip is not None:
                clip_grad_norm(grads, clip)
            before = {"W": net.params["W"].copy()}
            opt.step(grads)
            row["update/weight (W)"] = dg.update_ratios(net.params, before=before)["W"]
    return rows


class _SGD:
    def __init__(self, params, lr):
        self.params, self.lr = params, lr

    def step(self, grads):
        for k, p in self.params.items():
            p -= self.lr * grads[k]


def _clip_grad_norm(grads, max_norm):
    total = dg.global_grad_norm(grads)
    if total > max_norm:
        for g in grads.values():
            g *= max_norm / (total + 1e-6)
    return total


def clip(out, seeds=5, radius=3.0, max_norm=1.0, lr=0.3, steps=1000):
    """Pascanu et al. 2013: the same over-scaled run with and without clipping by global norm,
    next to the default init at the same learning rate."""
    print(f"\n### clipping (tanh H=32, delayed recall y_t = x_(t−3), T=30, B=32, SGD lr={lr}, "
          f"{steps} steps, {seeds} seeds)\n")
    print("| run | ‖∇L‖ at step 0 | diverged | diverged at step | loss, mean of the last 20 steps (median over seeds) | solved (loss < 0.01) |")
    print("|---|---|---|---|---|---|")
    shown = {}
    for label, r, c in (("default init (ρ≈0.6)", None, None), (f"ρ={radius:g}, no clipping", radius, None),
                        (f"ρ={radius:g}, clipped at {max_norm:g}", radius, max_norm)):
        g0, when, final = [], [], []
        for seed in range(seeds):
            rows = train(r, c, lr=lr, steps=steps, seed=seed)
            shown.setdefault(label, []).append(rows)
            g0.append(rows[0]["grad_norm"])
            if rows[-1].get("diverged"):
                when.append(rows[-1]["step"])
            else:
                final.append(np.mean([q["loss"] for q in rows[-20:]]))
        print(f"| {label} | {np.median(g0):.3g} | {len(when)}/{seeds} | {', '.join(map(str, when)) or '–'} | "
              f"{f'{np.median(final):.2g}' if final else '–'} | {sum(f < 0.01 for f in final)}/{seeds} |")
    path = plots.compare_runs(shown, os.path.join(out, "vanishing-clipping.png"),
                              keys=("loss", "grad_norm", "update/weight (W)"), log=(True, True, True),
                              xscale="symlog", title=f"exploding gradients tamed by clipping: SGD lr={lr}, "
                              f"{seeds} seeds each (× = diverged)")
    print(f"\n→ {os.path.relpath(path, ROOT)}")
    return shown


def diagnose(out):
    """What `bptt diagnose` writes for the default tanh model, copied to docs/img."""
    with tempfile.TemporaryDirectory() as tmp:
        text = report.run_diagnose(tmp, init="uniform", activation="tanh", hidden=32)
        for name in report.FIGURES:
            shutil.copy(os.path.join(tmp, name), os.path.join(out, "vanishing-" + name.replace("_", "-")))
    print("\n### bptt diagnose --init uniform --activation tanh --hidden 32\n\n```\n" + text + "```")
    return text


GATED_MODELS = {"Elman (tanh)": {"cell": "elman"}, "LSTM": {"cell": "lstm"},
                "LSTM, forget_bias=1": {"cell": "lstm", "forget_bias": 1.0},
                "LSTM, forget_bias=3": {"cell": "lstm", "forget_bias": 3.0}, "GRU": {"cell": "gru"}}


def gates(out, seeds=5, hidden=64, steps=100, batch=32, lags=(1, 10, 25, 50, 99)):
    """Relative gradient ‖∂L_t/∂h_k‖/‖∂L_t/∂h_t‖ against lag for the cells at their default init
    (torch's uniform ±1/√H), untrained, on the SAME random batch per seed (x ~ N(0, 1), 8 inputs,
    random class targets at every step, random_setup's data); mean and range over seeds."""
    print(f"\n### why gates help (untrained, default init, H={hidden}, T={steps}, B={batch}, "
          f"{seeds} seeds: mean [min, max])\n")
    print("| model | rate per step | carry gate mean | " + " | ".join(f"at lag {k}" for k in lags) + " |")
    print("|---" * (len(lags) + 3) + "|")
    curves = {}
    for label, opts in GATED_MODELS.items():
        rel, rates, gate = [], [], []
        for seed in range(seeds):
            _, x, y = report.random_setup(hidden=hidden, steps=steps, batch=batch, seed=seed)
            net = bptt.RNN(8, hidden, 8, seed=seed, dtype=np.float64, **opts)
            lag = dg.lag_norms(net, x, y)
            rel.append(lag.relative_by_lag)
            rates.append(lag.rate)
            gate.append(np.nanmean(dg.carry_gate(net, x)) if opts["cell"] != "elman" else math.nan)
        rel = np.array(rel)
        curves[label] = rel

        def cell(a):
            return f"{report._sci(np.mean(a))} [{report._sci(np.min(a))}, {report._sci(np.max(a))}]"

        g = f"{np.mean(gate):.3f}" if np.isfinite(gate).all() else "–"
        print(f"| {label} | ×{np.mean(rates):.3f} [{np.min(rates):.3f}, {np.max(rates):.3f}] | {g} | "
              + " | ".join(cell(rel[:, k]) for k in lags) + " |")
    fig, (ax,) = plots._figure(1, width=6.8, height=4.6)
    x = np.arange(steps)
    for i, (label, rel) in enumerate(curves.items()):
        c = plots.COLORS[i % len(plots.COLORS)]
        ax.plot(x, np.exp(np.log(rel).mean(axis=0)), color=c, lw=1.6, label=label)
        ax.fill_between(x, rel.min(axis=0), rel.max(axis=0), color=c, alpha=0.18, lw=0)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylim(max(min(r.min() for r in curves.values()) / 3, 1e-30), 3)
    ax.set_xlabel("lag t − k (steps back in time)")
    ax.set_ylabel(r"$\Vert\partial L_t/\partial h_k\Vert\;/\;\Vert\partial L_t/\partial h_t\Vert$  (mean)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9, title=f"{seeds} seeds: geometric mean, range shaded", title_fontsize=8)
    path = plots._save(fig, os.path.join(out, "vanishing-gates.png"),
                       f"gradient against lag, untrained cells at default init (H={hidden}, T={steps})")
    print(f"\n→ {os.path.relpath(path, ROOT)}")
    return curves


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("rate", "irnn", "clip", "diagnose", "gates", "all"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img"), help="folder for the PNGs")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()
    for name in (("rate", "irnn", "clip", "diagnose", "gates") if args.what == "all" else (args.what,)):
        globals()[name](args.out)
    print(f"\n({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
