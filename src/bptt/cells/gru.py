r"""One GRU layer, one direction, over a whole sequence: forward and its BPTT backward, exactly
as ``torch.nn.GRU`` computes it (reset_after=True, the default), or Cho et al. (2014)'s cell
with the reset gate applied before the recurrent product (reset_after=False).

Notation (rows are batch items, as elman.py): x_t (B, D) or ids (B,); h_t (B, H); the three
gates are stacked in torch's order r, z, n: U (3H, D) = weight_ih, W (3H, H) = weight_hh,
b (3H,); W_r, W_z, W_n are W's row blocks (W_{rz} = rows 0 … 2H−1), likewise U and b.
reset_after=True has one more parameter, bn (H,) = bias_hh's n part: it sits inside r ⊙ (…),
so it cannot be folded into b; there b = bias_ih + bias_hh on the r and z blocks and bias_ih
alone on the n block. σ is the logistic sigmoid, ⊙ the elementwise product.

Forward, for t = 1 … T, from h_0:
    i_t = x_t Uᵀ + b = [i_r, i_z, i_n]          (3H wide; ids: row x_t of Uᵀ, a gather)  (F1)
    q_t = h_{t−1} Wᵀ = [q_r, q_z, q_n]                                               (F2)
          (recurrent dropout: (h_{t−1} ⊙ ρ) Wᵀ, ρ (B, H) the layer's mask, dropout.py DR3;
          the direct path z_t ⊙ h_{t−1} of F5 is not dropped)
    r_t = σ(i_r + q_r),   z_t = σ(i_z + q_z)                                           (F3)
    m_t = q_n + bn,   n_t = tanh(i_n + r_t ⊙ m_t)                                      (F4)
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1} = n_t + z_t ⊙ (h_{t−1} − n_t)                (F5)
With variable lengths, a_{t,b} = [t ≤ len_b] and the state frozen past the end (elman F3):
    h_t = a_t h_t + (1 − a_t) h_{t−1}                                                  (F6)
reset_after=False (Cho et al.): no bn (torch's two n biases would only appear as their sum,
which is b_n), and the reset gate scales h_{t−1} BEFORE the product, so (F2) and (F4) become
    q_t = h_{t−1} W_{rz}ᵀ = [q_r, q_z]                                                 (F2′)
    s_t = r_t ⊙ h_{t−1},   n_t = tanh(i_n + s_t W_nᵀ)                                  (F4′)
          (recurrent dropout: h_{t−1} ⊙ ρ in both, DR3: F2′'s product and s_t = r_t ⊙ h_{t−1} ⊙ ρ)
— the n product needs r_t, which needs q_t: two products per step, h_{t−1} W_{rz}ᵀ then
s_t W_nᵀ (the same flops as the one (B, H)×(H, 3H) product of reset_after=True).

Backward. G_t = ∂L/∂h_t from the head or the layer above; dh_t = ∂L/∂h_t in total; δ's are
derivatives with respect to the gates' pre-activations (i + q, and i_n + r ⊙ m):
    dh_t = G_t + ∂L/∂h_t|via step t+1  ((B6) at t+1; at t = T: ∂L/∂h_T from outside)    (B1)
    δz_t = a_t ⊙ dh_t ⊙ (h_{t−1} − n_t) ⊙ z_t (1 − z_t)                                (B2)
    δn_t = a_t ⊙ dh_t ⊙ (1 − z_t) ⊙ (1 − n_t²)                                         (B3)
    δr_t = δn_t ⊙ m_t ⊙ r_t (1 − r_t)                                                  (B4)
    δq_t = ∂L/∂q_t = [δr_t, δz_t, δn_t ⊙ r_t],   δi_t = ∂L/∂i_t = [δr_t, δz_t, δn_t]      (B5)
    ∂L/∂h_{t−1}|via step t = dh_t ⊙ e_t + δq_t W,   e_t = a_t z_t + (1 − a_t)             (B6)
         (e_t: the direct z path of (F5), and frozen rows pass dh_t straight back, F6;
          recurrent dropout: (δq_t W) ⊙ ρ, DR4)
    ∂L/∂W = Σ_t δq_tᵀ h_{t−1}     (recurrent dropout: h_{t−1} ⊙ ρ, DR4)                  (B7)
    ∂L/∂U = Σ_t δi_tᵀ x_t       (ids: scatter-add of δi_t into the columns gathered, elman B4) (B8)
    ∂L/∂b = Σ_t δi_t                                                                  (B9)
    ∂L/∂bn = Σ_t δn_t ⊙ r_t     (the n block of δq: bn sits where h_{t−1} W_nᵀ does)    (B10)
    ∂L/∂x_t = δi_t U                                                                  (B11)
    ∂L/∂h_0 = (B6) at t = 1                                                            (B12)
reset_after=False: (B1)–(B3), (B8), (B9), (B11), (B12) as above; with s_t = r_t ⊙ h_{t−1},
    ∂L/∂s_t = δn_t W_n                                                                 (B4′)
    δr_t = ∂L/∂s_t ⊙ h_{t−1} ⊙ r_t (1 − r_t)                                           (B5′)
    ∂L/∂h_{t−1}|via step t = dh_t ⊙ e_t + ∂L/∂s_t ⊙ r_t + [δr_t, δz_t] W_{rz}           (B6′)
    ∂L/∂W_{rz} = Σ_t [δr_t, δz_t]ᵀ h_{t−1},   ∂L/∂W_n = Σ_t δn_tᵀ s_t                   (B7′)
recurrent dropout (DR4): h_{t−1} ⊙ ρ in (B5′) and in ∂L/∂W_{rz}; in (B6′)
    (∂L/∂s_t ⊙ r_t + [δr_t, δz_t] W_{rz}) ⊙ ρ, before dh_t ⊙ e_t is added.

Speed (perf notes): all T input projections (F1) are ONE GEMM (or one gather) before the loop,
written straight into the gate buffer; the forward loop does only (F2) (or F2′ and the s_t W_nᵀ
of F4′) with a contiguous Wᵀ, and in-place elementwise ops. Every per-step coefficient of the
backward that does not depend on dh (z(1 − z)(h − n), (1 − z)(1 − n²), m r(1 − r), e) is one
vectorised op over all T steps before the loop, written into the δ buffers, which the loop then
scales in place by dh (as elman B2); the backward loop's only products are δq_t W (or δn_t W_n
and [δr, δz] W_{rz}). After the loop dW, dU, dx are one GEMM each (reset_after=False: dW_{rz}
and dW_n are one GEMM each, their right factors h_{t−1} and s_t differ), db and dbn one
float64 sum each. The time loops are NumPy only (no compiled kernels as elman's).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import dropout
from .. import init as inits
from ..activations import sigmoid
from .elman import input_weight_grad, no_cell_options


@dataclass
class Cache:
    """What the backward needs from the forward.

    x: (T, B, D) float or (T, B) int64 ids; h: (T+1, B, H) with h[0] = h_0; gates: (T, B, 3H)
    holding r_t, z_t, n_t (after their nonlinearities); m: (T, B, H) = h_{t−1} W_nᵀ + bn (F4)
    for reset_after=True, else s: (T, B, H) = r_t ⊙ h_{t−1} (⊙ ρ) (F4′); active: (T, B) bool or
    None; rmask: (B, H) ρ of (DR3), or None (no recurrent dropout)."""

    x: np.ndarray
    h: np.ndarray
    gates: np.ndarray
    m: np.ndarray | None
    s: np.ndarray | None
    active: np.ndarray | None
    rmask: np.ndarray | None = None


def input_projection(x, U, b) -> np.ndarray:
    """(F1) for every t at once: i (T, B, 3H) = x_t Uᵀ + b, one GEMM (ids: one gather of Uᵀ's rows;
    they were range-checked where they entered, batch.make_inputs, so mode="clip" clips nothing)."""
    T, B = x.shape[:2]
    gates = np.empty((T, B, U.shape[0]), dtype=U.dtype)
    flat = gates.reshape(T * B, -1)
    if x.ndim == 2:
        np.take(np.ascontiguousarray(U.T), x.reshape(-1), axis=0, out=flat, mode="clip")
    else:
        np.matmul(x.reshape(T * B, -1), U.T, out=flat)
    flat += b
    return gates


def forward(x, h0, U, W, b, bn, reset_after=True, active=None, rmask=None):
    """Run (F1)–(F6) (reset_after=False: F2′, F4′) over all T steps.

    x: (T, B, D) float or (T, B) ids; h0: (B, H); U (3H, D), W (3H, H), b (3H,); bn (H,) or
    None (reset_after=False); active: (T, B) bool or None; rmask: (B, H) ρ (DR3) or None.
    Returns (h, cache), h (T+1, B, H)."""
    T, B = x.shape[:2]
    H = W.shape[1]
    gates = input_projection(x, U, b)  # i_t for all t (F1); becomes r_t, z_t, n_t in place
    h = np.empty((T + 1, B, H), dtype=W.dtype)
    h[0] = h0
    extra = np.empty((T, B, H), dtype=W.dtype)  # m_t (F4) or s_t (F4′)
    if reset_after:
        _forward_after(h, gates, extra, np.ascontiguousarray(W.T), bn, active, rmask)
        return h, Cache(x, h, gates, extra, None, active, rmask)
    _forward_before(h, gates, extra, np.ascontiguousarray(W[:2 * H].T), np.ascontiguousarray(W[2 * H:].T),
                    active, rmask)
    return h, Cache(x, h, gates, None, extra, active, rmask)


def _forward_after(h, gates, m, WT, bn, active, rmask=None):
    """(F2)–(F6) for t = 1 … T, reset_after=True, in place: gates[t−1] holds i_t on entry and
    [r_t, z_t, n_t] on exit; m[t−1] = m_t; h[t] = h_t. WT: (H, 3H) = Wᵀ, contiguous;
    rmask: (B, H) ρ (DR3) or None."""
    H = h.shape[-1]
    q = np.empty((h.shape[1], 3 * H), dtype=h.dtype)
    tmp = np.empty(h.shape[1:], dtype=h.dtype)
    dropped = None if rmask is None else np.empty_like(tmp)
    hs, gs, ms = list(h), list(gates), list(m)  # per-step views, made once
    for t in range(len(gs)):
        g, h_prev, h_t = gs[t], hs[t], hs[t + 1]
        rz, r, z, n = g[:, :2 * H], g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
        h_rec = h_prev if rmask is None else np.multiply(h_prev, rmask, out=dropped)  # h_{t−1} ⊙ ρ (DR3)
        np.matmul(h_rec, WT, out=q)  # q_t = h_{t−1} Wᵀ, the only product in the loop (F2)
        rz += q[:, :2 * H]
        sigmoid(rz, out=rz)  # r_t, z_t (F3)
        np.add(q[:, 2 * H:], bn, out=ms[t])  # m_t = h_{t−1} W_nᵀ + bn (F4)
        np.multiply(r, ms[t], out=tmp)
        n += tmp
        np.tanh(n, out=n)  # n_t = tanh(i_n + r_t ⊙ m_t) (F4)
        _update(h_t, h_prev, z, n, active, t)


def _forward_before(h, gates, s, WrzT, WnT, active, rmask=None):
    """(F2′), (F3), (F4′), (F5), (F6) for t = 1 … T, reset_after=False, in place: as
    _forward_after, with s[t−1] = s_t. WrzT (H, 2H) = W_{rz}ᵀ, WnT (H, H) = W_nᵀ, contiguous;
    rmask: (B, H) ρ (DR3) or None."""
    H = h.shape[-1]
    q = np.empty((h.shape[1], 2 * H), dtype=h.dtype)
    tmp = np.empty(h.shape[1:], dtype=h.dtype)
    dropped = None if rmask is None else np.empty_like(tmp)
    hs, gs, ss = list(h), list(gates), list(s)
    for t in range(len(gs)):
        g, h_prev, h_t = gs[t], hs[t], hs[t + 1]
        rz, r, z, n = g[:, :2 * H], g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
        h_rec = h_prev if rmask is None else np.multiply(h_prev, rmask, out=dropped)  # h_{t−1} ⊙ ρ (DR3)
        np.matmul(h_rec, WrzT, out=q)  # q_t = h_{t−1} W_{rz}ᵀ (F2′)
        rz += q
        sigmoid(rz, out=rz)  # r_t, z_t (F3)
        np.multiply(r, h_rec, out=ss[t])  # s_t = r_t ⊙ h_{t−1} (F4′)
        np.matmul(ss[t], WnT, out=tmp)  # s_t W_nᵀ, the second product of the step (F4′)
        n += tmp
        np.tanh(n, out=n)  # n_t (F4′)
        _update(h_t, h_prev, z, n, active, t)


def _update(h_t, h_prev, z, n, active, t):
    """h_t = n_t + z_t ⊙ (h_{t−1} − n_t) (F5), then frozen rows keep h_{t−1} (F6)."""
    np.subtract(h_prev, n, out=h_t)
    h_t *= z
    h_t += n  # (F5)
    if active is not None:
        np.copyto(h_t, h_prev, where=~active[t][:, None])  # frozen past the end (F6)


def backward(cache: Cache, G, dh_T, U, W, need_dx: bool):
    """Run (B1)–(B12) (reset_after=False: with B4′–B7′) from t = T down to 1.

    G: (T, B, H) ∂L/∂h_t from the head or the layer above (read only); dh_T: (B, H) ∂L/∂h_T
    from outside, or None. Returns (grads {U, W, b[, bn]}, dx (T, B, D) or None, dh0 (B, H))."""
    x, h, gates, active, rmask = cache.x, cache.h, cache.gates, cache.active, cache.rmask
    T, B, H = G.shape
    dh = np.zeros((B, H), dtype=W.dtype) if dh_T is None else dh_T.astype(W.dtype, copy=True)
    r, z, n = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:]
    h_prev = h[:-1]
    h_rec = dropout.apply(h_prev, rmask)  # h_{t−1} ⊙ ρ, where it entered the products (DR3)
    a = None if active is None else active[..., None]
    # e_t = a_t z_t + (1 − a_t) for every t (B6)
    e = z.copy()
    if a is not None:
        np.copyto(e, 1, where=~a)
    # The δ buffers start as the coefficients dh_t is multiplied by (B2), (B3), (B4)/(B5′), (B5);
    # the loop scales them in place. dn: (1 − z)(1 − n²) a (B3).
    dn = np.subtract(1, z)
    dn *= 1 - n * n
    rz_width = 3 * H if cache.m is not None else 2 * H
    dq = np.empty((T, B, rz_width), dtype=W.dtype)  # δq_t (B5), or [δr_t, δz_t] for reset_after=False
    dz = dq[..., H:2 * H]
    np.subtract(h_prev, n, out=dz)
    dz *= z
    dz *= 1 - z  # (h_{t−1} − n) z (1 − z) (B2)
    if a is not None:
        dn *= a  # a_t in (B2), (B3)
        dz *= a
    dr = dq[..., :H]
    np.subtract(1, r, out=dr)
    dr *= r  # r (1 − r)
    if cache.m is not None:
        dr *= cache.m  # m r (1 − r) (B4)
        dq[..., 2 * H:] = r  # δn ⊙ r (B5) once scaled by δn
        dh = _backward_after(G, W, dh, dq, dn, e, rmask)
    else:
        dr *= h_rec  # h_{t−1} r (1 − r) (B5′) (DR4)
        dh = _backward_before(G, W, dh, dq, dn, e, r, rmask)
    rows_q = dq.reshape(T * B, -1)
    if cache.m is not None:
        grads = {"W": rows_q.T @ h_rec.reshape(T * B, H)}  # Σ_t δq_tᵀ h_{t−1} (B7) (DR4)
    else:
        grads = {"W": np.concatenate([rows_q.T @ h_rec.reshape(T * B, H),  # Σ [δr, δz]ᵀ h_{t−1} (B7′) (DR4)
                                      dn.reshape(T * B, H).T @ cache.s.reshape(T * B, H)])}  # Σ δnᵀ s (B7′)
    rows_i = np.concatenate([dq[..., :2 * H], dn], axis=-1).reshape(T * B, 3 * H)  # δi_t (B5)
    grads["U"] = input_weight_grad(rows_i, x, U, active)  # Σ_t δi_tᵀ x_t (B8)
    grads["b"] = rows_i.sum(axis=0, dtype=np.float64).astype(W.dtype)  # Σ_t δi_t (B9)
    if cache.m is not None:
        grads["bn"] = rows_q[:, 2 * H:].sum(axis=0, dtype=np.float64).astype(W.dtype)  # Σ δn ⊙ r (B10)
    dx = (rows_i @ U).reshape(T, B, -1) if need_dx else None  # δi_t U (B11)
    return grads, dx, dh  # dh is now ∂L/∂h_0 (B12)


def _backward_after(G, W, dh, dq, dn, e, rmask=None):
    """(B1)–(B6) for t = T … 1, reset_after=True. dq (T, B, 3H) holds [m r(1 − r),
    a z(1 − z)(h_{t−1} − n), r] and dn (T, B, H) a (1 − z)(1 − n²) on entry, δq_t and δn_t on exit.
    dh (B, H): ∂L/∂h_T, overwritten; rmask: (B, H) ρ (DR4) or None. Returns ∂L/∂h_0 (B, H)."""
    H = dh.shape[1]
    nxt, tmp = np.empty_like(dh), np.empty_like(dh)
    Gs, dqs, dns, es = list(G), list(dq), list(dn), list(e)  # per-step views, made once
    for t in range(len(Gs) - 1, -1, -1):
        d, dn_t = dqs[t], dns[t]
        dh += Gs[t]  # dh_t = G_t + ∂L/∂h_t via step t+1 (B1)
        d[:, H:2 * H] *= dh  # δz_t (B2)
        dn_t *= dh  # δn_t (B3)
        d[:, :H] *= dn_t  # δr_t = δn_t ⊙ m_t ⊙ r_t (1 − r_t) (B4)
        d[:, 2 * H:] *= dn_t  # δn_t ⊙ r_t, the n block of δq_t (B5)
        np.matmul(d, W, out=nxt)  # δq_t W, the only product in the loop (B6)
        if rmask is not None:
            nxt *= rmask  # (δq_t W) ⊙ ρ (DR4)
        np.multiply(dh, es[t], out=tmp)
        nxt += tmp  # + dh_t ⊙ e_t (B6)
        dh, nxt = nxt, dh
    return dh


def _backward_before(G, W, dh, drz, dn, e, r, rmask=None):
    """(B1)–(B3), (B4′)–(B6′) for t = T … 1, reset_after=False. drz (T, B, 2H) holds
    [(h_{t−1} ⊙ ρ) r(1 − r), a z(1 − z)(h_{t−1} − n)] and dn a (1 − z)(1 − n²) on entry,
    [δr_t, δz_t] and δn_t on exit; r (T, B, H); rmask: (B, H) ρ (DR4) or None. dh (B, H): ∂L/∂h_T,
    overwritten. Returns ∂L/∂h_0."""
    H = dh.shape[1]
    Wrz, Wn = W[:2 * H], W[2 * H:]  # row blocks: contiguous views
    nxt, tmp, ds = np.empty_like(dh), np.empty_like(dh), np.empty_like(dh)
    Gs, drzs, dns, es, rs = list(G), list(drz), list(dn), list(e), list(r)
    for t in range(len(Gs) - 1, -1, -1):
        d, dn_t = drzs[t], dns[t]
        dh += Gs[t]  # (B1)
        d[:, H:] *= dh  # δz_t (B2)
        dn_t *= dh  # δn_t (B3)
        np.matmul(dn_t, Wn, out=ds)  # ∂L/∂s_t = δn_t W_n, the first product (B4′)
        d[:, :H] *= ds  # δr_t = ∂L/∂s_t ⊙ h_{t−1} ⊙ r_t (1 − r_t) (B5′)
        np.matmul(d, Wrz, out=nxt)  # [δr_t, δz_t] W_{rz}, the second product (B6′)
        np.multiply(ds, rs[t], out=tmp)
        nxt += tmp  # + ∂L/∂s_t ⊙ r_t (B6′)
        if rmask is not None:
            nxt *= rmask  # both paths through h_{t−1} ⊙ ρ (DR4)
        np.multiply(dh, es[t], out=tmp)
        nxt += tmp  # + dh_t ⊙ e_t (B6′)
        dh, nxt = nxt, dh
    return dh


def step_back(cache: Cache, t: int, dh, W):
    """(B1)–(B6) through step t alone, without G (t = 1 … T; reset_after=False: B4′–B6′):
    ∂L/∂h_{t−1} from dh = ∂L/∂h_t (..., B, H), any leading dims (several gradients at once),
    with step t's gates, h_{t−1} and m_t (or the reset h_{t−1} W_n path) from the cache. The
    vector–Jacobian product of ∂h_t/∂h_{t−1}, as one step of ``backward``."""
    s, H = t - 1, cache.h.shape[-1]
    r, z, n = (cache.gates[s, :, k * H:(k + 1) * H] for k in range(3))
    h_prev, a, e = cache.h[t - 1], 1, z
    if cache.active is not None:
        a = cache.active[s][:, None]
        e = np.where(a, z, 1)  # e_t = a_t z_t + (1 − a_t) (B6)
    dz = dh * (a * (h_prev - n) * z * (1 - z))  # δz_t (B2)
    dn = dh * (a * (1 - z) * (1 - n * n))  # δn_t (B3)
    rho = 1 if cache.rmask is None else cache.rmask  # the recurrent dropout mask ρ (DR3, DR4)
    if cache.m is not None:
        dr = dn * (cache.m[s] * r * (1 - r))  # δr_t (B4)
        back = (np.concatenate([dr, dz, dn * r], axis=-1) @ W) * rho  # δq_t W (B5), (B6)
    else:
        ds = dn @ W[2 * H:]  # ∂L/∂s_t = δn_t W_n (B4′)
        dr = ds * (h_prev * rho * r * (1 - r))  # δr_t (B5′)
        back = (np.concatenate([dr, dz], axis=-1) @ W[:2 * H] + ds * r) * rho  # (B6′)
    return back + dh * e  # + dh_t ⊙ e_t (B6)


def _gate_blocks(scheme, rng, H, D_in) -> dict:
    """init.py's ``layer`` scheme for each gate block r, z, n, stacked: {U (3H, D), W (3H, H), b (3H,)}."""
    blocks = [inits.layer(scheme, rng, H, D_in) for _ in range(3)]
    return {k: np.concatenate([blk[k] for blk in blocks]) for k in ("U", "W", "b")}


