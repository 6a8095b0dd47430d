"""Shared helpers for the core tests, exposed as session fixtures (conftest modules are not
imported by name; a session scope keeps them usable inside hypothesis tests).

make_case   a small random configuration + batch (float64 unless told), every mapping
torch_loop  an independent autograd re-implementation of F1–F4 and L1 in torch (float64)
rel_err     max|a − b| / max|b|, the oracle comparison
fd_err      max|a − n| / max(max|a|, max|n|), the gradcheck norm
fd_grad     central differences of net.loss for one parameter
fd_array    central differences of any scalar function of one array (perturbed in place)
gcase       a small float64 case for the gradient-method tests (tests/gradients), with full_mask, full_y
torch_tbptt BPTT(k1, k2) written plainly in torch: re-run each update's graph and .detach()
            the state at τ − k2; autograd does the rest
torch_chunks the common "detach every chunk" idiom (k1 = k2 = k), carried state, in torch
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

import bptt

# Every head the library offers: (output, loss). Three fused, four through the output Jacobian.
HEADS = {
    "softmax+ce": ("softmax", "cross_entropy"),
    "sigmoid+bce": ("sigmoid", "bce"),
    "identity+mse": ("identity", "mse"),
    "softmax+mse": ("softmax", "mse"),
    "sigmoid+mse": ("sigmoid", "mse"),
    "tanh+mse": ("tanh", "mse"),
    "relu+mse": ("relu", "mse"),
}
KINK = 1e-4  # relu: every pre-activation must be at least this far from 0 for a gradcheck


# ------------------------------------------------------------------------------------ cases
@dataclass
class Case:
    """A model and one batch; ``args`` is (x, y, mask, h0, lengths) as the public API takes it."""

    net: bptt.RNN
    x: np.ndarray
    y: np.ndarray
    mask: object = None
    h0: np.ndarray | None = None
    lengths: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def args(self):
        return (self.x, self.y, self.mask, self.h0, self.lengths)


def _make_case(activation="tanh", head="softmax+ce", mapping="many-to-many", *, T=4, B=2, D=3,
               H=3, K=3, layers=1, bidirectional=False, ids=False, h0=False, lengths=False,
               mask=None, seed=0, dtype=np.float64, init="uniform", scale=1.0, cell="elman",
               proj_size=None, forget_bias=None) -> Case:
    """A random configuration. mapping: many-to-many, many-to-one, one-to-many, variable-lengths; lengths=True adds random lengths (at least
    one < T) to any mapping; mask="float" draws non-negative float weights (with some zeros);
    scale multiplies every initial parameter (larger: the nonlinearity works harder).
    cell, proj_size, forget_bias: as bptt.RNN; h0=True draws every part of the state (an LSTM's
    h0 is then the pair (h0, c0))."""
    output, loss = HEADS[head]
    rng = np.random.default_rng(1000 + seed)
    net = bptt.RNN(D, H, K, activation=activation, output=output, loss=loss, num_layers=layers,
                   bidirectional=bidirectional, init=init, seed=seed, dtype=np.float64, cell=cell,
                   proj_size=proj_size, forget_bias=forget_bias)
    if scale != 1.0:
        net.params = {k: p * scale for k, p in net.params.items()}
    if ids:
        x = rng.integers(0, D, size=(T, B))
    elif mapping == "one-to-many":
        x = bptt.one_to_many(rng.standard_normal((B, D)), T)
    else:
        x = rng.standard_normal((T, B, D))
    lens = None
    if mapping == "variable-lengths" or lengths:
        lens = rng.integers(1, T + 1, size=B)
        if T > 1 and lens.min() == T:
            lens[0] = rng.integers(1, T)  # at least one sequence is padded
    last = mapping == "many-to-one"
    y_shape = (B,) if last else (T, B)
    y = _draw_targets(rng, loss, y_shape, K)
    if last:
        m = "last"
    elif mask == "float":
        m = rng.uniform(0, 2, size=(T, B)) * (rng.uniform(size=(T, B)) > 0.2)
    else:
        m = mask
    h0_ = None
    if h0:  # (L·dirs, B, H) for Elman: the same draw as before the cells had several state parts
        parts = tuple(rng.standard_normal(shape) * 0.5 for shape in net.state_shapes(B))
        h0_ = parts[0] if len(parts) == 1 else parts
    case = Case(net, x, y, m, h0_, lens, meta=dict(mapping=mapping, seed=seed))
    if dtype != np.float64:
        case.net = net.astype(dtype)
    return case


def _draw_targets(rng, loss, shape, K):
    """Targets for ``loss``: class ids of ``shape``, or (shape + (K,)) probabilities (bce) or
    normals (mse)."""
    if loss == "cross_entropy":
        return rng.integers(0, K, size=shape)
    if loss == "bce":
        return rng.uniform(0, 1, size=shape + (K,))
    return rng.standard_normal(shape + (K,))


def _kink_free_case(**kwargs) -> Case:
    """make_case, moving to the next seed until no relu pre-activation (hidden or output) lies
    within KINK of 0, so central differences never straddle a kink. Deterministic."""
    seed = kwargs.pop("seed", 0)
    for s in range(seed, seed + 200):
        case = _make_case(seed=s, **kwargs)
        if _min_abs_kink(case) >= KINK:
            return case
    raise AssertionError("no kink-free seed found")


def _min_abs_kink(case: Case) -> float:
    """The smallest |z| over every relu the loss depends on (inf if there is none)."""
    if "relu" not in (case.net.activation, case.net.head.output):
        return np.inf
    ref = _torch_loop(case.net, *case.args)
    zs = []
    if case.net.activation == "relu":
        zs.append(ref["min_abs_z"])
    if case.net.head.output == "relu":
        zs.append(ref["min_abs_o"])
    return min(zs, default=np.inf)


# ------------------------------------------------------------------------------- the oracle
def _torch_loop(net, x, y, mask=None, h0=None, lengths=None, input_grad=False):
    """F1–F4 and L1 written plainly in torch (float64), differentiated by autograd.

    Independent of the library's helpers: its own reverse order, masks and losses. Returns
    loss, grads (the names of net.params), dh0, dx, y_hat, h (top states), h_n, min_abs_z
    (over valid steps of every layer), min_abs_o (over rows carrying a loss) and min_slope:
    the smallest derivative the backward forms as "1 − (a number near 1)" — 1 − h² (tanh),
    h(1 − h) (sigmoid), 1 − max ŷ (softmax) — where float64 keeps only ~1e-16/slope of relative
    accuracy in ANY implementation (inf when there is none)."""
    import torch
    import torch.nn.functional as F

    f64 = torch.float64
    acts = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda z: z}
    outs = {**acts, "softmax": lambda o: torch.softmax(o, dim=-1)}
    P = {k: torch.tensor(np.asarray(p, dtype=np.float64), requires_grad=True) for k, p in net.params.items()}
    x = np.asarray(x)
    T, B = x.shape[:2]
    H, L, dirs = net.hidden_size, net.num_layers, net.num_directions
    ids = x.ndim == 2
    xt = torch.tensor(x) if ids else torch.tensor(x.astype(np.float64), requires_grad=True)
    h0t = torch.zeros(L * dirs, B, H, dtype=f64) if h0 is None else torch.tensor(np.asarray(h0, np.float64))
    h0t.requires_grad_(True)
    lens = np.full(B, T) if lengths is None else np.asarray(lengths)
    active = torch.tensor(np.arange(T)[:, None] < lens[None, :])  # (T, B)
    # reverse direction: step s reads position len−1−s while s < len, padding stays in place
    rev = torch.tensor([list(range(n))[::-1] + list(range(n, T)) for n in lens]).T  # (T, B)
    cols = torch.arange(B)
    layer_in, h_n, zs, slopes = xt, [], [], []
    for layer in range(L):
        states = []
        for d in range(dirs):
            sfx = (str(layer + 1) if layer else "") + ("_rev" if d else "")
            U, W, b = P["U" + sfx], P["W" + sfx], P["b" + sfx]
            seq = layer_in[rev, cols] if d else layer_in
            h, hs = h0t[layer * dirs + d], []
            for s in range(T):
                proj = U.T[seq[s]] if (ids and layer == 0) else seq[s] @ U.T
                z = proj + h @ W.T + b  # (F1)
                zs.append(z.detach()[active[s]].abs())
                slopes.append(_slope(net.activation, acts[net.activation](z.detach())[active[s]]))
                h = torch.where(active[s][:, None], acts[net.activation](z), h)  # (F2), (F3)
                hs.append(h)
            S = torch.stack(hs)
            states.append(S[rev, cols] if d else S)
            h_n.append(h)
        layer_in = torch.cat(states, dim=-1)
    o = layer_in @ P["V"].T + P["c"]  # (F4)
    g, lossname = net.head.output, net.head.loss
    y_hat = outs[g](o)
    last = isinstance(mask, str)
    y = np.asarray(y)
    if last:
        y_full = np.zeros((T,) + y.shape, dtype=y.dtype)
        y_full[lens - 1, np.arange(B)] = y
        y = y_full
        m = np.zeros((T, B))
        m[lens - 1, np.arange(B)] = 1.0
    else:
        m = np.ones((T, B)) if mask is None else np.asarray(mask, dtype=np.float64)
    m = torch.tensor(m) * active / B
    if lossname == "cross_entropy":
        per = -torch.log_softmax(o, dim=-1).gather(-1, torch.tensor(y)[..., None])[..., 0]
    elif lossname == "bce":
        per = F.binary_cross_entropy_with_logits(o, torch.tensor(y, dtype=f64), reduction="none").sum(-1)
    else:
        per = 0.5 * ((y_hat - torch.tensor(y, dtype=f64)) ** 2).sum(-1)
    loss = (m * per).sum()  # (L1)
    loss.backward()
    carry = (m > 0)
    min_abs_z = float(torch.cat([z.reshape(-1) for z in zs]).min()) if zs else np.inf
    min_abs_o = float(o.detach()[carry].abs().min()) if carry.any() else np.inf
    if carry.any():
        slopes.append(_slope(g, y_hat.detach()[carry]))
    min_slope = min(slopes, default=np.inf)
    return dict(
        loss=loss.item(), grads={k: p.grad.numpy() for k, p in P.items()}, dh0=h0t.grad.numpy(),
        dx=None if ids else xt.grad.numpy(), y_hat=y_hat.detach().numpy(), h=layer_in.detach().numpy(),
        h_n=torch.stack(h_n).detach().numpy(), min_abs_z=min_abs_z, min_abs_o=min_abs_o,
        min_slope=min_slope,
    )


def _slope(name, a) -> float:
    """min of the derivative that is computed from an output close to its saturation value."""
    if a.numel() == 0:
        return np.inf
    if name == "tanh":
        return float((1 - a * a).min())
    if name == "sigmoid":
        return float((a * (1 - a)).min())
    if name == "softmax":
        return float((1 - a.max(dim=-1).values).min()) if a.shape[-1] > 1 else np.inf
    return np.inf


# ---------------------------------------------------------------------------------- errors
def _rel_err(a, b) -> float:
    """max|a − b| / max|b| (the oracle norm); if b is all zero, max|a| itself."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = np.max(np.abs(b)) if b.size else 0.0
    diff = np.max(np.abs(a - b)) if a.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


