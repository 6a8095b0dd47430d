"""JAX CPU: the same RNN (Elman, LSTM or GRU), ``lax.scan`` over time inside
``jax.value_and_grad``, jitted.

Formulation (the idiomatic fast one, giving JAX the same algorithmic advantages as the
library): the input projection ``x Uᵀ + b`` is one GEMM over all T·B rows (for id inputs a
gather from ``E = Uᵀ`` (V, H), held in that layout, as an embedding table would be), only the
recurrence ``h_t = tanh(xu_t + h_{t-1} Wᵀ)`` is inside the scan, and the output projection
``h Vᵀ + c`` plus the log-softmax cross-entropy is one GEMM after it. With --update the SGD
update is fused into the same jitted function. Compilation (lower + compile) is timed
separately and reported as compile_seconds.

Gated cells, with torch's equations and gate order (shapes.py's G·H-row U, W, b): the scan
carries (h, c) for the LSTM, a = xu_t + h Wᵀ split into i, f, g, o,
c = σ(f) c + σ(i) tanh(g), h = σ(o) tanh(c); for the GRU q = h Wᵀ split into r, z, n blocks,
r, z = σ(xu_rz + q_rz), n = tanh(xu_n + r ⊙ (q_n + bn)), h = n + z ⊙ (h − n). Both start from
zero states.
"""
from __future__ import annotations

import time

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax

from shapes import Shape

NAME = "jax"


def _scan(cell: str, p, xu, B: int, H: int):
    """The recurrence over xu (T, B, G·H) = x_t Uᵀ + b; returns h_1 … h_T (T, B, H)."""
    W = p["W"]
    if cell == "elman":
        def step(h, xu_t):
            h = jnp.tanh(xu_t + h @ W.T)
            return h, h
        carry = jnp.zeros((B, H), xu.dtype)
    elif cell == "lstm":
        def step(hc, xu_t):
            h, c = hc
            i, f, g, o = jnp.split(xu_t + h @ W.T, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h
        carry = (jnp.zeros((B, H), xu.dtype), jnp.zeros((B, H), xu.dtype))
    elif cell == "gru":
        bn = p["bn"]

        def step(h, xu_t):
            q = h @ W.T
            r, z = jnp.split(jax.nn.sigmoid(xu_t[:, :2 * H] + q[:, :2 * H]), 2, axis=-1)
            n = jnp.tanh(xu_t[:, 2 * H:] + r * (q[:, 2 * H:] + bn))
            h = n + z * (h - n)
            return h, h
        carry = jnp.zeros((B, H), xu.dtype)
    else:
        raise ValueError(f"cell must be elman, lstm or gru, got {cell!r}")
    _, hs = lax.scan(step, carry, xu)
    return hs


def _build(s: Shape, update: bool, lr: float, cell: str = "elman"):
    def loss_fn(p, x, y):
        xu = (p["E"][x] if s.ids else x @ p["U"].T) + p["b"]  # (T, B, G·H)
        hs = _scan(cell, p, xu, s.B, s.H)  # (T, B, H)
        logits = hs @ p["V"].T + p["c"]  # (T, B, K)
        logp = jax.nn.log_softmax(logits, axis=-1)
        nll = -jnp.take_along_axis(logp, y[..., None], axis=-1)
        return jnp.sum(nll) / s.B

    grad_fn = jax.value_and_grad(loss_fn)
    if not update:
        return grad_fn

    def train_step(p, x, y):
        loss, g = grad_fn(p, x, y)
        return loss, jax.tree_util.tree_map(lambda a, ga: a - lr * ga, p, g)

    return train_step


class JaxStep:
    def __init__(self, s: Shape, weights: dict, x: np.ndarray, y: np.ndarray, *,
                 update: bool = False, lr: float = 1e-4, cell: str = "elman"):
        self.s, self.update = s, update
        p = dict(weights)
        if s.ids:
            p["E"] = np.ascontiguousarray(p.pop("U").T)
            x = x.astype(np.int32)  # jax's default integer width (x64 is off)
        self.p = {k: jnp.asarray(v) for k, v in p.items()}
        self.x = jnp.asarray(x)
        self.y = jnp.asarray(y.astype(np.int32))
        jitted = jax.jit(_build(s, update=False, lr=lr, cell=cell))
        t0 = time.perf_counter()
        self._grad = jitted.lower(self.p, self.x, self.y).compile()
        self.compile_seconds = time.perf_counter() - t0
        if update:
            jitted = jax.jit(_build(s, update=True, lr=lr, cell=cell), donate_argnums=0)
            t0 = time.perf_counter()
            self._train = jitted.lower(self.p, self.x, self.y).compile()
            self.compile_seconds = time.perf_counter() - t0  # the one that is timed

    def step(self) -> None:
        if self.update:
            loss, self.p = self._train(self.p, self.x, self.y)
            jax.block_until_ready((loss, self.p))
        else:
            jax.block_until_ready(self._grad(self.p, self.x, self.y))

    def loss_and_grads(self) -> tuple[float, dict[str, np.ndarray]]:
        loss, g = self._grad(self.p, self.x, self.y)
        g = {k: np.asarray(v) for k, v in g.items()}
        if self.s.ids:
            g["U"] = g.pop("E").T.copy()
        return float(loss), g


def make(s, weights, x, y, **kw):
    return JaxStep(s, weights, x, y, **kw)
