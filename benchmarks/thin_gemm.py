"""The recurrent product alone, (B, H)·(H, H), at the issue's GEMM-bound shapes.

Every loop step of a GEMM-bound shape is this product (h_{t−1} Wᵀ forward, δ_t W backward),
so its rate bounds the step's. Printed in GFLOP/s and as a fraction of the 2048³ sgemm ceiling
measured in the same run, at 1 and 2 threads:
- ``numpy h@Wt``: what elman.py calls (states batch-major, h_t (B, H));
- ``numpy W@hT``: the same product with feature-major states (h_tᵀ (H, B) contiguous);
- ``torch h@Wt``: torch's MKL on the batch-major call.

    .venv/bin/python benchmarks/thin_gemm.py
"""
from __future__ import annotations

import time

import numpy as np
import torch

from bptt.session import set_blas_threads

SHAPES = [(32, 128), (32, 512), (128, 1024)]  # (B, H) of char128, char512, large


def gflops(fn, flops, n):
    """Best of 5 rounds of n calls."""
    fn()
    best = np.inf
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return flops / best / 1e9


def main():
    rng = np.random.default_rng(0)
    for threads in (1, 2):
        set_blas_threads(threads)
        torch.set_num_threads(threads)
        A = rng.normal(size=(2048, 2048)).astype(np.float32)
        C = np.empty_like(A)
        ceiling = gflops(lambda: np.matmul(A, A, out=C), 2 * 2048**3, 5)
        print(f"threads={threads}: 2048³ sgemm {ceiling:.0f} GFLOP/s")
        for B, H in SHAPES:
            h = rng.normal(size=(B, H)).astype(np.float32)
            W = rng.normal(size=(H, H)).astype(np.float32)
            Wt, hT = np.ascontiguousarray(W.T), np.ascontiguousarray(h.T)
            out, outT = np.empty((B, H), np.float32), np.empty((H, B), np.float32)
            th, tWt, tout = torch.from_numpy(h), torch.from_numpy(Wt), torch.empty(B, H)
            n, flops = (200 if H <= 512 else 50), 2 * B * H * H
            rates = {
                "numpy h@Wt": gflops(lambda: np.matmul(h, Wt, out=out), flops, n),
                "numpy W@hT": gflops(lambda: np.matmul(W, hT, out=outT), flops, n),
                "torch h@Wt": gflops(lambda: torch.mm(th, tWt, out=tout), flops, n),
            }
            cells = ", ".join(f"{k} {r:.0f} ({100 * r / ceiling:.0f}%)" for k, r in rates.items())
            print(f"  B={B} H={H}: {cells}", flush=True)


if __name__ == "__main__":
    main()