def _fd_err(a, n) -> float:
    """max|a − n| / max(max|a|, max|n|): bptt.gradcheck's per-parameter error."""
    a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
    assert a.shape == n.shape, (a.shape, n.shape)
    scale = max(np.max(np.abs(a)), np.max(np.abs(n)))
    diff = np.max(np.abs(a - n))
    return 0.0 if diff == 0 else float(diff / scale)


def _fd_grad(net, name, x, y, mask=None, h0=None, lengths=None, eps=1e-5, dropout_seed=None) -> np.ndarray:
    """Central differences of net.loss with respect to net.params[name] (every entry); the
    step ε = 1e-5 ≈ (3u)^(1/3) balances truncation and round-off (see test_gradcheck.py).
    dropout_seed: every loss draws its dropout masks from a Generator of this seed (fixed masks)."""
    def loss():
        rng = None if dropout_seed is None else np.random.default_rng(dropout_seed)
        return net.loss(x, y, mask, h0, lengths, dropout_rng=rng)

    return _fd_array(loss, net.params[name], eps)


def _fd_array(f, a, eps=1e-5) -> np.ndarray:
    """Central differences (f(a + εe_i) − f(a − εe_i)) / 2ε of a scalar function f() of the
    float64 array ``a`` for every entry (a is perturbed in place and restored)."""
    flat = a.reshape(-1)
    assert np.shares_memory(flat, a), "a must be contiguous: it is perturbed in place"
    out = np.empty(flat.size)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = f()
        flat[i] = saved - eps
        down = f()
        flat[i] = saved
        out[i] = (up - down) / (2 * eps)
    return out.reshape(a.shape)


