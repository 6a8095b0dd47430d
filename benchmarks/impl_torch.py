"""PyTorch CPU: the same RNN (Elman, LSTM or GRU) as one canonical torch training step.

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

Gated cells (``cell="lstm"`` / ``"gru"``, shapes.py's G·H-row U, W, b): float inputs run
``nn.LSTM(D, H)`` / ``nn.GRU(D, H)``. On CPU (torch 2.13, profiled) nn.LSTM is ONE fused oneDNN
call each way (``aten::mkldnn_rnn_layer`` and ``…_backward``): a much harder baseline than
nn.RNN; nn.GRU is still ATen's per-step loop (an addmm per step forward, mm's and elementwise
ops per step in autograd's backward), like nn.RNN. The bias split:
``bias_ih = b``, ``bias_hh = 0`` (LSTM) or ``[0, 0, bn]`` (GRU: bn sits inside r ⊙ (…)). Id
inputs, as for Elman: ``E = Uᵀ`` (V, G·H) gathered, then either the loop of torch ops with
torch's equations and gate order (``loop``: per step one addmm ``xu[t] + h Wᵀ`` and the gate
ops) or ``nn.LSTM/GRU(G·H, H)`` with a frozen identity ``weight_ih`` (``identity``: two extra
(G·H)² GEMMs per step, forward and backward).

Gradients are reported in the library's layout (U (G·H, D) etc.; GRU's bn = bias_hh's n block).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from shapes import GATES, Shape

NAME = "torch"


MODULES = {"elman": "RNN", "lstm": "LSTM", "gru": "GRU"}


class TorchStep:
    def __init__(self, s: Shape, weights: dict, x: np.ndarray, y: np.ndarray, *,
                 update: bool = False, lr: float = 1e-4, ids_mode: str = "loop",
                 cell: str = "elman"):
        self.s, self.update, self.lr, self.ids_mode, self.cell = s, update, lr, ids_mode, cell
        self.compile_seconds = None
        GH = GATES[cell] * s.H  # rows of U, W, b
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
        self.y = t(y).reshape(-1)
        self.x = t(x)
        self.linear = torch.nn.Linear(s.H, s.K)
        with torch.no_grad():
            self.linear.weight.copy_(t(weights["V"]))
            self.linear.bias.copy_(t(weights["c"]))
        self.bn = None
        if not s.ids:
            self.rnn = self._module(s.D)
            self._load_rnn(weights["U"], weights)
            self.params = list(self.rnn.parameters()) + list(self.linear.parameters())
            self._forward = self._forward_rnn
        elif ids_mode == "identity":
            self.E = torch.nn.Parameter(t(weights["U"].T.copy()))
            self.rnn = self._module(GH)
            self._load_rnn(np.eye(GH, dtype=np.float32), weights)
            self.rnn.weight_ih_l0.requires_grad_(False)
            self.params = [self.E, self.rnn.weight_hh_l0, self.rnn.bias_ih_l0,
                           self.rnn.bias_hh_l0] + list(self.linear.parameters())
            self._forward = self._forward_ids_identity
        elif ids_mode == "loop":
            self.E = torch.nn.Parameter(t(weights["U"].T.copy()))
            self.W = torch.nn.Parameter(t(weights["W"]))
            self.b = torch.nn.Parameter(t(weights["b"]))
            self.params = [self.E, self.W, self.b] + list(self.linear.parameters())
            if cell == "gru":
                self.bn = torch.nn.Parameter(t(weights["bn"]))
                self.params.append(self.bn)
            self._forward = {"elman": self._forward_ids_loop, "lstm": self._forward_ids_loop_lstm,
                             "gru": self._forward_ids_loop_gru}[cell]
        else:
            raise ValueError(f"ids_mode must be 'loop' or 'identity', got {ids_mode!r}")
        self.opt = torch.optim.SGD(self.params, lr=lr) if update else None

    def _module(self, input_size):
        kw = {"nonlinearity": "tanh"} if self.cell == "elman" else {}
        return getattr(torch.nn, MODULES[self.cell])(input_size, self.s.H, **kw)

    def _load_rnn(self, U, weights):
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(torch.from_numpy(U))
            self.rnn.weight_hh_l0.copy_(torch.from_numpy(weights["W"]))
            self.rnn.bias_ih_l0.copy_(torch.from_numpy(weights["b"]))
            self.rnn.bias_hh_l0.zero_()
            if self.cell == "gru":
                self.rnn.bias_hh_l0[2 * self.s.H:] = torch.from_numpy(weights["bn"])

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

    def _forward_ids_loop_lstm(self):  # torch.nn.LSTM's equations, gate order i, f, g, o
        xu = F.embedding(self.x, self.E) + self.b  # (T, B, 4H)
        Wt = self.W.t()
        h = c = xu.new_zeros(self.s.B, self.s.H)
        hs = []
        for t in range(self.s.T):
            i, f, g, o = torch.addmm(xu[t], h, Wt).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        return torch.stack(hs)

    def _forward_ids_loop_gru(self):  # torch.nn.GRU's equations, gate order r, z, n
        H = self.s.H
        xu = F.embedding(self.x, self.E) + self.b  # (T, B, 3H)
        Wt = self.W.t()
        bq = torch.cat([self.bn.new_zeros(2 * H), self.bn])  # bias_hh = [0, 0, bn]
        h = xu.new_zeros(self.s.B, H)
        hs = []
        for t in range(self.s.T):
            q = torch.addmm(bq, h, Wt)
            r, z = torch.sigmoid(xu[t, :, :2 * H] + q[:, :2 * H]).chunk(2, 1)
            n = torch.tanh(xu[t, :, 2 * H:] + r * q[:, 2 * H:])
            h = n + z * (h - n)
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
        if self.cell == "gru":  # bn: bias_hh's n block
            out["bn"] = g(self.bn) if self.bn is not None else g(self.rnn.bias_hh_l0)[2 * self.s.H:].copy()
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
