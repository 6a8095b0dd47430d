"""Where the time of one bptt training step goes, phase by phase.

    python benchmarks/profile_bptt.py --shapes tiny,large [--repeats 5]

This is a diagnostic, not the benchmark: it calls the library's internals (make_batch,
RNN.run, RNN.head_backward, RNN.backprop) to time each phase, and re-runs the two time loops
of elman.py with only their matrix products or only their elementwise work to split each
loop into GEMM time, elementwise time and the rest (Python/NumPy call overhead). The loop
bodies mirror src/bptt/elman.py (forward: matmul, +=, tanh; backward: +=, *=, matmul).
Each figure is the median over `repeats` runs, in ms.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bptt  # noqa: E402
from bptt.cells import elman  # noqa: E402
from bptt.batch import make_batch  # noqa: E402
from shapes import BY_NAME, make_data, make_weights  # noqa: E402
from timing import median_seconds  # noqa: E402


def ms(f, repeats: int) -> float:
    return 1e3 * median_seconds(f, repeats)


def profile(s, repeats: int) -> dict:
    w = make_weights(s)
    x, y = make_data(s)
    net = bptt.RNN(s.D, s.H, s.K, activation="tanh", output="softmax", seed=0, dtype=np.float32)
    for k, v in w.items():
        net.params[k][...] = v
    p = net.params
    T, B, H = s.T, s.B, s.H
    out = {"step (public API)": ms(lambda: net.loss_and_grad(x, y), repeats)}

    batch = make_batch(net, x, y, None, None, None)
    out["validate (make_batch)"] = ms(lambda: make_batch(net, x, y, None, None, None), repeats)
    out["forward (run)"] = ms(lambda: net.run(batch), repeats)
    trace = net.run(batch)
    out["head: o, loss, dV, dc, G"] = ms(lambda: net.head_backward(batch, trace.top), repeats)
    _, _, G = net.head_backward(batch, trace.top)
    out["backward (backprop)"] = ms(lambda: net.backprop(trace, G), repeats)

    # --- the head's parts
    top = trace.top.reshape(T * B, H)
    o = top @ p["V"].T + p["c"]
    out["  head: o = h Vᵀ + c (GEMM)"] = ms(lambda: top @ p["V"].T + p["c"], repeats)
    yy, ww = batch.y.reshape(-1), batch.w.reshape(-1)
    out["  head: log-softmax, loss, ŷ−y (elementwise)"] = ms(
        lambda: net.head.value_and_grad(o, yy, ww), repeats)
    _, d_o = net.head.value_and_grad(o, yy, ww)
    out["  head: dV = δoᵀ h (GEMM)"] = ms(lambda: d_o.T @ top, repeats)
    out["  head: G = δo V (GEMM)"] = ms(lambda: d_o @ p["V"], repeats)
    def dc_by_blocks():  # as RNN.head_backward, which does it while each block is in cache
        dc = np.zeros(d_o.shape[1])
        for i in range(0, len(d_o), 64):
            dc += d_o[i:i + 64].sum(axis=0)
        return dc
    out["  head: dc as one float64 sum of δo (before)"] = ms(lambda: d_o.sum(axis=0, dtype=np.float64), repeats)
    out["  head: dc as float64 sum of 64-row block sums (now; cache-cold here)"] = ms(dc_by_blocks, repeats)

    # --- the forward loop split
    h = trace.caches[0].h.copy()
    WT = np.ascontiguousarray(p["W"].T)
    rec = np.empty((B, H), np.float32)

    def f_full():
        for t in range(T):
            np.matmul(h[t], WT, out=rec)
            h[t + 1] += rec
            np.tanh(h[t + 1], out=h[t + 1])

    def f_gemm():
        for t in range(T):
            np.matmul(h[t], WT, out=rec)

    def f_elem():
        for t in range(T):
            h[t + 1] += rec
            np.tanh(h[t + 1], out=h[t + 1])

    def f_empty():
        for t in range(T):
            h[t], h[t + 1]  # noqa: B018 - the view creation the loop pays anyway

    xin = x.reshape(T * B, -1) if not s.ids else None
    if s.ids:
        UT = np.ascontiguousarray(p["U"].T)
        out["  fwd: input gather x Uᵀ"] = ms(lambda: np.take(UT, x.reshape(-1), axis=0), repeats)
    else:
        out["  fwd: input GEMM x Uᵀ"] = ms(lambda: xin @ p["U"].T, repeats)
    out["  fwd loop: total"] = ms(f_full, repeats)
    out["  fwd loop: GEMMs only"] = ms(f_gemm, repeats)
    out["  fwd loop: elementwise only"] = ms(f_elem, repeats)
    out["  fwd loop: empty (views)"] = ms(f_empty, repeats)

    # --- the backward loop split
    hs = trace.caches[0].h
    delta = 1 - hs[1:] * hs[1:]
    dh = np.zeros((B, H), np.float32)
    nxt = np.empty_like(dh)
    W = p["W"]
    d = delta.copy()

    def b_full():
        a, n = dh.copy(), nxt
        for t in range(T - 1, -1, -1):
            a += G[t]
            d[t] *= a
            np.matmul(d[t], W, out=n)
            a, n = n, a

    def b_gemm():
        for t in range(T - 1, -1, -1):
            np.matmul(d[t], W, out=nxt)

    out["  bwd: f'(z) = 1 − h²"] = ms(lambda: 1 - hs[1:] * hs[1:], repeats)
    out["  bwd loop: total"] = ms(b_full, repeats)
    out["  bwd loop: GEMMs only"] = ms(b_gemm, repeats)
    rows = delta.reshape(T * B, H)
    out["  bwd: dW = Σ δᵀ h (GEMM)"] = ms(lambda: rows.T @ hs[:-1].reshape(T * B, H), repeats)
    if s.ids:
        U = np.zeros((H, s.D), np.float32)
        out["  bwd: dU scatter-add (elman.input_weight_grad)"] = ms(
            lambda: elman.input_weight_grad(rows, x, U), repeats)
    else:
        out["  bwd: dU = Σ δᵀ x (GEMM)"] = ms(lambda: rows.T @ xin, repeats)
    out["  bwd: db (float64 sum)"] = ms(lambda: rows.sum(axis=0, dtype=np.float64), repeats)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default="tiny,large")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    for name in args.shapes.split(","):
        s = BY_NAME[name]
        res = profile(s, args.repeats)
        step = res["step (public API)"]
        print(f"\n### {s.label()}\n\n| phase | ms | % of step |\n| --- | ---: | ---: |")
        for k, v in res.items():
            print(f"| {k} | {v:.3f} | {100 * v / step:.0f}% |")


if __name__ == "__main__":
    main()