# ------------------------------------------------------------------ the seeds' errata
def _reference_bptt(p, x, h, d_o, fprime):
    """(B1)–(B5), (B8) for one layer, plainly: p {U, W, b, V, c}; x (T, B, D) floats;
    h (T+1, B, H) with h[0] = h_0; d_o (T, B, K) = ∂L/∂o_t; fprime (T, B, H) = f'(z_t).
    Returns (grads, deltas (T, B, H)). The errata tests swap one ingredient for a seed's."""
    T = d_o.shape[0]
    g = {k: np.zeros_like(v) for k, v in p.items()}
    deltas = np.zeros(h[1:].shape)
    dh_next = np.zeros_like(h[0])
    for t in reversed(range(T)):
        g["V"] += d_o[t].T @ h[t + 1]  # (B8)
        g["c"] += d_o[t].sum(0)
        dh = d_o[t] @ p["V"] + dh_next  # (B1)
        deltas[t] = dh * fprime[t]  # (B2)
        g["W"] += deltas[t].T @ h[t]  # (B3)
        g["U"] += deltas[t].T @ x[t]  # (B4)
        g["b"] += deltas[t].sum(0)  # (B5)
        dh_next = deltas[t] @ p["W"]
    return g, deltas


@dataclass
class Errata:
    """One float64 layer and batch (no h0; every step carries a loss, or only the last with
    last=True) with what the errata tests need: states h (T+1, B, H), ŷ (T, B, K), targets
    Y (T, B, K) (one-hot for cross-entropy, zero where no loss), loss weights m (T, B) = 1/B
    where a step carries a loss, the library's gradient ``ours`` and central differences ``fd``."""

    net: bptt.RNN
    x: np.ndarray
    y: np.ndarray
    mask: object
    Y: np.ndarray
    m: np.ndarray
    h: np.ndarray
    y_hat: np.ndarray
    ours: dict
    fd: dict

    @property
    def p(self):
        return self.net.params


