"""How long a carry must be held: the longest run of positions where a_i ≠ b_i (the carry passes
through unchanged) in addition's training batches of ≤N-bit numbers and in its 1000-bit test set.

    .venv/bin/python benchmarks/carry_runs.py            # training sizes 8 16 32, test size 1000
    .venv/bin/python benchmarks/carry_runs.py --bits 8 64
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))
from bptt.recipes.base import fixed_rng  # noqa: E402
from bptt.recipes.bits import Addition  # noqa: E402
from bptt.tasks import addition  # noqa: E402


def longest_runs(x: np.ndarray) -> np.ndarray:
    """x (T, B, 2) operand bits → (B,) the longest run of steps t with x[t, :, 0] ≠ x[t, :, 1]."""
    passes = x[..., 0] != x[..., 1]
    best = current = np.zeros(x.shape[1], dtype=int)
    for p in passes:
        current = np.where(p, current + 1, 0)
        best = np.maximum(best, current)
    return best


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bits", type=int, nargs="+", default=[8, 16, 32], help="training sizes (8 16 32)")
    p.add_argument("--sums", type=int, default=192_000, help="training sums drawn per size (6000 steps × 32)")
    p.add_argument("--test-bits", type=int, default=1000, help="the test size (1000)")
    a = p.parse_args(argv)
    for n in a.bits:
        runs = longest_runs(addition.batch(np.random.default_rng(0), a.sums, n, bit_lengths="uniform")[0])
        print(f"training, ≤{n}-bit numbers: longest run {runs.max()}; sums with a run ≥ 10: {np.mean(runs >= 10):.2%}")
    # the recipe's test set of this size (Addition.report draws it with fixed_rng(1000 + n))
    runs = longest_runs(addition.batch(fixed_rng(1000 + a.test_bits), Addition.OPTIONS["test_size"], a.test_bits)[0])
    print(f"test, {a.test_bits}-bit numbers: longest run per sum: median {int(np.median(runs))}, max {runs.max()}; "
          f"sums with a run ≥ 10: {np.mean(runs >= 10):.2%}")


if __name__ == "__main__":
    main()
