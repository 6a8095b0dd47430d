"""Micro-benchmarks behind the optimisation notes in docs/benchmarks.md.

    python benchmarks/micro_ops.py

1. ids: ∂L/∂U by np.add.at into a (V, H) buffer + a transposed copy (what elman.py first did),
   sorting the ids once and summing runs with np.add.reduceat into only the touched columns
   of a (H, V) buffer (what it did next), and the library's pass-wise elman.scatter_add.
2. The ids gather's parts: the Uᵀ copy, np.take buffered or not, the (H, V) zero-fill.
3. The recurrent GEMM of the time loop, (B, H) @ (H, H), with OpenBLAS at 2 threads and at
   1 thread (set through OpenBLAS's own C API, as threadpoolctl would).
4. The tiny shape's forward loop, as written (indexing h[t] each step) and with the per-step
   views made once (list(h)).
Medians in µs or ms as printed.
"""
from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

from bptt.cells import elman
from timing import median_seconds


def openblas():
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*"))
    lib = ctypes.CDLL(libs[0])
    return lib.scipy_openblas_set_num_threads64_, lib.scipy_openblas_get_num_threads64_


def ids_grad(V=10_000, H=256, N=3200, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, N)
    rows = rng.standard_normal((N, H), dtype=np.float32)

    def add_at():  # as elman.input_weight_grad first did
        dUT = np.zeros((V, H), np.float32)
        np.add.at(dUT, ids, rows)
        return np.ascontiguousarray(dUT.T)

    def sorted_reduceat():
        order = np.argsort(ids, kind="stable")
        s = ids[order]
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        sums = np.add.reduceat(rows[order], starts, axis=0)  # (n_unique, H)
        dU = np.zeros((H, V), np.float32)
        dU[:, s[starts]] = sums.T
        return dU

    U = np.zeros((H, V), np.float32)

    def library():
        return elman.input_weight_grad(rows, ids[:, None], U)

    assert np.allclose(add_at(), sorted_reduceat(), atol=1e-5) and np.allclose(add_at(), library(), atol=1e-5)
    print(f"ids dU (V={V}, H={H}, {N} rows): np.add.at + transpose {1e3 * median_seconds(add_at, 20):.2f} ms, "
          f"sort + reduceat {1e3 * median_seconds(sorted_reduceat, 20):.2f} ms, "
          f"library (pass-wise) {1e3 * median_seconds(library, 20):.2f} ms")


def loop_gemm_threads():
    set_threads, get_threads = openblas()
    default = get_threads()
    rng = np.random.default_rng(0)
    for B, H in ((32, 128), (32, 512), (128, 1024), (8, 64), (64, 256)):
        h = rng.standard_normal((B, H), dtype=np.float32)
        WT = rng.standard_normal((H, H), dtype=np.float32)
        out = np.empty((B, H), np.float32)
        res = {}
        for n in (default, 1):
            set_threads(n)
            res[n] = median_seconds(lambda: np.matmul(h, WT, out=out), 200)
        set_threads(default)
        print(f"loop GEMM B={B} H={H}: {default} threads {1e6 * res[default]:.1f} µs, "
              f"1 thread {1e6 * res[1]:.1f} µs")


def tiny_loop(T=25, B=1, H=100):
    rng = np.random.default_rng(0)
    h = rng.standard_normal((T + 1, B, H), dtype=np.float32)
    WT = rng.standard_normal((H, H), dtype=np.float32) * 0.1
    rec = np.empty((B, H), np.float32)

    def as_written():
        for t in range(T):
            np.matmul(h[t], WT, out=rec)
            h[t + 1] += rec
            np.tanh(h[t + 1], out=h[t + 1])

    views = list(h)

    def views_once():
        for t in range(T):
            nxt = views[t + 1]
            np.matmul(views[t], WT, out=rec)
            np.add(nxt, rec, out=nxt)
            np.tanh(nxt, out=nxt)

    print(f"tiny forward loop (T={T}): as written {1e6 * median_seconds(as_written, 2000):.1f} µs, "
          f"views made once {1e6 * median_seconds(views_once, 2000):.1f} µs")


def ids_gather(V=10_000, H=256, N=3200, seed=0):
    """The ids path's other parts: the contiguous Uᵀ the gather reads, the gather itself
    (np.take into the state buffer, mode "raise" buffers its output, "clip" does not), and the
    zero-filled (H, V) dU the scatter adds into."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, N)
    U = rng.standard_normal((H, V), dtype=np.float32)
    UT, z = np.ascontiguousarray(U.T), np.empty((N, H), np.float32)
    t = {"Uᵀ copy": lambda: np.ascontiguousarray(U.T),
         "take (raise)": lambda: np.take(UT, ids, axis=0, out=z),
         "take (clip)": lambda: np.take(UT, ids, axis=0, out=z, mode="clip"),
         "(H, V) zeros": lambda: np.zeros_like(U)}
    print(f"ids gather (V={V}, H={H}, {N} ids): "
          + ", ".join(f"{k} {1e3 * median_seconds(f, 50):.2f} ms" for k, f in t.items()))


if __name__ == "__main__":
    ids_grad()
    ids_gather()
    loop_gemm_threads()
    tiny_loop()
