"""Initialisation schemes for one layer's U (H, D_in), W (H, H), b (H,) and the head V (K, H_top), c (K,).

uniform     every weight and bias ~ U(−k, k), k = 1/√fan_in: torch's nn.RNN (k = 1/√H) and
            nn.Linear (k = 1/√H_top) defaults. (torch has two recurrent biases; ours is one.)
xavier      Glorot uniform U(−a, a), a = √(6 / (fan_in + fan_out)) for U, W, V; biases 0.
orthogonal  W a random orthogonal matrix (QR of a Gaussian, signs fixed), U and V Glorot; biases 0.
identity    W = I, U and V ~ N(0, 0.001²), biases 0: the IRNN recipe (Le, Jaitly & Hinton 2015)
            for relu RNNs, which starts with every singular value of W at 1.
"""
from __future__ import annotations

import numpy as np

SCHEMES = ("uniform", "xavier", "orthogonal", "identity")


def _glorot(rng, shape):
    a = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-a, a, size=shape)


def _orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))  # sign fix makes q Haar-distributed


def layer(scheme: str, rng: np.random.Generator, H: int, D_in: int) -> dict:
    """{U (H, D_in), W (H, H), b (H,)} in float64 (the model casts)."""
    if scheme == "uniform":
        k = 1 / np.sqrt(H)
        return {"U": rng.uniform(-k, k, (H, D_in)), "W": rng.uniform(-k, k, (H, H)), "b": rng.uniform(-k, k, H)}
    if scheme == "identity":
        return {"U": rng.normal(0, 1e-3, (H, D_in)), "W": np.eye(H), "b": np.zeros(H)}
    W = _orthogonal(rng, H) if scheme == "orthogonal" else _glorot(rng, (H, H))
    return {"U": _glorot(rng, (H, D_in)), "W": W, "b": np.zeros(H)}


def head(scheme: str, rng: np.random.Generator, K: int, H_top: int) -> dict:
    """{V (K, H_top), c (K,)} in float64."""
    if scheme == "uniform":
        k = 1 / np.sqrt(H_top)
        return {"V": rng.uniform(-k, k, (K, H_top)), "c": rng.uniform(-k, k, K)}
    if scheme == "identity":
        return {"V": rng.normal(0, 1e-3, (K, H_top)), "c": np.zeros(K)}
    return {"V": _glorot(rng, (K, H_top)), "c": np.zeros(K)}
