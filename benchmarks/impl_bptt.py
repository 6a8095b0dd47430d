"""This library, through its public API only: ``bptt.RNN(..., cell=cell)``, ``net.params``,
``net.loss_and_grad(x, y)``. cell: "elman" (activation tanh), "lstm" or "gru" (torch's
nn.LSTM / nn.GRU equations; the GRU with its default reset_after=True, as torch).

The harness's weights are written into ``net.params`` in place (same dict, same arrays), so
all three implementations start from identical float32 weights. With --update the SGD update
is the plain in-place ``p -= lr * g`` over ``net.params``.
"""
from __future__ import annotations

import numpy as np

import bptt

from shapes import Shape

NAME = "bptt"


class BpttStep:
    def __init__(self, s: Shape, weights: dict, x: np.ndarray, y: np.ndarray, *,
                 update: bool = False, lr: float = 1e-4, cell: str = "elman"):
        self.update, self.lr = update, lr
        self.compile_seconds = None
        self.net = bptt.RNN(input_size=s.D, hidden_size=s.H, output_size=s.K, cell=cell,
                            activation="tanh", output="softmax", seed=0, dtype=np.float32)
        if set(weights) != set(self.net.params):
            raise ValueError(f"bptt params {sorted(self.net.params)}, harness weights {sorted(weights)}")
        for k, v in weights.items():
            p = self.net.params[k]
            if p.shape != v.shape or p.dtype != v.dtype:
                raise ValueError(f"bptt param {k}: {p.shape} {p.dtype}, expected {v.shape} {v.dtype}")
            p[...] = v
        self.x, self.y = x, y

    def step(self) -> None:
        loss, grads = self.net.loss_and_grad(self.x, self.y)
        if self.update:
            for k, p in self.net.params.items():
                p -= self.lr * grads[k]

    def loss_and_grads(self) -> tuple[float, dict[str, np.ndarray]]:
        loss, grads = self.net.loss_and_grad(self.x, self.y)
        return float(loss), {k: np.array(v) for k, v in grads.items()}


def make(s, weights, x, y, **kw):
    return BpttStep(s, weights, x, y, **kw)
