"""PyTorch CPU: the same Elman RNN as one canonical torch training step.

Float inputs: ``nn.RNN(D, H, nonlinearity="tanh")`` + ``nn.Linear(H, K)`` +
``F.cross_entropy(reduction="sum") / B`` + ``.backward()``. The library's single bias b is
split as ``bias_ih_l0 = b``, ``bias_hh_l0 = 0``; both receive the gradient db.

Id inputs: torch has no "RNN with a one-hot input" that skips the GEMM. The fair formulation
that keeps the exact same parameters is an embedding lookup of the input projection:
``E = Uᵀ`` (V, H) is held as a contiguous leaf (nn.Embedding's layout), ``F.embedding(ids, E)``
gives ``x_t Uᵀ`` and the recurrence runs as an explicit loop of torch ops
(``h = tanh(xu[t] + b + h @ Wᵀ)``) — the same work ATen's CPU ``nn.RNN`` does per step after
its hoisted input GEMM. The alternative of feeding the embedding into ``nn.RNN(H, H)`` with a
frozen identity ``weight_ih`` adds two H×H GEMMs per step; `--torch-ids=identity` selects it
(see docs/benchmarks.md for which was faster; the better one is the default).

Gradients are reported in the library's layout (U (H, D) etc.).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from shapes import Shape

NAME = "torch"


class TorchStep:
    def __init__(self, s: Shape, weights: dict, x: np.ndarray, y: np.ndarray, *,
                 update: bool = False, lr: float = 1e-4, ids_mode: str = "loop"):
        self.s, self.update, self.lr, self.ids_mode = s, update, lr, ids_mode
        self.compile_seconds = None
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
        self.y = t(y).reshape(-1)
        self.x = t(x)
        self.linear = torch.nn.Linear(s.H, s.K)
        with torch.no_grad():
            self.linear.weight.copy_(t(weights["V"]))
            self.linear.bias.copy_(t(weights["c"]))
        if not s.ids:
            self.rnn = torch.nn.RNN(s.D, s.H, nonlinearity="tanh")
            self._load_rnn(weights["U"], weights["W"], weights["b"])
            self.params = list(self.rnn.parameters()) + list(self.linear.parameters())
            self._forward = self._forward_rnn
        elif ids_mode == "identity":
            self.E = torch.nn.Parameter(t(weights["U"].T.copy()))
            self.rnn = torch.nn.RNN(s.H, s.H, nonlinearity="tanh")
            self._load_rnn(np.eye(s.H, dtype=np.float32), weights["W"], weights["b"])
            self.rnn.weight_ih_l0.requires_grad_(False)
            self.params = [self.E, self.rnn.weight_hh_l0, self.rnn.bias_ih_l0,
                           self.rnn.bias_hh_l0] + list(self.linear.parameters())
            self._forward = self._forward_ids_identity
        elif ids_mode == "loop":
            self.E = torch.nn.Parameter(t(weights["U"].T.copy()))
            self.W = torch.nn.Parameter(t(weights["W"]))
            self.b = torch.nn.Parameter(t(weights["b"]))
            self.params = [self.E, self.W, self.b] + list(self.linear.parameters())
            self._forward = self._forward_ids_loop
        else:
            raise ValueError(f"ids_mode must be 'loop' or 'identity', got {ids_mode!r}")
        self.opt = torch.optim.SGD(self.params, lr=lr) if update else None

    def _load_rnn(self, U, W, b):
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(torch.from_numpy(U))
            self.rnn.weight_hh_l0.copy_(torch.from_numpy(W))
            self.rnn.bias_ih_l0.copy_(torch.from_numpy(b))
            self.rnn.bias_hh_l0.zero_()

    # ---- the three formulations ------------------------------------------------------
    def _forward_rnn(self):
        h, _ = self.rnn(self.x)  # (T, B, H)
        return h

    def _forward_ids_identity(self):
        h, _ = self.rnn(F.embedding(self.x, self.E))
        return h

    def _forward_ids_loop(self):
        xu = F.embedding(self.x, self.E) + self.b  # (T, B, H)
        Wt = self.W.t()
        h = torch.tanh(xu[0])  # h_{-1} = 0
        hs = [h]
        for t in range(1, self.s.T):
            h = torch.tanh(torch.addmm(xu[t], h, Wt))
            hs.append(h)
        return torch.stack(hs)

    def _loss_backward(self):
        for p in self.params:
            p.grad = None
        h = self._forward()
        logits = self.linear(h).reshape(-1, self.s.K)
        loss = F.cross_entropy(logits, self.y, reduction="sum") / self.s.B
        loss.backward()
        return loss

    # ---- the harness interface -------------------------------------------------------
    def step(self) -> None:
        """One training step: forward, loss, backward (and the SGD update with --update)."""
        self._loss_backward()
        if self.opt is not None:
            self.opt.step()

    def loss_and_grads(self) -> tuple[float, dict[str, np.ndarray]]:
        loss = self._loss_backward()
        g = lambda p: p.grad.detach().numpy().copy()  # noqa: E731
        out = {"V": g(self.linear.weight), "c": g(self.linear.bias)}
        if not self.s.ids:
            out.update(U=g(self.rnn.weight_ih_l0), W=g(self.rnn.weight_hh_l0),
                       b=g(self.rnn.bias_ih_l0))
        elif self.ids_mode == "identity":
            out.update(U=g(self.E).T.copy(), W=g(self.rnn.weight_hh_l0),
                       b=g(self.rnn.bias_ih_l0))
        else:
            out.update(U=g(self.E).T.copy(), W=g(self.W), b=g(self.b))
        return float(loss.detach()), out


def make(s, weights, x, y, **kw):
    return TorchStep(s, weights, x, y, **kw)


def gemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    """torch's own (MKL) float32 GEMM rate at the current thread count, best of `repeats`."""
    import time
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9
