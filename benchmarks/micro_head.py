"""Micro-benchmark: the softmax + cross-entropy head at a large vocabulary, as the library does
it (bptt.losses.Head.value_and_grad on the full (T·B, K) logits) against a row-blocked
variant that computes logits, log-softmax, loss and ŷ − y one block of rows at a time while
the block is in cache, then does dV and G as one GEMM each.

    python benchmarks/micro_head.py [--shape words_float] [--block 64]

Prints ms per head (o, loss, dV, dc, G) for both and checks they agree.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bptt  # noqa: E402
from bptt.batch import make_batch  # noqa: E402
from shapes import BY_NAME, make_data, make_weights  # noqa: E402
from timing import median_seconds  # noqa: E402


def head_blocked(top, V, c, y, w, block):
    """(loss, dV, dc, G) with the logits never materialised beyond d_o itself."""
    N, H = top.shape
    K = V.shape[0]
    VT = np.ascontiguousarray(V.T)
    d_o = np.empty((N, K), np.float32)
    loss = 0.0
    for i in range(0, N, block):
        o = d_o[i:i + block]
        n = o.shape[0]
        np.matmul(top[i:i + block], VT, out=o)
        o += c
        m = o.max(axis=1, keepdims=True)
        o -= m  # shifted logits
        r = np.arange(n)
        yb, wb = y[i:i + block], w[i:i + block]
        o_y = o[r, yb].copy()
        np.exp(o, out=o)
        s = o.sum(axis=1)
        loss += float(np.dot(wb, np.log(s) - o_y))  # logsumexp(o) − o_y
        o *= (wb / s)[:, None]  # w ⊙ softmax
        o[r, yb] -= wb  # w ⊙ (ŷ − onehot(y))
    dV = d_o.T @ top
    dc = d_o.sum(axis=0, dtype=np.float64).astype(np.float32)
    G = d_o @ V
    return loss, dV, dc, G


def head_library(net, top, y, w):
    o = top @ net.params["V"].T + net.params["c"]
    loss, d_o = net.head.value_and_grad(o, y, w)
    return loss, d_o.T @ top, d_o.sum(axis=0, dtype=np.float64).astype(np.float32), d_o @ net.params["V"]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="words_float")
    ap.add_argument("--block", type=int, default=64)
    args = ap.parse_args(argv)
    s = BY_NAME[args.shape]
    w = make_weights(s)
    x, y = make_data(s)
    net = bptt.RNN(s.D, s.H, s.K, seed=0, dtype=np.float32)
    for k, v in w.items():
        net.params[k][...] = v
    batch = make_batch(net, x, y, None, None, None)
    top = net.run(batch).top.reshape(-1, s.H)
    yy, ww = batch.y.reshape(-1), batch.w.reshape(-1)
    a = head_library(net, top, yy, ww)
    b = head_blocked(top, net.params["V"], net.params["c"], yy, ww, args.block)
    err = [float(np.linalg.norm(p - q) / np.linalg.norm(q)) for p, q in zip(a[1:], b[1:])]
    print(f"{s.label()}: loss {a[0]:.4f} vs {b[0]:.4f}; rel err dV, dc, G: {err}")
    lib = 1e3 * median_seconds(lambda: head_library(net, top, yy, ww), 5)
    blk = 1e3 * median_seconds(lambda: head_blocked(top, net.params["V"], net.params["c"], yy, ww, args.block), 5)
    print(f"library head {lib:.1f} ms, row-blocked head (block={args.block}) {blk:.1f} ms, ×{lib / blk:.2f}")


if __name__ == "__main__":
    main()
