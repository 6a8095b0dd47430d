r"""One LSTM layer, one direction, over a whole sequence: forward and its BPTT backward, computing
exactly what ``torch.nn.LSTM`` computes (with ``proj_size``: torch's LSTMP).

Notation of the design (rows are batch items, as in elman.py): x_t (B, D) or ids (B,); H the
cell width; h_t has width P (proj_size) or H; the gates are stacked in torch's order i, f, g, o:
U (4H, D) = weight_ih, W (4H, P|H) = weight_hh, b (4H,) = bias_ih + bias_hh (ONE bias: the
equations only ever see the sum), R (P, H) = weight_hr when proj_size P > 0. A (B, 4H) array
a = [a_i a_f a_g a_o] holds one block of H columns per gate.

Forward, for t = 1 … T, from (h_0, c_0):
    a_t = x_t Uᵀ + h_{t−1} Wᵀ + b                                                   (F1)
          (recurrent dropout: (h_{t−1} ⊙ ρ) Wᵀ, ρ (B, P|H) the layer's mask, dropout.py
          DR3; c_{t−1}'s path is not dropped)
    i_t = σ(a_i),  f_t = σ(a_f),  g_t = tanh(a_g),  o_t = σ(a_o)                      (F2)
    c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t                                                 (F3)
    m_t = o_t ⊙ tanh(c_t)                                                           (F4)
    h_t = m_t,  or with proj_size P:  h_t = m_t Rᵀ                                   (F5)
With variable lengths, a_{t,b} = [t ≤ len_b] (written α below, not to clash with the
pre-activation a), BOTH parts of the state are frozen past the end (elman.py F3):
    h_t = α_t h_t + (1 − α_t) h_{t−1},   c_t = α_t c_t + (1 − α_t) c_{t−1}            (F6)
The head (model.py) reads h_t as for Elman (elman.py F4).

Backward. G_t = ∂L/∂h_t through everything except step t+1 (the head, or the layer above);
∂L/∂h_T, ∂L/∂c_T from outside (zero unless a decoder reads the final state). δa_t = ∂L/∂a_t
(B, 4H) = [δi δf δg δo], zero in frozen rows (α_t = 0):
    ∂L/∂h_t = G_t + δa_{t+1} W   (frozen rows: + (1 − α_{t+1}) ∂L/∂h_{t+1}, by F6)     (B1)
    ∂L/∂m_t = ∂L/∂h_t,  or with proj_size: ∂L/∂h_t R                                (B2)
    ∂L/∂c_t = ∂L/∂c_t|_{c_{t+1}} + ∂L/∂m_t ⊙ o_t ⊙ (1 − tanh²(c_t))                  (B3)
              (the first term is (B7) of step t+1; F4 is the second path, active rows only)
    δo_t = ∂L/∂m_t ⊙ tanh(c_t) ⊙ o_t (1 − o_t)                                       (B4)
    δi_t = ∂L/∂c_t ⊙ g_t ⊙ i_t (1 − i_t),   δf_t = ∂L/∂c_t ⊙ c_{t−1} ⊙ f_t (1 − f_t),
    δg_t = ∂L/∂c_t ⊙ i_t ⊙ (1 − g_t²)                  (all times α_t)               (B5)
    ∂L/∂h_{t−1} ∋ δa_t W        the ONLY product of the loop: (B, 4H) × (4H, P|H)      (B6)
                  (recurrent dropout: (δa_t W) ⊙ ρ, before the frozen rows' pass-through, DR4)
    ∂L/∂c_{t−1} = ∂L/∂c_t ⊙ f_t   (frozen rows: ∂L/∂c_t itself, by F6)               (B7)
After the loop, one GEMM or sum each over all T·B rows:
    ∂L/∂W = Σ_t δa_tᵀ h_{t−1}     (recurrent dropout: h_{t−1} ⊙ ρ, DR4)             (B8)
    ∂L/∂U = Σ_t δa_tᵀ x_t     (ids: scatter-add, elman.input_weight_grad)          (B9)
    ∂L/∂b = Σ_t δa_t          (= torch's bias_ih.grad = bias_hh.grad)               (B10)
    ∂L/∂R = Σ_t α_t (∂L/∂h_t)ᵀ m_t                    (proj_size only)              (B11)
    ∂L/∂x_t = δa_t U                                                                (B12)
    ∂L/∂h_0, ∂L/∂c_0 = (B1) and (B7) at t = 0: what the loop carries out             (B13)

Speed (perf notes). All T input projections are ONE GEMM (or one gather for ids) before the
loop, written straight into the gate buffer; each step does h_{t−1} Wᵀ (a contiguous copy of
Wᵀ), ONE tanh over the whole (B, 4H) row, through the identity
    σ(a) = (1 + tanh(a/2)) / 2                                                      (F2')
with the i, f, o columns of U, W, b halved once per forward (exact: a power of two), and
in-place elementwise ops on preallocated buffers. Backward: every factor of (B3)–(B5) that does
not depend on the carried ∂L/∂c_t, ∂L/∂m_t (e.g. g ⊙ i(1 − i)) is formed for all T at once
before the loop, so a step is one product (B6), three in-place multiplies and two adds. With
proj_size, ∂L/∂m_t = ∂L/∂h_t R (B2) is a second product in the loop: it sits inside the
recursion (∂L/∂c_t needs it before δa_t exists), so it cannot be hoisted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import dropout
from .. import init as inits
from .elman import input_weight_grad, no_cell_options

GATES = ("i", "f", "g", "o")  # torch's order of the four blocks of U, W, b


@dataclass
class Cache:
    """What the backward needs from the forward. x: (T, B, D) float or (T, B) int64 ids;
    gates: (T, B, 4H) the activated [i f g o]; c: (T+1, B, H), c[0] = c_0; tc: (T, B, H) =
    tanh(c_t) (of the unfrozen c_t); h: (T+1, B, P|H), h[0] = h_0; m: (T, B, H) = o ⊙ tanh(c_t)
    with proj_size, else None (m_t = h_t); active: (T, B) bool or None; rmask: (B, P|H) ρ of
    (DR3), or None (no recurrent dropout)."""

    x: np.ndarray
    gates: np.ndarray
    c: np.ndarray
    tc: np.ndarray
    h: np.ndarray
    m: np.ndarray | None
    active: np.ndarray | None
    rmask: np.ndarray | None = None


def _halves(H: int, dtype) -> np.ndarray:
    """(4H,): 1/2 on the i, f, o columns, 1 on g's: the scaling of (F2')."""
    s = np.full(4 * H, 0.5, dtype=dtype)
    s[2 * H:3 * H] = 1
    return s


def forward(x, h0, c0, U, W, b, R=None, active=None, rmask=None):
    """Run (F1)–(F6) over all T steps.

    x: (T, B, D) float or (T, B) ids in [0, D); h0 (B, P|H), c0 (B, H); U (4H, D), W (4H, P|H),
    b (4H,), R (P, H) or None; active: (T, B) bool or None; rmask: (B, P|H) ρ (DR3) or None.
    Returns the Cache (h[1:] are the outputs h_1 … h_T, h[-1], c[-1] the final state)."""
    T, B = x.shape[:2]
    H = W.shape[0] // 4
    dt = W.dtype
    s = _halves(H, dt)
    gates = np.empty((T, B, 4 * H), dtype=dt)
    a_in = gates.reshape(T * B, 4 * H)  # x_t Uᵀ + b for every t at once (F1), i, f, o halved (F2')
    UTs = np.multiply(U.T, s, out=np.empty((U.shape[1], 4 * H), dtype=dt))  # contiguous (D, 4H)
    if x.ndim == 2:  # ids: x_t Uᵀ is row x_t of Uᵀ, a gather (ids range-checked on entry)
        np.take(UTs, x.reshape(-1), axis=0, out=a_in, mode="clip")
    else:
        np.matmul(x.reshape(T * B, -1), UTs, out=a_in)
    a_in += b * s
    WTs = np.multiply(W.T, s, out=np.empty(W.T.shape, dtype=dt))  # contiguous Wᵀ (perf notes)
    h = np.empty((T + 1, B, W.shape[1]), dtype=dt)
    c = np.empty((T + 1, B, H), dtype=dt)
    h[0], c[0] = h0, c0
    tc = np.empty((T, B, H), dtype=dt)
    m = None if R is None else np.empty((T, B, H), dtype=dt)
    RT = None if R is None else np.ascontiguousarray(R.T)
    _forward_loop(gates, h, c, tc, m, WTs, RT, active, rmask)
    return Cache(x, gates, c, tc, h, m, active, rmask)


def _forward_loop(gates, h, c, tc, m, WTs, RT, active, rmask=None):
    """(F1)–(F6) for t = 1 … T, in place: gates[t] holds the halved x_t Uᵀ + b on entry and
    [i f g o] on exit; h, c, tc, m are filled. WTs: Wᵀ with its i, f, o columns halved;
    rmask: (B, P|H) ρ (DR3) or None."""
    H = c.shape[-1]
    rec = np.empty(gates.shape[1:], dtype=gates.dtype)
    dropped = None if rmask is None else np.empty(h.shape[1:], dtype=h.dtype)
    tmp = np.empty(c.shape[1:], dtype=c.dtype)
    # σ(a) = 1/2 · tanh(a/2) + 1/2 in the i, f, o columns, g's left as it is (× 1 + 0): two ops
    # over the whole contiguous (B, 4H) row, not four over the strided [i f] and o views (which
    # took 1.6–1.9× as long, and 15 % of the loop at T=100 B=32 H=128)
    scale = _halves(H, gates.dtype)
    shift = np.where(scale == 1, 0, 0.5).astype(gates.dtype)
    # the per-step views, made once rather than by slicing in the loop
    a_, o_ = list(gates), list(gates[..., 3 * H:])
    i_, f_, g_ = list(gates[..., :H]), list(gates[..., H:2 * H]), list(gates[..., 2 * H:3 * H])
    hs, cs, tcs = list(h), list(c), list(tc)
    ms = hs[1:] if m is None else list(m)  # without a projection m_t is h_t itself (F5)
    if active is not None:
        frozen = ~active[..., None]  # (T, B, 1)
        partial = ~active.all(axis=1)
    for t in range(len(a_)):
        a = a_[t]
        h_prev = hs[t] if rmask is None else np.multiply(hs[t], rmask, out=dropped)  # h_{t−1} ⊙ ρ (DR3)
        np.matmul(h_prev, WTs, out=rec)  # h_{t−1} Wᵀ, halved where (F2') wants it (F1)
        a += rec
        np.tanh(a, out=a)  # g = tanh(a_g); tanh(a/2) in the i, f, o columns (F2)
        np.multiply(a, scale, out=a)  # σ(a) = (1 + tanh(a/2)) / 2 in i, f, o (F2')
        np.add(a, shift, out=a)
        np.multiply(f_[t], cs[t], out=cs[t + 1])  # f ⊙ c_{t−1} (F3)
        np.multiply(i_[t], g_[t], out=tmp)  # i ⊙ g (F3)
        cs[t + 1] += tmp
        np.tanh(cs[t + 1], out=tcs[t])
        np.multiply(o_[t], tcs[t], out=ms[t])  # m_t = o ⊙ tanh(c_t) (F4)
        if RT is not None:
            np.matmul(ms[t], RT, out=hs[t + 1])  # h_t = m_t Rᵀ (F5)
        if active is not None and partial[t]:  # frozen past the end, h AND c (F6)
            np.copyto(hs[t + 1], hs[t], where=frozen[t])
            np.copyto(cs[t + 1], cs[t], where=frozen[t])


def backward(cache: Cache, G, dh_T, dc_T, U, W, R=None, need_dx=False):
    """Run (B1)–(B13) from t = T down to 1.

    G: (T, B, P|H) ∂L/∂h_t from the head or the layer above (read only); dh_T (B, P|H) and
    dc_T (B, H): ∂L/∂h_T, ∂L/∂c_T from outside, or None. Returns (grads {U, W, b[, R]}, dx,
    dh0, dc0): dx (T, B, D) when need_dx (float inputs), else None."""
    x, gates, c, tc, h, m, active, rmask = (cache.x, cache.gates, cache.c, cache.tc, cache.h, cache.m,
                                            cache.active, cache.rmask)
    T, B, Hh = G.shape
    H = c.shape[-1]
    dt = W.dtype
    # δa_t = K_t ⊙ [∂L/∂c_t, ∂L/∂c_t, ∂L/∂c_t, ∂L/∂m_t]: the K factors of (B4)–(B5) for all t at
    # once; the loop multiplies them in place, so afterwards `delta` holds every δa_t. Whole-array
    # ops where the formula allows: an op on one gate's (T, B, H) view runs T·B short inner loops
    # and took 2–7× as long per element as on the contiguous whole (measured, T=100 B=32 H=128).
    g4 = gates.reshape(T, B, 4, H)  # [i f g o] as blocks
    delta = np.subtract(1, gates)
    delta *= gates  # s(1 − s) in every block: σ' of i, f, o; the g block is overwritten next
    d4 = delta.reshape(T, B, 4, H)
    Kg = d4[:, :, 2]
    np.multiply(g4[:, :, 2], g4[:, :, 2], out=Kg)
    np.subtract(1, Kg, out=Kg)  # 1 − g² (B5)
    d4[:, :, 0::2] *= g4[:, :, 2::-2]  # blocks i, g times g, i: g ⊙ i(1 − i), i ⊙ (1 − g²) (B5)
    d4[:, :, 1] *= c[:-1]  # c_{t−1} ⊙ f(1 − f) (B5)
    d4[:, :, 3] *= tc  # tanh(c_t) ⊙ o(1 − o) (B4)
    Oc = np.multiply(tc, tc)
    np.subtract(1, Oc, out=Oc)
    Oc *= g4[:, :, 3]  # o ⊙ (1 − tanh²(c_t)) (B3)
    F = g4[:, :, 1].copy()  # ∂c_t/∂c_{t−1} = f_t (B7)
    if active is not None:
        frozen = ~active[..., None]
        delta *= active[..., None]  # α_t in (B4)–(B5): no gate gradient past the end
        Oc *= active[..., None]  # no F4 path past the end (B3)
        np.copyto(F, 1, where=frozen)  # frozen rows pass ∂L/∂c_t straight back (B7)
        partial = ~active.all(axis=1)
    carry = np.zeros((B, Hh), dtype=dt) if dh_T is None else dh_T.astype(dt, copy=True)
    dc = np.zeros((B, H), dtype=dt) if dc_T is None else dc_T.astype(dt, copy=True)
    nxt = np.empty_like(carry)
    tmp = np.empty((B, H), dtype=dt)
    # ∂L/∂h_t for every t is kept for ∂L/∂R (B11) with proj_size; without, one buffer suffices
    DH = None if R is None else np.array(G, dtype=dt)
    dm = None if R is None else np.empty((B, H), dtype=dt)
    d3 = list(d4[:, :, :3])  # the i, f, g blocks as (B, 3, H)
    do, Gs, Ocs, Fs, ds = list(d4[:, :, 3]), list(G), list(Oc), list(F), list(delta)
    for t in range(T - 1, -1, -1):
        if R is None:
            carry += Gs[t]  # ∂L/∂h_t = G_t + δa_{t+1} W (B1)
            dh = dm = carry  # ∂L/∂m_t = ∂L/∂h_t (B2)
        else:
            dh = DH[t]
            dh += carry  # (B1)
            np.matmul(dh, R, out=dm)  # ∂L/∂m_t = ∂L/∂h_t R (B2)
        np.multiply(dm, Ocs[t], out=tmp)
        dc += tmp  # ∂L/∂c_t (B3)
        d3[t] *= dc[:, None, :]  # δi, δf, δg (B5)
        do[t] *= dm  # δo (B4)
        np.matmul(ds[t], W, out=nxt)  # δa_t W, the only product of the loop (B6)
        if rmask is not None:
            nxt *= rmask  # (δa_t W) ⊙ ρ (DR4)
        if active is not None and partial[t]:
            nxt += dh * frozen[t]  # frozen rows pass ∂L/∂h_t straight back (B1)
        dc *= Fs[t]  # ∂L/∂c_{t−1} (B7)
        carry, nxt = nxt, carry
    rows = delta.reshape(T * B, 4 * H)
    grads = {
        "U": input_weight_grad(rows, x, U, active),  # (B9)
        "W": rows.T @ dropout.apply(h[:-1], rmask).reshape(T * B, Hh),  # Σ_t δa_tᵀ (h_{t−1} ⊙ ρ) (B8) (DR4)
        "b": rows.sum(axis=0, dtype=np.float64).astype(dt),  # Σ_t δa_t (B10), float64 sum
    }
    if R is not None:
        if active is not None:
            DH *= active[..., None]  # α_t in (B11)
        grads["R"] = DH.reshape(T * B, Hh).T @ m.reshape(T * B, H)  # Σ_t (∂L/∂h_t)ᵀ m_t (B11)
    dx = (rows @ U).reshape(T, B, -1) if need_dx else None  # δa_t U (B12)
    return grads, dx, carry, dc  # ∂L/∂h_0, ∂L/∂c_0 (B13)


def step_back(cache: Cache, t: int, dh, dc, W, R=None):
    """(B1)–(B7) through step t alone, without G (t = 1 … T): (∂L/∂h_{t−1}, ∂L/∂c_{t−1}) from
    dh = ∂L/∂h_t (..., B, P|H) and dc = ∂L/∂c_t|_{c_{t+1}} (..., B, H), any leading dims (several
    gradients at once), with step t's gates, c_{t−1} and tanh c_t from the cache. The
    vector–Jacobian product of ∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}), as one step of ``backward``."""
    s, H = t - 1, cache.c.shape[-1]
    i, f, g, o = (cache.gates[s, :, k * H:(k + 1) * H] for k in range(4))
    tc, c_prev = cache.tc[s], cache.c[t - 1]
    Oc, F = o * (1 - tc * tc), f  # the coefficients of (B3) and (B7)
    active = None if cache.active is None else cache.active[s][:, None]
    if active is not None:
        Oc, F = Oc * active, np.where(active, f, 1)  # frozen rows: no F4 path, c passes (B3), (B7)
    dm = dh if R is None else dh @ R  # ∂L/∂m_t (B2)
    dc = dc + dm * Oc  # ∂L/∂c_t (B3)
    delta = np.concatenate([dc * (g * i * (1 - i)), dc * (c_prev * f * (1 - f)),  # δi, δf (B5)
                            dc * (i * (1 - g * g)), dm * (tc * o * (1 - o))], axis=-1)  # δg (B5), δo (B4)
    if active is not None:
        delta *= active  # α_t in (B4)–(B5)
    back = delta @ W  # δa_t W (B6)
    if cache.rmask is not None:
        back *= cache.rmask  # through the recurrent dropout mask (DR4)
    if active is not None:
        back += dh * ~active  # frozen rows pass ∂L/∂h_t straight back (B1)
    return back, dc * F  # ∂L/∂h_{t−1}, ∂L/∂c_{t−1} (B7)


class LSTM:
    """The LSTM cell of (F1)–(F6)/(B1)–(B13) behind the interface of ``bptt.cells``: state
    (h, c), parameters U (4H, D_in), W (4H, P|H), b (4H,) and, with proj_size P, R (P, H).

    proj_size: None (or 0) for none, else 0 < P < H (torch's rule); forget_bias: None, or the
    value the forget gate's slice b[H:2H] is set to after init (1.0: Jozefowicz et al. 2015)."""

    name = "lstm"
    OPTIONS = ("proj_size", "forget_bias")
    torch_module = "LSTM"

    def __init__(self, proj_size=None, forget_bias=None):
        if proj_size is not None and (isinstance(proj_size, bool) or not isinstance(proj_size, (int, np.integer))
                                      or proj_size < 0):
            raise ValueError(f"proj_size must be None or an integer ≥ 0, got {proj_size!r}")
        self.proj_size = int(proj_size) if proj_size else None
        if forget_bias is not None:
            if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(forget_bias):
                raise ValueError(f"forget_bias must be None or a finite number, got {forget_bias!r}")
            forget_bias = float(forget_bias)
        self.forget_bias = forget_bias

    @classmethod
    def make(cls, activation="tanh", proj_size=None, forget_bias=None, **others):
        if activation != "tanh":
            raise ValueError(f"cell='lstm' has fixed activations (σ gates, tanh); activation must be "
                             f"'tanh', got activation={activation!r}")
        no_cell_options(cls.name, others)
        return cls(proj_size, forget_bias)

    @property
    def options(self) -> dict:
        return {"proj_size": self.proj_size, "forget_bias": self.forget_bias}

    def output_size(self, H: int) -> int:
        return self.proj_size or H

    def state_sizes(self, H: int) -> tuple:
        return (self.output_size(H), H)

    def param_shapes(self, H: int, D_in: int) -> dict:
        shapes = {"U": (4 * H, D_in), "W": (4 * H, self.output_size(H)), "b": (4 * H,)}
        if self.proj_size:
            shapes["R"] = (self.proj_size, H)
        return shapes

    def init(self, scheme: str, rng, H: int, D_in: int) -> dict:
        """{U, W, b[, R]} in float64. uniform: torch's nn.LSTM default, every weight and BOTH of
        torch's biases ~ U(−k, k), k = 1/√H, so b is the sum of two such draws (torch's
        effective bias). The other schemes of init.py act per gate block: xavier: each (H, ·)
        block of U and W Glorot with that block's fans; orthogonal: each (H, P|H) block of W
        (semi-)orthogonal, U Glorot per block; identity: each block of W the identity (eye(H, P)
        with a projection), U ~ N(0, 0.001²); biases 0. R: uniform U(−k, k) as torch; xavier
        and orthogonal as W's blocks; identity eye(P, H). Then forget_bias, if set, fills b[H:2H]."""
        if self.proj_size and self.proj_size >= H:
            raise ValueError(f"proj_size must be smaller than hidden_size (torch's LSTMP); got "
                             f"proj_size={self.proj_size}, hidden_size={H}")
        Hh = self.output_size(H)
        if scheme == "uniform":
            k = 1 / np.sqrt(H)
            p = {"U": rng.uniform(-k, k, (4 * H, D_in)), "W": rng.uniform(-k, k, (4 * H, Hh)),
                 "b": rng.uniform(-k, k, 4 * H) + rng.uniform(-k, k, 4 * H)}
            if self.proj_size:
                p["R"] = rng.uniform(-k, k, (Hh, H))
        else:
            block = {"xavier": inits._glorot, "orthogonal": _semi_orthogonal,
                     "identity": lambda _, shape: np.eye(*shape)}[scheme]
            U = (np.vstack([rng.normal(0, 1e-3, (H, D_in)) for _ in GATES]) if scheme == "identity"
                 else np.vstack([inits._glorot(rng, (H, D_in)) for _ in GATES]))
            p = {"U": U, "W": np.vstack([block(rng, (H, Hh)) for _ in GATES]), "b": np.zeros(4 * H)}
            if self.proj_size:
                p["R"] = block(rng, (Hh, H))
        if self.forget_bias is not None:
            p["b"][H:2 * H] = self.forget_bias
        return p

    def forward(self, x, state0, p, active, rmask=None):
        cache = forward(x, state0[0], state0[1], p["U"], p["W"], p["b"], p.get("R"), active, rmask)
        return cache.h[1:], cache, (cache.h[-1], cache.c[-1])  # frozen: the last valid state

    def backward(self, cache, G, dstate_T, p, need_dx):
        dh_T, dc_T = (None, None) if dstate_T is None else dstate_T
        grads, dx, dh0, dc0 = backward(cache, G, dh_T, dc_T, p["U"], p["W"], p.get("R"), need_dx)
        return grads, dx, (dh0, dc0)

    def step_back(self, cache, t: int, dstate, p) -> tuple:
        return step_back(cache, t, dstate[0], dstate[1], p["W"], p.get("R"))

    def state_at(self, cache, t: int) -> tuple:
        return (cache.h[t], cache.c[t])

    # ------------------------------------------------------------ torch.nn.LSTM
    @property
    def torch_options(self) -> dict:
        """Keyword arguments of torch.nn.LSTM beyond the sizes."""
        return {"proj_size": self.proj_size or 0}

    def torch_weights(self, p: dict) -> dict:
        """torch's per-layer names (without _l{k}{_reverse}): b goes to bias_ih, bias_hh is 0."""
        w = {"weight_ih": p["U"], "weight_hh": p["W"], "bias_ih": p["b"], "bias_hh": np.zeros_like(p["b"])}
        if self.proj_size:
            w["weight_hr"] = p["R"]
        return w

    def from_torch_weights(self, w: dict) -> dict:
        """Our {U, W, b[, R]} from torch's per-layer weights: b = bias_ih + bias_hh."""
        p = {"U": w["weight_ih"], "W": w["weight_hh"], "b": w["bias_ih"] + w["bias_hh"]}
        if self.proj_size:
            p["R"] = w["weight_hr"]
        return p


def _semi_orthogonal(rng, shape):
    """A (rows, cols) matrix with orthonormal rows or columns (whichever are fewer): the QR of a
    Gaussian, signs fixed (init.py's orthogonal for a square block)."""
    rows, cols = shape
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))
    return q if rows >= cols else q.T
