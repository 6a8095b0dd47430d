"""Time and peak memory of the gradient methods (bptt, tbptt, unrolled, rtrl) as T and H grow.

    python benchmarks/algorithms.py                       # the full run (about 3 minutes)
    python benchmarks/algorithms.py --quick --no-plot     # a smoke run (seconds)

Prints Markdown tables (the numbers in docs/algorithms.md) and writes the log–log figure
docs/img/algorithms.png (--plot PATH to change, --no-plot to skip; needs matplotlib).

What is measured, per method and size, on one prepared float64 batch (B = 4 sequences, D = K = 8,
tanh, softmax + cross-entropy, every step carries a loss; tbptt with k1 = 8, k2 = 16):
- time: the median CPU time (``time.process_time``) of repeated calls of the method itself
  (``bptt.gradients.METHODS[name]``, the function ``RNN.loss_and_grad`` dispatches to after
  validating the batch): at least ``--min-calls`` calls and at least ``--min-seconds`` of CPU
  time; the garbage collector is off while timing. CPU time, not wall time, because the machine
  is shared: a process that is waiting for a core accrues wall time but no CPU time (the wall
  medians are recorded too). One BLAS thread (set here unless OPENBLAS_NUM_THREADS is already
  set), so CPU time is the work of this one thread and the exponents are about the algorithms.
- peak memory: ``tracemalloc``'s peak during one call minus what was allocated before it.
  NumPy reports its array buffers to tracemalloc, so this counts every array the method
  creates (states, caches, sensitivities, gradients, temporaries), not the batch it is given.
The growth exponent is the least-squares slope of log(value) against log(size) over the
three largest sizes of each curve (where the leading term should dominate).
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

import bptt  # noqa: E402
from bptt.batch import make_batch  # noqa: E402
from bptt.gradients import METHODS  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine  # noqa: E402

B, D, K = 4, 8, 8
OPTIONS = {"bptt": {}, "tbptt": {"k1": 8, "k2": 16}, "unrolled": {}, "rtrl": {}}
FIXED = {"T": 32, "H": 32}  # the sweep over T holds H = 32; the sweep over H holds T = 32

# Each method goes as far as the time budget allows (rtrl is O(H⁴), unrolled O(T²)).
SIZES = {
    "T": {"bptt": [32, 64, 128, 256, 512, 1024, 2048], "tbptt": [32, 64, 128, 256, 512, 1024, 2048],
          "unrolled": [16, 32, 64, 128, 256, 512], "rtrl": [16, 32, 64, 128, 256]},
    "H": {"bptt": [16, 32, 64, 128, 256, 512, 1024], "tbptt": [16, 32, 64, 128, 256, 512, 1024],
          "unrolled": [16, 32, 64, 128, 256], "rtrl": [8, 12, 16, 24, 32, 48, 64, 96, 128]},
}
QUICK = {
    "T": {"bptt": [16, 32, 64], "tbptt": [16, 32, 64], "unrolled": [8, 16, 32], "rtrl": [8, 16, 32]},
    "H": {"bptt": [8, 16, 32], "tbptt": [8, 16, 32], "unrolled": [8, 16, 32], "rtrl": [4, 8, 16]},
}

# Theory (docs/algorithms.md): the exponent of the leading term in T (H fixed) and in H (T fixed).
# "a→b" where two terms compete at these sizes: every method holds the H×H gradient of W
# (O(H²)) besides its states (bptt: T·B·H, tbptt: k2·B·H, unrolled: T·B·H); the H² term wins
# once H passes T·B = 128 (bptt) or k2·B = 64 (tbptt), so the local slope moves from 1 to 2.
# unrolled in T: one B×H×H Jacobian (fixed) plus the T·B·H trace, so 0→1.
THEORY = {
    "bptt": {"time T": "1", "time H": "2", "memory T": "1", "memory H": "1→2"},
    "tbptt": {"time T": "1", "time H": "2", "memory T": "0", "memory H": "1→2"},
    "unrolled": {"time T": "2", "time H": "2", "memory T": "0→1", "memory H": "1→2"},
    "rtrl": {"time T": "1", "time H": "4", "memory T": "0", "memory H": "3"},
}


def prepare(T: int, H: int, seed: int = 0):
    """A float64 model and a validated batch (what loss_and_grad hands to the method)."""
    rng = np.random.default_rng(seed)
    net = bptt.RNN(D, H, K, seed=seed, dtype=np.float64)
    x = rng.standard_normal((T, B, D))
    y = rng.integers(0, K, size=(T, B))
    return net, make_batch(net, x, y, None, None, None)


def peak_bytes(fn) -> int:
    """tracemalloc peak of one call of ``fn`` above what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def median_seconds(fn, min_calls: int, min_seconds: float, max_calls: int = 50) -> tuple[float, float, int]:
    """Median CPU time (process_time) and median wall time of ``fn`` over at least min_calls
    calls and at least min_seconds of CPU time in total. Returns (cpu, wall, calls)."""
    fn()  # warm-up
    cpu, wall = [], []
    gc.collect()
    gc.disable()
    try:
        while len(cpu) < max_calls and (len(cpu) < min_calls or sum(cpu) < min_seconds):
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
    finally:
        gc.enable()
    return statistics.median(cpu), statistics.median(wall), len(cpu)


def slope(sizes, values, last: int = 3) -> float:
    """Least-squares slope of log(values) on log(sizes) over the ``last`` largest sizes."""
    xs, ys = np.log(sizes[-last:]), np.log(values[-last:])
    return float(np.polyfit(xs, ys, 1)[0])


