"""Compiled (numba) against NumPy time loops: where does bptt.compiled win?

One full training step (``net.loss_and_grad``, float32, softmax + cross-entropy, K = D = 65)
with ``bptt.compiled.MODE = "numpy"`` and ``"numba"``, interleaved in visits (timing.py),
on a grid of batch sizes B and hidden sizes H at T = 25, plus the issue's T = 1000, B = 8,
H = 64 shape. Prints a markdown table of medians and the ratio numba / numpy; the rule in
``bptt.compiled.use`` (B·H ≤ MAX_UNITS) is read off it.

    .venv/bin/python benchmarks/loops.py [--blas-threads 1] [--quick]
    .venv/bin/python benchmarks/loops.py --kernels   # the loops alone, and first-call costs

``--kernels``: the two loops alone at T = 25, B = 1, H = 100 (tanh, float32), compiled
(``_kernels.forward``/``backward``) and NumPy (``elman._forward_loop``/``_backward_loop``), a
forward with the identity activation to separate the cost of tanh, and the first
``loss_and_grad`` of a fresh process with ``BPTT_LOOPS=numba`` and ``=numpy``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import bptt  # noqa: E402
from bptt import compiled  # noqa: E402
from bptt.cells import elman  # noqa: E402
from bptt.session import set_blas_threads  # noqa: E402
from timing import median_seconds, run_visits  # noqa: E402

K = D = 65


def make_step(T, B, H, mode):
    rng = np.random.default_rng(0)
    net = bptt.RNN(D, H, K, seed=0)
    x = rng.normal(size=(T, B, D)).astype(np.float32)
    y = rng.integers(0, K, size=(T, B))

    def step():
        compiled.MODE = mode
        net.loss_and_grad(x, y)
    return step


FIRST_CALL = ("import time, numpy as np, bptt; net = bptt.RNN(3, 4, 2, seed=0); t = time.perf_counter(); "
              "net.loss_and_grad(np.zeros((3, 1, 3), np.float32), np.zeros((3, 1), int)); "
              "print(f'{time.perf_counter() - t:.3f}')")


def kernels(T=25, B=1, H=100):
    from bptt import _kernels

    rng = np.random.default_rng(0)
    W = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(np.float32)
    WT = np.ascontiguousarray(W.T)
    z = rng.standard_normal((T + 1, B, H)).astype(np.float32)  # h[0] = h_0, h[t] = x_t Uᵀ + b
    G = rng.standard_normal((T, B, H)).astype(np.float32)
    h, no_mask = z.copy(), np.ones((1, 1), bool)
    fresh = lambda: np.copyto(h, z)  # noqa: E731
    copy = median_seconds(fresh, 2000)
    us = lambda f: 1e6 * (median_seconds(lambda: (fresh(), f()), 2000) - copy)  # noqa: E731
    _kernels.forward(h, WT, _kernels.ACT["tanh"], no_mask, False)
    delta = np.empty_like(G)
    rows = {
        "compiled forward (tanh)": us(lambda: _kernels.forward(h, WT, _kernels.ACT["tanh"], no_mask, False)),
        "compiled forward (identity)": us(lambda: _kernels.forward(h, WT, _kernels.ACT["identity"], no_mask, False)),
        "compiled backward": 1e6 * median_seconds(
            lambda: _kernels.backward(delta, G, h, W, np.zeros((B, H), np.float32), 0, no_mask, False), 2000),
        "NumPy forward": us(lambda: elman._forward_loop(h, WT, "tanh", None)),
        "NumPy backward": 1e6 * median_seconds(
            lambda: elman._backward_loop(G, h, W, np.zeros((B, H), np.float32), "tanh", None), 2000),
    }
    print(f"the loops alone, T={T} B={B} H={H}, float32 (µs): "
          + ", ".join(f"{k} {v:.1f}" for k, v in rows.items()))
    for mode in ("numba", "numpy"):
        env = {**os.environ, "BPTT_LOOPS": mode}
        out = subprocess.run([sys.executable, "-c", FIRST_CALL], env=env, capture_output=True, text=True, check=True)
        print(f"first loss_and_grad of a new process, BPTT_LOOPS={mode}: {out.stdout.strip()} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blas-threads", type=int, default=None, help="OpenBLAS threads (default: its own)")
    ap.add_argument("--quick", action="store_true", help="fewer shapes and shorter visits")
    ap.add_argument("--kernels", action="store_true", help="the loops alone and first-call costs, then stop")
    args = ap.parse_args()
    if args.blas_threads:
        set_blas_threads(args.blas_threads)
    if args.kernels:
        return kernels()
    if args.quick:
        grid = [(25, 1, 100), (25, 4, 100)]
    else:
        grid = [(25, B, H) for H in (32, 100, 256, 512) for B in (1, 2, 4, 8)] + [(1000, 8, 64)]
    print(f"bptt.compiled.MAX_UNITS = {compiled.MAX_UNITS}; BLAS threads: {args.blas_threads or 'default'}")
    print("| T | B | H | numpy ms | numba ms | numba / numpy |\n| ---: | ---: | ---: | ---: | ---: | ---: |")
    for T, B, H in grid:
        steps = {m: make_step(T, B, H, m) for m in ("numpy", "numba")}
        steps["numba"]()  # compile (or load the cache) outside the timing
        s = run_visits(steps, rounds=2 if args.quick else 4, warm_seconds=0.1, timed_seconds=0.3)
        a, b = (1e3 * s[m]["median_s"] for m in ("numpy", "numba"))
        print(f"| {T} | {B} | {H} | {a:.3f} | {b:.3f} | {b / a:.2f} |", flush=True)
    compiled.MODE = "auto"


if __name__ == "__main__":
    main()
