"""Compiled (numba) against NumPy time loops: where does bptt.compiled win?

One full training step (``net.loss_and_grad``, float32, softmax + cross-entropy, K = D = 65)
with ``bptt.compiled.MODE = "numpy"`` and ``"numba"``, interleaved in visits (timing.py),
on a grid of batch sizes B and hidden sizes H at T = 25, plus the issue's T = 1000, B = 8,
H = 64 shape. Prints a markdown table of medians and the ratio numba / numpy; the rule in
``bptt.compiled.use`` (B·H ≤ MAX_UNITS) is read off it.

    /work/venv/bin/python benchmarks/loops.py [--blas-threads 1] [--quick]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import bptt  # noqa: E402
from bptt import compiled  # noqa: E402
from bptt.session import set_blas_threads  # noqa: E402
from timing import run_visits  # noqa: E402

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blas-threads", type=int, default=None, help="OpenBLAS threads (default: its own)")
    ap.add_argument("--quick", action="store_true", help="fewer shapes and shorter visits")
    args = ap.parse_args()
    if args.blas_threads:
        set_blas_threads(args.blas_threads)
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
