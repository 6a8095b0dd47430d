r"""One Elman layer, one direction, over a whole sequence: forward and its BPTT backward.

Notation of the design (rows are batch items, so a product "x Uᵀ" is the seeds' "U x"):
x_t (B, D) or ids (B,), U (H, D), W (H, H), b (H,), h_t (B, H), δ_t = ∂L/∂z_t (B, H).

Forward, for t = 1 … T, from h_0:
    z_t = x_t Uᵀ + h_{t−1} Wᵀ + b                                                   (F1)
          (recurrent dropout: (h_{t−1} ⊙ ρ) Wᵀ, ρ (B, H) the layer's mask, dropout.py DR3)
    h_t = f(z_t)                                                                    (F2)
With variable lengths, a_{t,b} = [t ≤ len_b] and a frozen state past the end:
    h_t = a_t h_t + (1 − a_t) h_{t−1}                                               (F3)
The head (model.py) reads o_t = h_t Vᵀ + c, ŷ_t = g(o_t)                            (F4)

Backward. G_t = ∂L/∂h_t through everything except h_{t+1} (the head, or the layer above),
and ∂L/∂h_T from outside (zero unless a decoder reads the final state):
    ∂L/∂h_t = G_t + ∂L/∂h_{t+1} ∂h_{t+1}/∂h_t = G_t + δ_{t+1} W                    (B1)
              (frozen rows: + (1 − a_{t+1}) ∂L/∂h_{t+1}, the identity of F3;
               recurrent dropout: (δ_{t+1} W) ⊙ ρ before that is added, DR4)
    δ_t = ∂L/∂z_t = a_t ⊙ ∂L/∂h_t ⊙ f'(z_t),   f' from h_t (activations.py)          (B2)
    ∂L/∂W = Σ_t δ_tᵀ h_{t−1}      (recurrent dropout: h_{t−1} ⊙ ρ, DR4)              (B3)
    ∂L/∂U = Σ_t δ_tᵀ x_t        (ids: row x_t of Uᵀ gathered, so scatter-add δ_t)   (B4)
    ∂L/∂b = Σ_t δ_t                                                                 (B5)
    ∂L/∂x_t = δ_t U                                                                 (B6)
    ∂L/∂h_0 = ∂L/∂h_0 from (B1) at t = 0 = δ_1 W (+ frozen pass-through)            (B7)
Head, with ∂L/∂o_t from losses.py (L2/L3):
    ∂L/∂V = Σ_t (∂L/∂o_t)ᵀ h_t,   ∂L/∂c = Σ_t ∂L/∂o_t,   G_t = ∂L/∂o_t V            (B8)

Unrolling (B1) gives the seeds' explicit sum over earlier steps of Jacobian products,
∂L/∂W = Σ_t Σ_{k≤t} ∂L_t/∂h_t (Π_{j=k}^{t−1} ∂h_{j+1}/∂h_j) ∂h_k/∂W|direct, with
∂h_{j+1}/∂h_j = diag(f'(z_{j+1})) W; the recursion computes the same sum in O(T) products.

Speed (perf notes): all T input projections are ONE GEMM (or one gather for ids) before the
loop, written straight into the h buffer; the forward loop does only h_{t−1} Wᵀ and f; f'(z)
for every step is one vectorised op; the backward loop does only δ_t W; dW, dU, db, dx are
one GEMM/sum each over all T·B rows after the loop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from .. import activations, compiled, dropout
from .. import init as inits


@dataclass
class Cache:
    """What the backward needs from the forward: inputs, every state, the active steps and
    the recurrent mask.

    x: (T, B, D) float or (T, B) int64 ids; h: (T+1, B, H) with h[0] = h_0, h[t] = h_t;
    active: (T, B) bool, or None when every step of every sequence is active;
    rmask: (B, H) ρ of (DR3), or None (no recurrent dropout)."""

    x: np.ndarray
    h: np.ndarray
    active: np.ndarray | None
    rmask: np.ndarray | None = None


def forward(x, h0, U, W, b, activation, active=None, rmask=None):
    """Run (F1)–(F3) over all T steps.

    x: (T, B, D) float or (T, B) ids in [0, D) (not checked here); h0: (B, H); U (H, D), W (H, H), b (H,);
    active: (T, B) bool or None; rmask: (B, H) ρ (DR3) or None. Returns (h, cache) with
    h (T+1, B, H), h[0] = h0. The compiled loops (compiled.py) take no mask: with one, the
    NumPy loops run."""
    T, B = x.shape[:2]
    H = W.shape[0]
    h = np.empty((T + 1, B, H), dtype=W.dtype)
    h[0] = h0
    z_in = h[1:].reshape(T * B, H)  # x_t Uᵀ + b for every t at once, in place of h_1…h_T (F1)
    if x.ndim == 2:  # ids: x_t Uᵀ is row x_t of Uᵀ, a gather — never a one-hot
        # mode="clip" writes straight into z_in ("raise" buffers the whole output first); the
        # ids were range-checked where they entered (batch.make_inputs), so nothing is clipped
        np.take(np.ascontiguousarray(U.T), x.reshape(-1), axis=0, out=z_in, mode="clip")
    else:
        np.matmul(x.reshape(T * B, -1), U.T, out=z_in)
    z_in += b
    WT = np.ascontiguousarray(W.T)  # a contiguous Wᵀ is faster in the GEMM (perf notes)
    if rmask is None and compiled.use(B, H):  # small batches: compiled.py
        compiled.forward(h, WT, activation, active)
    else:
        _forward_loop(h, WT, activation, active, rmask)
    return h, Cache(x, h, active, rmask)


def _forward_loop(h, WT, activation, active, rmask=None):
    """(F1)–(F3) for t = 1 … T with NumPy, in place: h[t] (t ≥ 1) holds x_t Uᵀ + b on entry,
    h_t on exit. h: (T+1, B, H); WT: (H, H) = Wᵀ; active: (T, B) bool or None; rmask: (B, H) or None."""
    rec = np.empty(h.shape[1:], dtype=h.dtype)
    dropped = None if rmask is None else np.empty_like(rec)
    hs = list(h)  # the per-step views, made once rather than by indexing in the loop
    for t in range(len(hs) - 1):
        h_prev = hs[t] if rmask is None else np.multiply(hs[t], rmask, out=dropped)  # h_{t−1} ⊙ ρ (DR3)
        np.matmul(h_prev, WT, out=rec)  # h_{t−1} Wᵀ (F1)
        hs[t + 1] += rec
        activations.apply(activation, hs[t + 1], out=hs[t + 1])  # (F2)
        if active is not None:
            np.copyto(hs[t + 1], hs[t], where=~active[t][:, None])  # frozen past the end (F3)


def backward(cache: Cache, G, dh_T, U, W, activation, need_dx: bool):
    """Run (B1)–(B7) from t = T down to 1.

    G: (T, B, H) ∂L/∂h_t from the head or the layer above (read only);
    dh_T: (B, H) ∂L/∂h_T from outside, or None. Returns (grads {U, W, b}, dx, dh0):
    dx (T, B, D) when need_dx (float inputs only), else None; dh0 (B, H)."""
    x, h, active, rmask = cache.x, cache.h, cache.active, cache.rmask
    T, B, H = G.shape
    dh = np.zeros((B, H), dtype=W.dtype) if dh_T is None else dh_T.astype(W.dtype, copy=True)
    if rmask is None and compiled.use(B, H):  # compiled.py takes no mask (as forward)
        delta, dh = compiled.backward(G, h, W, dh, activation, active)
    else:
        delta, dh = _backward_loop(G, h, W, dh, activation, active, rmask)
    rows = delta.reshape(T * B, H)
    grads = {
        "W": rows.T @ dropout.apply(h[:-1], rmask).reshape(T * B, H),  # Σ_t δ_tᵀ (h_{t−1} ⊙ ρ) (B3) (DR4)
        "U": input_weight_grad(rows, x, U, active),  # (B4)
        "b": rows.sum(axis=0, dtype=np.float64).astype(W.dtype),  # Σ_t δ_t (B5), float64 sum
    }
    dx = (rows @ U).reshape(T, B, -1) if need_dx else None  # δ_t U (B6)
    return grads, dx, dh  # dh is now ∂L/∂h_0 (B7)


def _backward_loop(G, h, W, dh, activation, active, rmask=None):
    """(B1)–(B2) for t = T … 1 with NumPy. dh (B, H): ∂L/∂h_T, overwritten; rmask: (B, H) ρ or None.
    Returns (δ (T, B, H), ∂L/∂h_0 (B, H))."""
    delta = activations.derivative_from_output(activation, h[1:])  # f'(z_t) for all t (B2)
    if active is not None:
        delta *= active[..., None]  # a_t in (B2)
    nxt = np.empty_like(dh)
    deltas, Gs = list(delta), list(G)  # per-step views, made once
    for t in range(len(Gs) - 1, -1, -1):
        dh += Gs[t]  # ∂L/∂h_t = G_t + δ_{t+1} W (B1)
        deltas[t] *= dh  # δ_t (B2)
        np.matmul(deltas[t], W, out=nxt)  # δ_t W, the only product in the loop
        if rmask is not None:
            nxt *= rmask  # (δ_t W) ⊙ ρ (DR4)
        if active is not None and not active[t].all():
            nxt += dh * ~active[t][:, None]  # frozen rows pass ∂L/∂h straight back (B1)
        dh, nxt = nxt, dh
    return delta, dh


def step_back(cache: Cache, t: int, dh, W, activation):
    """(B1)–(B2) through step t alone, without G: ∂L/∂h_{t−1} = (a_t ⊙ ∂L/∂h_t ⊙ f'(z_t)) W
    (+ (1 − a_t) ∂L/∂h_t, frozen rows), for t = 1 … T. dh: (..., B, H) ∂L/∂h_t, any leading
    dims (several gradients at once); returns (..., B, H). The vector–Jacobian product of
    ∂h_t/∂h_{t−1} = diag(f'(z_t)) W (and I in frozen rows), as the loop of ``backward``."""
    fp = activations.derivative_from_output(activation, cache.h[t])  # f'(z_t) (B2)
    if cache.active is not None:
        fp *= cache.active[t - 1][:, None]  # a_t (B2)
    back = (dh * fp) @ W  # δ_t W (B1)
    if cache.rmask is not None:
        back *= cache.rmask  # through the recurrent dropout mask (DR4)
    if cache.active is not None:
        back += dh * ~cache.active[t - 1][:, None]  # frozen rows pass ∂L/∂h_t straight back (B1)
    return back


def input_weight_grad(rows, x, U, active=None):
    """∂L/∂U = Σ_t δ_tᵀ x_t (B4): one GEMM for float inputs; for ids, δ rows are summed into the
    columns of U they were gathered from (a scatter-add; the one-hot product is never formed).
    Padding steps (δ = 0) are left out, so the ids written there cannot change a single bit."""
    if x.ndim == 3:
        return rows.T @ x.reshape(rows.shape[0], -1)
    ids = x.reshape(-1)
    if active is not None:
        valid = active.reshape(-1)
        ids, rows = ids[valid], rows[valid]
    dU = np.zeros_like(U)
    scatter_add(dU.T, ids, rows)
    return dU


def scatter_add(out, ids, rows, passes=8):
    """out[v] += Σ_{n: ids_n = v} rows_n for out (V, H), ids (N,), rows (N, H).

    Pass k adds every id's k-th row (in order of appearance): within a pass the ids are
    distinct, so a fancy-indexed += is exact. The rows beyond the first ``passes`` of a frequent
    id are summed per id by one reduceat. Measured (benchmarks/micro_ops.py; 3200 ids of
    V = 10,000, H = 256): 3.3 ms, against 11.2 ms for a reduceat over every id and 27 ms for
    np.add.at."""
    order = np.argsort(ids, kind="stable")  # rows of the same id next to each other
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    counts = np.diff(np.r_[starts, len(ids)])
    rank = np.arange(len(ids)) - np.repeat(starts, counts)  # a row is the rank-th of its id
    for k in range(min(passes, counts.max())):
        n = order[rank == k]
        out[ids[n]] += rows[n]
    rest = np.flatnonzero(rank >= passes)  # sorted positions, grouped by id
    if rest.size:
        rest_ids = sorted_ids[rest]
        first = np.flatnonzero(np.r_[True, rest_ids[1:] != rest_ids[:-1]])
        out[rest_ids[first]] += np.add.reduceat(rows[order[rest]], first, axis=0)


class Elman:
    """The Elman cell of (F1)–(F3)/(B1)–(B7) behind the interface of ``bptt.cells``:
    state (h,), parameters U (H, D_in), W (H, H), b (H,); activation f ∈ activations.NAMES."""

    name = "elman"
    OPTIONS = ()
    torch_module = "RNN"

    def __init__(self, activation: str = "tanh"):
        self.activation = v.choice("activation", activation, activations.NAMES)

    @classmethod
    def make(cls, activation="tanh", **options):
        no_cell_options(cls.name, options)
        return cls(activation)

    @property
    def options(self) -> dict:
        return {}

    def output_size(self, H: int) -> int:
        return H

    def state_sizes(self, H: int) -> tuple:
        return (H,)

    def param_shapes(self, H: int, D_in: int) -> dict:
        return {"U": (H, D_in), "W": (H, H), "b": (H,)}

    def init(self, scheme: str, rng, H: int, D_in: int) -> dict:
        return inits.layer(scheme, rng, H, D_in)

    def forward(self, x, state0, p, active, rmask=None):
        h, cache = forward(x, state0[0], p["U"], p["W"], p["b"], self.activation, active, rmask)
        return h[1:], cache, (h[-1],)  # frozen past each end, so h_T is the last valid state

    def backward(self, cache, G, dstate_T, p, need_dx):
        dh_T = None if dstate_T is None else dstate_T[0]
        grads, dx, dh0 = backward(cache, G, dh_T, p["U"], p["W"], self.activation, need_dx)
        return grads, dx, (dh0,)

    def step_back(self, cache, t: int, dstate, p) -> tuple:
        return (step_back(cache, t, dstate[0], p["W"], self.activation),)

    def state_at(self, cache, t: int) -> tuple:
        return (cache.h[t],)

    # ------------------------------------------------------------ torch.nn.RNN
    @property
    def torch_options(self) -> dict:
        """Keyword arguments of torch.nn.RNN beyond the sizes: its nonlinearity (tanh or relu)."""
        if self.activation not in TORCH_ACTIVATIONS:
            raise ValueError(f"torch.nn.RNN supports nonlinearity 'tanh' or 'relu' only; this model uses "
                             f"activation={self.activation!r}, which nn.RNN cannot express")
        return {"nonlinearity": self.activation}

    def torch_weights(self, p: dict) -> dict:
        """torch's per-layer names (without _l{k}{_reverse}): b goes to bias_ih, bias_hh is 0."""
        return {"weight_ih": p["U"], "weight_hh": p["W"], "bias_ih": p["b"], "bias_hh": np.zeros_like(p["b"])}

    def from_torch_weights(self, w: dict) -> dict:
        """Our {U, W, b} from torch's per-layer weights: b = bias_ih + bias_hh."""
        return {"U": w["weight_ih"], "W": w["weight_hh"], "b": w["bias_ih"] + w["bias_hh"]}


TORCH_ACTIVATIONS = ("tanh", "relu")  # torch.nn.RNN's nonlinearities


def no_cell_options(cell: str, options: dict) -> None:
    """Raise if options belonging to other cells were set (e.g. proj_size for an Elman cell)."""
    set_ = sorted(k for k, value in options.items() if value is not None)
    if set_:
        raise ValueError(f"cell={cell!r} takes no option {', '.join(set_)}")