class GRU:
    """The GRU cell of (F1)–(F6)/(B1)–(B12) behind the interface of ``bptt.cells``: state (h,),
    parameters U (3H, D_in), W (3H, H), b (3H,) and, with reset_after=True (torch's), bn (H,).
    The activations are fixed (σ for the gates, tanh for n)."""

    name = "gru"
    OPTIONS = ("reset_after",)
    torch_module = "GRU"

    def __init__(self, reset_after: bool = True):
        if not isinstance(reset_after, bool):
            raise TypeError(f"reset_after must be True or False, got {reset_after!r}")
        self.reset_after = reset_after

    @classmethod
    def make(cls, activation="tanh", reset_after=None, **others):
        if activation != "tanh":
            raise ValueError(f"cell='gru' has fixed activations (σ gates, tanh candidate): the option "
                             f"activation must be 'tanh', got {activation!r}")
        no_cell_options(cls.name, others)
        return cls(True if reset_after is None else reset_after)

    @property
    def options(self) -> dict:
        return {"reset_after": self.reset_after}

    def output_size(self, H: int) -> int:
        return H

    def state_sizes(self, H: int) -> tuple:
        return (H,)

    def param_shapes(self, H: int, D_in: int) -> dict:
        shapes = {"U": (3 * H, D_in), "W": (3 * H, H), "b": (3 * H,)}
        if self.reset_after:
            shapes["bn"] = (H,)
        return shapes

    def init(self, scheme: str, rng, H: int, D_in: int) -> dict:
        """uniform: torch's nn.GRU default — weight_ih, weight_hh, bias_ih, bias_hh all ~ U(−k, k),
        k = 1/√H, so b's r and z blocks are the sum of two draws (bias_ih + bias_hh), b_n is
        bias_ih's draw and bn bias_hh's (reset_after=False: b_n = bias_ih + bias_hh as well).
        Any other scheme of init.py is applied to each gate block r, z, n as to an Elman layer
        (e.g. orthogonal: each W_g orthogonal; identity: each W_g = I), biases and bn zero."""
        if scheme != "uniform":
            p = _gate_blocks(scheme, rng, H, D_in)
            if self.reset_after:
                p["bn"] = np.zeros(H)
            return p
        k = 1 / np.sqrt(H)
        w = {"weight_ih": rng.uniform(-k, k, (3 * H, D_in)), "weight_hh": rng.uniform(-k, k, (3 * H, H)),
             "bias_ih": rng.uniform(-k, k, 3 * H), "bias_hh": rng.uniform(-k, k, 3 * H)}
        if self.reset_after:
            return self.from_torch_weights(w)
        return {"U": w["weight_ih"], "W": w["weight_hh"], "b": w["bias_ih"] + w["bias_hh"]}

    def forward(self, x, state0, p, active, rmask=None):
        h, cache = forward(x, state0[0], p["U"], p["W"], p["b"], p.get("bn"), self.reset_after, active, rmask)
        return h[1:], cache, (h[-1],)  # frozen past each end, so h_T is the last valid state

    def backward(self, cache, G, dstate_T, p, need_dx):
        dh_T = None if dstate_T is None else dstate_T[0]
        grads, dx, dh0 = backward(cache, G, dh_T, p["U"], p["W"], need_dx)
        return grads, dx, (dh0,)

    def step_back(self, cache, t: int, dstate, p) -> tuple:
        return (step_back(cache, t, dstate[0], p["W"]),)

    def state_at(self, cache, t: int) -> tuple:
        return (cache.h[t],)

    # ------------------------------------------------------------- torch.nn.GRU's layout
    @property
    def torch_options(self) -> dict:
        """Keyword arguments of torch.nn.GRU beyond the sizes: none (reset_after=False has no
        torch equivalent: ValueError)."""
        self._torch_equivalent()
        return {}

    def torch_weights(self, p: dict) -> dict:
        """One layer and direction in nn.GRU's names (without the _l{k}{_reverse} suffix):
        weight_ih = U, weight_hh = W, bias_ih = b, bias_hh = [0, 0, bn] (new arrays)."""
        self._torch_equivalent()
        H = p["W"].shape[1]
        bias_hh = np.zeros_like(p["b"])
        bias_hh[2 * H:] = p["bn"]
        return {"weight_ih": np.array(p["U"]), "weight_hh": np.array(p["W"]), "bias_ih": np.array(p["b"]),
                "bias_hh": bias_hh}

    def from_torch_weights(self, w: dict) -> dict:
        """The inverse of ``torch_weights`` from nn.GRU's weight_ih, weight_hh, bias_ih, bias_hh
        (arrays): b = bias_ih + bias_hh on the r, z blocks and bias_ih on n; bn = bias_hh's n block."""
        self._torch_equivalent()
        U, W = np.array(w["weight_ih"]), np.array(w["weight_hh"])
        bias_ih, bias_hh = np.asarray(w["bias_ih"]), np.asarray(w["bias_hh"])
        H = W.shape[1]
        b = np.array(bias_ih)
        b[:2 * H] += bias_hh[:2 * H]
        return {"U": U, "W": W, "b": b, "bn": np.array(bias_hh[2 * H:])}

    def _torch_equivalent(self) -> None:
        if not self.reset_after:
            raise ValueError("cell='gru' with reset_after=False (Cho et al.'s reset before the recurrent "
                             "product) has no torch.nn.GRU equivalent: torch resets after it")
