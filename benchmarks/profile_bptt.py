"""Where the time of one bptt training step goes, phase by phase.

    python benchmarks/profile_bptt.py --shapes tiny,large [--repeats 5]

This is a diagnostic, not the benchmark: it times the library's own functions phase by phase
(make_batch, RNN.run, RNN.head_backward, RNN.backprop; inside them model.logits,
Head.value_and_grad, the NumPy time loops elman._forward_loop and elman._backward_loop,
elman.input_weight_grad) and the single products and sums between them. It runs no copy of
a loop: what it times is the code the library runs (the NumPy loops; bptt.compiled's kernels
are timed by benchmarks/loops.py --kernels). Each figure is the median over `repeats` runs, in ms.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bptt  # noqa: E402
from bptt import activations  # noqa: E402
from bptt.cells import elman  # noqa: E402
from bptt.batch import make_batch  # noqa: E402
from bptt.model import logits  # noqa: E402
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

    # --- the head's parts (the blocked head_backward does them block by block; here whole)
    top = trace.top.reshape(T * B, H)
    VT = np.ascontiguousarray(p["V"].T)
    o = logits(top, VT, p["c"])
    out["  head: o = h Vᵀ + c (model.logits, GEMM)"] = ms(lambda: logits(top, VT, p["c"]), repeats)
    yy, ww = batch.y.reshape(-1), batch.w.reshape(-1)
    out["  head: log-softmax, loss, ŷ−y (Head.value_and_grad)"] = ms(
        lambda: net.head.value_and_grad(o, yy, ww), repeats)
    _, d_o = net.head.value_and_grad(o, yy, ww)
    out["  head: dV = δoᵀ h (GEMM)"] = ms(lambda: d_o.T @ top, repeats)
    out["  head: G = δo V (GEMM)"] = ms(lambda: d_o @ p["V"], repeats)

    def dc_by_blocks():  # the two ways of summing dc compared (head_backward sums each block in cache)
        dc = np.zeros(d_o.shape[1])
        for i in range(0, len(d_o), 64):
            dc += d_o[i:i + 64].sum(axis=0)
        return dc
    out["  head: dc as one float64 sum of δo (before)"] = ms(lambda: d_o.sum(axis=0, dtype=np.float64), repeats)
    out["  head: dc as float64 sum of 64-row block sums (now; cache-cold here)"] = ms(dc_by_blocks, repeats)

    # --- the library's own NumPy time loops (elman._forward_loop/_backward_loop), whatever
    # bptt.compiled would pick for this shape; the buffer the forward loop overwrites is reset
    # from a copy before each call, and that copy is timed on its own line
    cache = trace.caches[0]
    h_in = np.empty_like(cache.h)
    h_in[0] = 0
    if s.ids:
        UT = np.ascontiguousarray(p["U"].T)
        out["  fwd: input gather x Uᵀ"] = ms(lambda: np.take(UT, x.reshape(-1), axis=0), repeats)
        h_in[1:] = np.take(UT, x, axis=0) + p["b"]
    else:
        xin = x.reshape(T * B, -1)
        out["  fwd: input GEMM x Uᵀ"] = ms(lambda: xin @ p["U"].T, repeats)
        h_in[1:] = (xin @ p["U"].T + p["b"]).reshape(T, B, H)
    h = h_in.copy()
    WT = np.ascontiguousarray(p["W"].T)

    def fwd_loop():
        np.copyto(h, h_in)
        elman._forward_loop(h, WT, net.activation, None)

    out["  fwd loop (elman._forward_loop + buffer reset)"] = ms(fwd_loop, repeats)
    out["  fwd loop: the buffer reset alone"] = ms(lambda: np.copyto(h, h_in), repeats)
    dh = np.zeros((B, H), np.float32)
    out["  bwd loop (elman._backward_loop, f'(z) included)"] = ms(
        lambda: elman._backward_loop(G, cache.h, p["W"], dh.copy(), net.activation, None), repeats)
    delta, _ = elman._backward_loop(G, cache.h, p["W"], dh.copy(), net.activation, None)
    out["  bwd: f'(z) = 1 − h² (activations.derivative_from_output)"] = ms(
        lambda: activations.derivative_from_output(net.activation, cache.h[1:]), repeats)
    rows = delta.reshape(T * B, H)
    out["  bwd: dW = Σ δᵀ h (GEMM)"] = ms(lambda: rows.T @ cache.h[:-1].reshape(T * B, H), repeats)
    out["  bwd: dU (elman.input_weight_grad)"] = ms(
        lambda: elman.input_weight_grad(rows, x, p["U"]), repeats)
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
