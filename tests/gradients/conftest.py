"""Helpers for the gradient-method tests, as session fixtures (conftest modules are not imported
by name). Everything here is independent of the library's own helpers.

gcase        a random small float64 configuration + batch, from named options or a seed
grel         max|a − b| / max|b| per array (the comparison the issue asks for)
torch_tbptt  BPTT(k1, k2) written plainly in torch: re-run each update's graph and .detach()
             the state at τ − k2; autograd does the rest
torch_chunks the common "detach every chunk" idiom (k1 = k2 = k), carried state, in torch
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import bptt

HEADS = {
    "softmax+ce": ("softmax", "cross_entropy"),
    "sigmoid+bce": ("sigmoid", "bce"),
    "identity+mse": ("identity", "mse"),
    "softmax+mse": ("softmax", "mse"),
    "sigmoid+mse": ("sigmoid", "mse"),
    "tanh+mse": ("tanh", "mse"),
    "relu+mse": ("relu", "mse"),
}
ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")


@dataclass
class GCase:
    net: bptt.RNN
    x: np.ndarray
    y: np.ndarray
    mask: object
    h0: np.ndarray | None
    lengths: np.ndarray | None

    @property
    def args(self):
        return (self.x, self.y, self.mask, self.h0, self.lengths)

    def full_mask(self) -> np.ndarray:
        """The loss weights m (T, B) as a float array (mask=None → ones, "last" → one per row),
        times the active steps; without the 1/B."""
        T, B = self.x.shape[:2]
        lens = np.full(B, T) if self.lengths is None else np.asarray(self.lengths)
        active = np.arange(T)[:, None] < lens[None, :]
        if isinstance(self.mask, str):
            m = np.zeros((T, B))
            m[lens - 1, np.arange(B)] = 1.0
        else:
            m = np.ones((T, B)) if self.mask is None else np.asarray(self.mask, dtype=np.float64)
        return m * active

    def full_y(self) -> np.ndarray:
        """y with a time axis (mask="last" targets moved to each row's last step)."""
        if not isinstance(self.mask, str):
            return self.y
        T, B = self.x.shape[:2]
        lens = np.full(B, T) if self.lengths is None else np.asarray(self.lengths)
        y = np.zeros((T,) + self.y.shape, dtype=self.y.dtype)
        y[lens - 1, np.arange(B)] = self.y
        return y


def _gcase(activation="tanh", head="softmax+ce", *, T=5, B=3, D=3, H=4, K=3, layers=1,
           bidirectional=False, ids=False, h0=False, lengths=False, mask=None, seed=0,
           scale=1.5) -> GCase:
    """mask: None, "last" (many-to-one) or "float" (random non-negative weights, some zeros).
    scale multiplies the initial parameters so the nonlinearity is exercised."""
    output, loss = HEADS[head]
    rng = np.random.default_rng(7000 + seed)
    net = bptt.RNN(D, H, K, activation=activation, output=output, loss=loss, num_layers=layers,
                   bidirectional=bidirectional, seed=seed, dtype=np.float64)
    net.params = {k: p * scale for k, p in net.params.items()}
    x = rng.integers(0, D, size=(T, B)) if ids else rng.standard_normal((T, B, D))
    lens = None
    if lengths:
        lens = rng.integers(1, T + 1, size=B)
        lens[0] = T  # someone runs to the end
        if B > 1 and T > 1:
            lens[1] = rng.integers(1, T)  # someone is padded
    y_shape = (B,) if mask == "last" else (T, B)
    if loss == "cross_entropy":
        y = rng.integers(0, K, size=y_shape)
    elif loss == "bce":
        y = rng.uniform(0, 1, size=y_shape + (K,))
    else:
        y = rng.standard_normal(y_shape + (K,))
    m = mask
    if mask == "float":
        m = rng.uniform(0, 2, size=(T, B)) * (rng.uniform(size=(T, B)) > 0.25)
    h0_ = rng.standard_normal((layers * (2 if bidirectional else 1), B, H)) * 0.5 if h0 else None
    return GCase(net, x, y, m, h0_, lens)


def _grel(a, b) -> float:
    """max|a − b| / max|b|; if b is all zero, max|a| itself."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = np.max(np.abs(b)) if b.size else 0.0
    diff = np.max(np.abs(a - b)) if a.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


# ------------------------------------------------------------------------------ torch oracles
def _torch_setup(net, case: GCase):
    import torch

    P = {k: torch.tensor(p, requires_grad=True) for k, p in net.params.items()}
    x = np.asarray(case.x)
    T, B = x.shape[:2]
    ids = x.ndim == 2
    xt = torch.tensor(x) if ids else torch.tensor(x, requires_grad=True)
    L, H = net.num_layers, net.hidden_size
    h0 = torch.zeros(L, B, H, dtype=torch.float64) if case.h0 is None else torch.tensor(case.h0)
    h0.requires_grad_(True)
    lens = np.full(B, T) if case.lengths is None else np.asarray(case.lengths)
    active = torch.tensor(np.arange(T)[:, None] < lens[None, :])
    w = torch.tensor(case.full_mask() / B)
    return P, xt, ids, h0, active, w, torch.tensor(case.full_y())


def _torch_step(net, P, h, x_s, ids, active_s):
    """One step of every layer: z = x Uᵀ + h Wᵀ + b, h = f(z), frozen where not active."""
    import torch

    f = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda z: z}[net.activation]
    inp, out = x_s, []
    for l in range(net.num_layers):
        sfx = str(l + 1) if l else ""
        U, W, b = P["U" + sfx], P["W" + sfx], P["b" + sfx]
        proj = U.T[inp] if (ids and l == 0) else inp @ U.T
        h_l = torch.where(active_s[:, None], f(proj + h[l] @ W.T + b), h[l])
        out.append(h_l)
        inp = h_l
    return out


def _torch_step_loss(net, P, h_top, y_s, w_s):
    """Σ_b w_b L(ŷ_b, y_b) at one step, from the torch formulas."""
    import torch
    import torch.nn.functional as F

    o = h_top @ P["V"].T + P["c"]
    g = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda z: z,
         "softmax": lambda z: torch.softmax(z, dim=-1)}[net.head.output]
    if net.head.loss == "cross_entropy":
        per = F.cross_entropy(o, y_s, reduction="none")
    elif net.head.loss == "bce":
        per = F.binary_cross_entropy_with_logits(o, y_s, reduction="none").sum(-1)
    else:
        per = 0.5 * ((g(o) - y_s) ** 2).sum(-1)
    return (w_s * per).sum()


def _result(net, P, xt, ids, h0, loss):
    return dict(loss=loss, grads={k: p.grad.numpy().copy() for k, p in P.items()},
                dh0=h0.grad.numpy().copy(), dx=None if ids else xt.grad.numpy().copy())


def _torch_tbptt(net, case: GCase, k1: int, k2: int) -> dict:
    """BPTT(k1, k2) by definition: for each update τ (k1, 2k1, …, T), rebuild the graph of
    steps 1…τ, .detach() every layer's state h_{τ−k2}, and backward the losses of (τ−k1, τ].
    Gradients accumulate over the updates in the leaves' .grad (θ fixed)."""
    P, xt, ids, h0, active, w, y = _torch_setup(net, case)
    T = xt.shape[0]
    taus = list(range(k1, T, k1)) + [T]
    total, prev = 0.0, 0
    for tau in taus:
        h = [h0[l] for l in range(net.num_layers)]
        loss = 0.0
        for s in range(1, tau + 1):
            if s - 1 == tau - k2 and s > 1:  # h_{τ−k2} is a constant (h_0 itself is kept)
                h = [hl.detach() for hl in h]
            h = _torch_step(net, P, h, xt[s - 1], ids, active[s - 1])
            if s > prev:  # only the losses since the previous update are injected
                loss = loss + _torch_step_loss(net, P, h[-1], y[s - 1], w[s - 1])
        if isinstance(loss, float):
            continue
        loss.backward()
        total += loss.item()
        prev = tau
    return _result(net, P, xt, ids, h0, total)


def _torch_chunks(net, case: GCase, k: int) -> dict:
    """The everyday idiom: chunks of k steps, the carried state detached at each boundary,
    one backward per chunk."""
    P, xt, ids, h0, active, w, y = _torch_setup(net, case)
    T = xt.shape[0]
    h = [h0[l] for l in range(net.num_layers)]
    total = 0.0
    for start in range(0, T, k):
        if start:
            h = [hl.detach() for hl in h]
        loss = 0.0
        for s in range(start, min(T, start + k)):
            h = _torch_step(net, P, h, xt[s], ids, active[s])
            loss = loss + _torch_step_loss(net, P, h[-1], y[s], w[s])
        loss.backward()
        total += loss.item()
    return _result(net, P, xt, ids, h0, total)


@pytest.fixture(scope="session")
def gcase():
    return _gcase


@pytest.fixture(scope="session")
def grel():
    return _grel


@pytest.fixture(scope="session")
def torch_tbptt():
    return _torch_tbptt


@pytest.fixture(scope="session")
def torch_chunks():
    return _torch_chunks