def run(sizes: dict, min_calls: int, min_seconds: float, log=print) -> dict:
    results = {}
    for axis, per_method in sizes.items():
        for method, values in per_method.items():
            rows = []
            for n in values:
                T, H = (n, FIXED["H"]) if axis == "T" else (FIXED["T"], n)
                net, batch = prepare(T, H)

                def call(net=net, batch=batch, method=method):
                    METHODS[method](net, batch, **OPTIONS[method])

                mem = peak_bytes(call)
                sec, wall, calls = median_seconds(call, min_calls, min_seconds)
                rows.append({"size": n, "T": T, "H": H, "seconds": sec, "wall_seconds": wall, "calls": calls,
                             "peak_bytes": mem})
                log(f"{axis} sweep  {method:8s} {axis}={n:5d}  cpu {sec * 1e3:10.3f} ms  wall {wall * 1e3:10.3f} ms"
                    f"  (median of {calls:2d})  peak {mem / 2**20:9.3f} MiB", flush=True)
            results[(axis, method)] = rows
    return results


def exponents(results: dict) -> dict:
    out = {}
    for (axis, method), rows in results.items():
        sizes = [r["size"] for r in rows]
        out.setdefault(method, {})[f"time {axis}"] = slope(sizes, [r["seconds"] for r in rows])
        out[method][f"memory {axis}"] = slope(sizes, [max(r["peak_bytes"], 1) for r in rows])
    return out


def markdown(results: dict, exps: dict) -> str:
    lines = []
    for axis in ("T", "H"):
        other = "H" if axis == "T" else "T"
        lines += [f"### Growing {axis} ({other} = {FIXED[other]}, B = {B}): median CPU time (ms) / peak memory (KiB)", ""]
        methods = [m for (a, m) in results if a == axis]
        sizes = sorted({r["size"] for m in methods for r in results[(axis, m)]})
        lines.append(f"| {axis} | " + " | ".join(methods) + " |")
        lines.append("| ---: | " + " | ".join("---:" for _ in methods) + " |")
        for n in sizes:
            cells = []
            for m in methods:
                row = next((r for r in results[(axis, m)] if r["size"] == n), None)
                cells.append("" if row is None else f"{row['seconds'] * 1e3:.3g} / {row['peak_bytes'] / 1024:.4g}")
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["### Growth exponents: fitted over the three largest sizes (theory)", "",
              "| method | time in T | time in H | memory in T | memory in H |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for m, e in exps.items():
        cells = [f"{e[k]:.2f} ({THEORY[m][k]})" for k in ("time T", "time H", "memory T", "memory H")]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: dict, exps: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    colors = {"bptt": "C0", "tbptt": "C2", "unrolled": "C1", "rtrl": "C3"}
    for col, axis in enumerate(("T", "H")):
        other = "H" if axis == "T" else "T"
        for row, (key, scale, unit) in enumerate((("seconds", 1e3, "CPU time per gradient (ms)"),
                                                  ("peak_bytes", 1 / 1024, "peak memory (KiB)"))):
            ax = axes[row, col]
            for method in OPTIONS:
                rows = results.get((axis, method))
                if not rows:
                    continue
                e = exps[method][("time " if key == "seconds" else "memory ") + axis]
                th = THEORY[method][("time " if key == "seconds" else "memory ") + axis]
                ax.loglog([r["size"] for r in rows], [r[key] * scale for r in rows], "o-",
                          color=colors[method], label=f"{method}: slope {e:.2f} (theory {th})")
            ax.set_xlabel(f"{axis} ({other} = {FIXED[other]}, B = {B})")
            ax.set_ylabel(unit)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle("Gradient methods: cost as T and H grow (log–log; slope = growth exponent)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    p.add_argument("--min-calls", type=int, default=5)
    p.add_argument("--min-seconds", type=float, default=0.5)
    p.add_argument("--plot", default=os.path.join(os.path.dirname(__file__), "..", "docs", "img", "algorithms.png"))
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--json", help="also write the raw results here")
    p.add_argument("--from-json", help="measure nothing: print and plot the results saved by --json")
    args = p.parse_args(argv)
    if args.quick:
        args.min_calls, args.min_seconds = 3, 0.0
    t0 = time.perf_counter()
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)["results"]
        results = {tuple(k.split(":")): rows for k, rows in saved.items()}
    else:
        results = run(QUICK if args.quick else SIZES, args.min_calls, args.min_seconds)
    exps = exponents(results)
    print()
    print(f"numpy {np.__version__}, python {platform.python_version()}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, {os.cpu_count()} logical CPUs; "
          + ("results read from " + args.from_json if args.from_json else f"run took {time.perf_counter() - t0:.0f} s"))
    print()
    print(markdown(results, exps))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**machine.provenance("algorithms.py", sys.argv[1:] if argv is None else argv),
                       "openblas_num_threads": os.environ["OPENBLAS_NUM_THREADS"],
                       "results": {f"{a}:{m}": r for (a, m), r in results.items()}, "exponents": exps,
                       "theory": THEORY}, f, indent=1)
    if not args.no_plot:
        os.makedirs(os.path.dirname(os.path.abspath(args.plot)), exist_ok=True)
        plot(results, exps, args.plot)
        print(f"\nwrote {os.path.normpath(args.plot)}")


if __name__ == "__main__":
    main()