def _errata_case(activation="tanh", head="softmax+ce", *, T=4, B=2, D=3, H=3, K=3, seed=0, last=False,
                 set_params=None):
    case = _make_case(activation, head, "many-to-one" if last else "many-to-many", T=T, B=B, D=D, H=H, K=K,
                      seed=seed)
    net = case.net
    for k, value in (set_params or {}).items():
        net.params[k] = np.asarray(value, dtype=np.float64).reshape(net.params[k].shape)
    out = net.forward(case.x)
    h = np.concatenate([np.zeros((1, B, H)), out.h])
    y = np.eye(K)[case.y] if net.head.loss == "cross_entropy" else case.y
    m = np.full((T, B), 1.0 / B)
    if last:
        y = np.concatenate([np.zeros((T - 1,) + y.shape), y[None]])
        m[:-1] = 0
    _, ours = net.loss_and_grad(case.x, case.y, case.mask)
    fd = {k: _fd_grad(net, k, case.x, case.y, case.mask) for k in net.params}
    return Errata(net, case.x, case.y, case.mask, y, m, h, out.y_hat, dict(ours), fd)


# --------------------------------------------------------------- the gradient-method cases


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
    y = _draw_targets(rng, loss, y_shape, K)
    m = mask
    if mask == "float":
        m = rng.uniform(0, 2, size=(T, B)) * (rng.uniform(size=(T, B)) > 0.25)
    h0_ = rng.standard_normal((layers * (2 if bidirectional else 1), B, H)) * 0.5 if h0 else None
    return GCase(net, x, y, m, h0_, lens)


