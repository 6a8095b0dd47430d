r"""numba kernels of the two time loops of ``elman.py``; imported only by ``compiled.py``, and
only when numba is installed. Same equations, same order of operations per element as the
NumPy loops; the activation is chosen once per row (act: 0 tanh, 1 relu, 2 sigmoid,
3 identity), so the loops over j stay simple enough to vectorise.

Shapes: h (T+1, B, H), WT = Wᵀ and W (H, H), G and δ (T, B, H), dh (B, H), active (T, B).
"""
import numba
import numpy as np

jit = numba.njit(cache=True, fastmath={"contract"})
ACT = {"tanh": 0, "relu": 1, "sigmoid": 2, "identity": 3}


@jit
def _matmul_rows(out, a, M):
    """out = a M for a few rows a (B, H): each row k of M is read once for all B rows."""
    out[:] = 0
    for k in range(M.shape[0]):
        mk = M[k]
        for i in range(a.shape[0]):
            p, r = a[i, k], out[i]
            for j in range(mk.shape[0]):
                r[j] += p * mk[j]


@jit
def _activate(z, r, act):
    """z = f(z + r) in place: (F2) with z = x_t Uᵀ + b and r = h_{t−1} Wᵀ, as activations.apply."""
    if act == 0:
        for j in range(z.shape[0]):
            z[j] = np.tanh(z[j] + r[j])
    elif act == 1:
        for j in range(z.shape[0]):
            z[j] = max(z[j] + r[j], 0.0)
    elif act == 2:
        for j in range(z.shape[0]):
            z[j] = 1 / (1 + np.exp(-(z[j] + r[j])))
    else:
        for j in range(z.shape[0]):
            z[j] = z[j] + r[j]


@jit
def _delta(d, g, h, act):
    """d = f'(z) g with f' from h = f(z) (B2), as activations.derivative_from_output."""
    if act == 0:
        for j in range(d.shape[0]):
            d[j] = (1 - h[j] * h[j]) * g[j]
    elif act == 1:
        for j in range(d.shape[0]):
            d[j] = g[j] if h[j] > 0 else 0.0
    elif act == 2:
        for j in range(d.shape[0]):
            d[j] = ((1 - h[j]) * h[j]) * g[j]
    else:
        d[:] = g


@jit
def forward(h, WT, act, active, has_mask):
    """(F1)–(F3) in place: on entry h[t] (t ≥ 1) holds x_t Uᵀ + b, on exit h_t."""
    rec = np.empty(h.shape[1:], dtype=h.dtype)
    for t in range(h.shape[0] - 1):
        _matmul_rows(rec, h[t], WT)  # h_{t−1} Wᵀ (F1)
        for i in range(h.shape[1]):
            if has_mask and not active[t, i]:
                h[t + 1, i] = h[t, i]  # frozen past the end (F3)
            else:
                _activate(h[t + 1, i], rec[i], act)  # (F2)


@jit
def backward(delta, G, h, W, dh, act, active, has_mask):
    """(B1)–(B2) for t = T … 1: δ_t into delta; dh holds ∂L/∂h_T on entry, ∂L/∂h_0 on exit."""
    nxt = np.empty_like(dh)
    for t in range(G.shape[0] - 1, -1, -1):
        dh += G[t]  # ∂L/∂h_t = G_t + δ_{t+1} W (B1)
        for i in range(dh.shape[0]):
            if has_mask and not active[t, i]:
                delta[t, i] = 0  # a_t = 0 in (B2)
            else:
                _delta(delta[t, i], dh[i], h[t + 1, i], act)  # δ_t (B2)
        _matmul_rows(nxt, delta[t], W)  # δ_t W
        for i in range(dh.shape[0]):
            if has_mask and not active[t, i]:
                dh[i] += nxt[i]  # frozen rows pass ∂L/∂h straight back (B1)
            else:
                dh[i] = nxt[i]
