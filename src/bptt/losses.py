"""Output activation g and per-step loss L_t: values and ∂L/∂o, the gradient entering the head.

With o_t = h_t Vᵀ + c and ŷ_t = g(o_t), the batch loss is (design, "The loss")

    L = (1/B) Σ_b Σ_t m_{t,b} L_t(b)                                                  (L1)

This module sees only the rows (t, b) that carry a loss, flattened to N rows, with weights
w_n = m_{t,b} / B, so L = Σ_n w_n L(ŷ_n, y_n).

Canonical pairs, fused and numerically stable; each gives ∂L_t/∂o_t = ŷ_t − y_t      (L2)
    softmax  + cross_entropy  L_t = −log ŷ_{t,y_t}      computed as logsumexp(o) − o_y
    sigmoid  + bce            L_t = −Σ_k y log ŷ + (1−y) log(1−ŷ)
                                  = Σ_k softplus(o) − y o      (BCE with logits)
    identity + mse            L_t = ½ ‖ŷ_t − y_t‖²
Any other output with mse goes through the output Jacobian J = ∂ŷ/∂o:
    ∂L_t/∂o_t = Jᵀ (ŷ_t − y_t)                                                        (L3)
    J = diag(g'(o))              for elementwise g (tanh, relu, sigmoid, identity)
    J = diag(ŷ) − ŷ ŷᵀ           for softmax: dense, not just its diagonal ŷ(1−ŷ)     (L4)
cross_entropy needs a distribution over classes (softmax); bce needs ŷ in (0, 1) computed from
logits (sigmoid). Other pairs are rejected with a clear error rather than producing log(≤0).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import activations

OUTPUTS = ("softmax", "sigmoid", "identity", "tanh", "relu")
LOSSES = ("cross_entropy", "bce", "mse")
DEFAULT_LOSS = {"softmax": "cross_entropy", "sigmoid": "bce", "identity": "mse", "tanh": "mse", "relu": "mse"}
_ALLOWED = {"cross_entropy": ("softmax",), "bce": ("sigmoid",), "mse": OUTPUTS}
_FUSED = {("softmax", "cross_entropy"), ("sigmoid", "bce"), ("identity", "mse")}


def log_softmax(o: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, shifted by the max so exp never overflows."""
    shifted = o - o.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _nll(log_p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """−log p_{n, y_n} for log_p (N, K), y (N,) -> (N,)."""
    return -np.take_along_axis(log_p, y[:, None], axis=1)[:, 0]


def softmax(o: np.ndarray) -> np.ndarray:
    """softmax over the last axis (max-shifted)."""
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softplus(o: np.ndarray) -> np.ndarray:
    """log(1 + e^o) = max(o, 0) + log1p(e^{−|o|}), finite for any finite o."""
    return np.maximum(o, 0) + np.log1p(np.exp(-np.abs(o)))


def softmax_jacobian(y_hat: np.ndarray) -> np.ndarray:
    """The dense softmax Jacobian J[n, i, j] = ∂ŷ_i/∂o_j = ŷ_i (δ_ij − ŷ_j), eq. (L4); (N, K, K).
    Used by tests and docs; the backward applies it without materialising it (``vjp``)."""
    return np.einsum("ni,ij->nij", y_hat, np.eye(y_hat.shape[-1], dtype=y_hat.dtype)) - np.einsum(
        "ni,nj->nij", y_hat, y_hat
    )


@dataclass(frozen=True)
class Head:
    """The output activation g and the loss, as a pair; ``output`` ∈ OUTPUTS, ``loss`` ∈ LOSSES."""

    output: str
    loss: str

    @staticmethod
    def make(output: str, loss: str | None) -> "Head":
        """Validate the pair; ``loss=None`` takes the canonical loss of ``output``."""
        if not isinstance(output, str) or output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(map(repr, OUTPUTS))}; got {output!r}")
        loss = DEFAULT_LOSS[output] if loss is None else loss
        if not isinstance(loss, str) or loss not in LOSSES:
            raise ValueError(f"loss must be None or one of {', '.join(map(repr, LOSSES))}; got {loss!r}")
        if output not in _ALLOWED[loss]:
            raise ValueError(
                f"loss={loss!r} needs output in {_ALLOWED[loss]}, got output={output!r} "
                "(cross_entropy needs a softmax distribution, bce needs sigmoid logits; mse works with any output)"
            )
        return Head(output, loss)

    @property
    def integer_targets(self) -> bool:
        """True when targets are class ids (softmax + cross_entropy), else float (…, K)."""
        return self.loss == "cross_entropy"

    @property
    def fused(self) -> bool:
        """True for the canonical pairs, whose ∂L/∂o is ŷ − y, eq. (L2)."""
        return (self.output, self.loss) in _FUSED

    def predict(self, o: np.ndarray) -> np.ndarray:
        """ŷ = g(o), same shape as o (…, K)."""
        if self.output == "softmax":
            return softmax(o)
        return activations.apply(self.output, o)

    def per_row(self, o: np.ndarray, y: np.ndarray) -> np.ndarray:
        """L(ŷ_n, y_n) for each row: o (N, K), y (N,) ids or (N, K) floats -> (N,)."""
        if self.loss == "cross_entropy":  # logsumexp(o) − o_y, eq. (L2)
            return _nll(log_softmax(o), y)
        if self.loss == "bce":  # Σ_k softplus(o) − y o
            return (softplus(o) - y * o).sum(axis=1)
        diff = self.predict(o) - y  # ½ ‖ŷ − y‖²
        return 0.5 * np.einsum("nk,nk->n", diff, diff)

    def value(self, o: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
        """L = Σ_n w_n L(ŷ_n, y_n), eq. (L1)."""
        return float(np.dot(w, self.per_row(o, y)))

    def value_and_grad_inplace(self, o: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
        """L, with ``o`` (N, K) overwritten by ∂L/∂o; the head's inner loop runs it on row blocks
        small enough to stay in cache. Cross-entropy never allocates a (N, K) temporary:
        o − max, then exp in place, L = Σ w (log Σ e − (o − max)_y), ∂L/∂o = w (e / Σ e − onehot) (L2)."""
        if self.loss != "cross_entropy":
            loss, o[...] = self.value_and_grad(o, y, w)
            return loss
        rows = np.arange(len(y))
        o -= o.max(axis=1, keepdims=True)
        o_y = o[rows, y]
        np.exp(o, out=o)
        total = o.sum(axis=1)
        loss = float(np.dot(w, np.log(total) - o_y))
        o *= (w / total)[:, None]
        o[rows, y] -= w
        return loss

    def value_and_grad(self, o: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
        """(L, ∂L/∂o) for o (N, K), y (N,) or (N, K), w (N,); ∂L/∂o is (N, K)."""
        if self.loss == "cross_entropy":
            d_o = o.copy()
            return self.value_and_grad_inplace(d_o, y, w), d_o
        loss = self.value(o, y, w)
        y_hat = self.predict(o)
        d_o = y_hat - y if self.fused else self.vjp(y_hat, y_hat - y)  # eq. (L2) / (L3)
        d_o *= w[:, None]
        return loss, d_o

    def vjp(self, y_hat: np.ndarray, d_y_hat: np.ndarray) -> np.ndarray:
        """Jᵀ v for the output activation: (N, K) -> (N, K), eq. (L3)/(L4).

        softmax: Jᵀ v = ŷ ⊙ (v − ⟨ŷ, v⟩), the product with the dense diag(ŷ) − ŷŷᵀ (symmetric)."""
        if self.output == "softmax":
            return y_hat * (d_y_hat - np.einsum("nk,nk->n", y_hat, d_y_hat)[:, None])
        return activations.derivative_from_output(self.output, y_hat) * d_y_hat