# ------------------------------------------------------------- torch oracles of BPTT(k1, k2)
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


def _torch_trained(rnn, linear, opt, x, y, steps=5):
    """Train torch's ``rnn`` + ``linear`` ``steps`` steps with ``opt`` on the library's loss
    L = (1/B) Σ_b Σ_t CE(softmax(linear(h_t)), y_t) (losses.py L1); return the loss at the
    trained parameters, its gradients in the modules (.grad), and the first step's loss."""
    import torch

    def loss():
        out = linear(rnn(x)[0])
        return torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1),
                                                 reduction="sum") / x.shape[1]
    first = None
    for _ in range(steps):
        opt.zero_grad()
        value = loss()
        value.backward()
        opt.step()
        first = value.item() if first is None else first
    opt.zero_grad()
    value = loss()
    value.backward()
    return value, first


def _expose(helper):
    """A session fixture, named like ``helper`` without its underscore, that returns it."""
    return pytest.fixture(scope="session", name=helper.__name__.lstrip("_"))(lambda: helper)


(reference_bptt, errata_case, make_case, kink_free_case, torch_loop, rel_err, fd_err, fd_grad, gcase,
 torch_tbptt, torch_chunks, torch_trained) = map(_expose, (
    _reference_bptt, _errata_case, _make_case, _kink_free_case, _torch_loop, _rel_err, _fd_err, _fd_grad,
    _gcase, _torch_tbptt, _torch_chunks, _torch_trained))


@pytest.fixture(scope="session")
def fd_array():
    return _fd_array


@pytest.fixture(scope="module", params=["numpy", "numba"])
def both_loops(request):
    """Run a module's tests twice: with the NumPy time loops of elman.py and with the compiled
    ones (bptt.compiled), whatever the batch size (``pytestmark = usefixtures("both_loops")``)."""
    from bptt import compiled

    if request.param == "numba":
        pytest.importorskip("numba")
    saved, compiled.MODE = compiled.MODE, request.param
    yield request.param
    compiled.MODE = saved


# ------------------------------------------------------------------ tiny data files for the trainer and the CLI
@pytest.fixture
def text_file(tmp_path):
    rng = np.random.default_rng(0)
    words = ["the ", "cat ", "sat ", "on ", "a ", "mat.\n", "dog ", "ran "]
    path = tmp_path / "tiny.txt"
    path.write_text("".join(rng.choice(words, size=600)), encoding="utf-8")
    return str(path)


@pytest.fixture
def sentiment_file(tmp_path):
    rng = np.random.default_rng(1)
    good, bad, filler = ["good", "great", "fine"], ["bad", "awful", "poor"], ["the", "movie", "was", "plot"]
    lines = []
    for i in range(120):
        label = i % 2
        words = list(rng.choice(filler, size=3)) + [str(rng.choice(good if label else bad))]
        lines.append(" ".join(rng.permutation(words)) + f"\t{label}")
    path = tmp_path / "sent.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)
