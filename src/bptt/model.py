"""The RNN: configuration, parameters, stacking, bidirectional layers, the output head.

Parameter names (``net.params``, a flat dict; shapes in torch's (out, in) layout):
    layer 1, forward      U (H, D), W (H, H), b (H,)
    layer l ≥ 2           U{l} (H, dirs·H), W{l} (H, H), b{l} (H,)      e.g. U2, W2, b2
    reverse direction     the same names + "_rev"                        e.g. U_rev, W2_rev
    head                  V (K, dirs·H), c (K,)
Initial and final states are stacked like torch's h_0/h_n: (num_layers·dirs, B, H), row
l·dirs + d for layer l, direction d (0 forward, 1 reverse). A bidirectional layer's output is
[h_fwd; h_bwd] (B, 2H), the input of the next layer or the head (seed 001).
The reverse direction reads each sequence's valid prefix reversed (sequences.reverse_index).
The equations are in elman.py (F1–F4, B1–B8) and losses.py (L1–L4).
"""
from __future__ import annotations

import numpy as np

from . import _validate as v
from . import activations, elman
from . import init as inits
from .batch import Batch, Inputs, make_batch, make_inputs
from .gradients import METHODS
from .losses import Head
from .outputs import Gradients, Output, Trace, param_name
from .sequences import gather_time, reverse_index


class RNN:
    """An Elman RNN h_t = f(x_t Uᵀ + h_{t−1} Wᵀ + b), ŷ_t = g(h_t Vᵀ + c), trained by explicit BPTT.

    input_size D (or the vocabulary size for integer-id inputs), hidden_size H, output_size K.
    activation f ∈ tanh, relu, sigmoid, identity; output g ∈ softmax, sigmoid, identity, tanh,
    relu; loss ∈ cross_entropy, bce, mse (None: the canonical loss of ``output``).
    init ∈ uniform, xavier, orthogonal, identity (init.py); dtype float32 or float64."""

    def __init__(self, input_size, hidden_size, output_size, *, activation="tanh", output="softmax",
                 loss=None, num_layers=1, bidirectional=False, init="uniform", seed=None,
                 dtype=np.float32):
        self.input_size = v.positive_int("input_size", input_size)
        self.hidden_size = v.positive_int("hidden_size", hidden_size)
        self.output_size = v.positive_int("output_size", output_size)
        self.activation = v.choice("activation", activation, activations.NAMES)
        self.head = Head.make(output, loss)
        self.num_layers = v.positive_int("num_layers", num_layers)
        if not isinstance(bidirectional, bool):
            raise TypeError(f"bidirectional must be True or False, got {bidirectional!r}")
        self.bidirectional = bidirectional
        self.init = v.choice("init", init, inits.SCHEMES)
        self.dtype = _float_dtype(dtype)
        if isinstance(seed, bool) or (seed is not None and not isinstance(seed, (int, np.integer))):
            raise TypeError(f"seed must be None or an integer, got {seed!r}")
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be None or an integer ≥ 0, got {seed}")
        self.seed = seed
        self.params = self._init_params(np.random.default_rng(seed))

    # ---------------------------------------------------------------- configuration
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def config(self) -> dict:
        """Everything that defines the architecture, JSON-able; ``RNN(**config)`` rebuilds it."""
        return {
            "input_size": self.input_size, "hidden_size": self.hidden_size,
            "output_size": self.output_size, "activation": self.activation,
            "output": self.head.output, "loss": self.head.loss, "num_layers": self.num_layers,
            "bidirectional": self.bidirectional, "init": self.init, "seed": self.seed,
            "dtype": np.dtype(self.dtype).name,
        }

    def param_shapes(self) -> dict:
        """{name: shape} for every parameter, in order (layers, directions, head)."""
        H, dirs = self.hidden_size, self.num_directions
        shapes = {}
        for layer in range(self.num_layers):
            D_in = self.input_size if layer == 0 else dirs * H
            for d in range(dirs):
                shapes[param_name("U", layer, d)] = (H, D_in)
                shapes[param_name("W", layer, d)] = (H, H)
                shapes[param_name("b", layer, d)] = (H,)
        shapes["V"] = (self.output_size, dirs * H)
        shapes["c"] = (self.output_size,)
        return shapes

    def _init_params(self, rng) -> dict:
        H, dirs = self.hidden_size, self.num_directions
        params = {}
        for layer in range(self.num_layers):
            D_in = self.input_size if layer == 0 else dirs * H
            for d in range(dirs):
                for base, value in inits.layer(self.init, rng, H, D_in).items():
                    params[param_name(base, layer, d)] = value
        params.update(inits.head(self.init, rng, self.output_size, dirs * H))
        return {k: np.ascontiguousarray(a, dtype=self.dtype) for k, a in params.items()}

    def set_params(self, params: dict) -> None:
        """Replace every parameter by a copy of ``params`` (same names and shapes, finite)."""
        self.params = v.param_dict(params, self.param_shapes(), self.dtype)

    def astype(self, dtype) -> "RNN":
        """A copy of this model with parameters in ``dtype`` (float32 or float64)."""
        other = RNN(**{**self.config, "dtype": dtype})
        other.params = {k: a.astype(other.dtype) for k, a in self.params.items()}
        return other

    # ---------------------------------------------------------------- public passes
    def forward(self, x, h0=None, lengths=None) -> Output:
        """Outputs ŷ (T, B, K), top states h (T, B, dirs·H) and final states h_n (L·dirs, B, H).

        x: (T, B, D) float or (T, B) int ids; h0: (L·dirs, B, H) or None (zeros);
        lengths: (B,) ints in [1, T] or None (all T). Past its length a state is frozen."""
        trace = self.run(make_inputs(self, x, h0, lengths))
        return Output(self.head.predict(self.logits(trace.top)), trace.top, trace.h_n)

    def loss(self, x, y, mask=None, h0=None, lengths=None) -> float:
        """L = (1/B) Σ_b Σ_t m_{t,b} L_t(b) (losses.py, L1), without gradients.

        y: (T, B) class ids for cross_entropy, else (T, B, K) floats; with mask="last"
        (many-to-one) y is (B,) or (B, K). mask: None (every valid step), "last", or (T, B) ≥ 0."""
        batch = make_batch(self, x, y, mask, h0, lengths)
        rows, o = self._head_rows(batch, self.run(batch).top)
        return self.head.value(o, batch.y.reshape((-1,) + batch.y.shape[2:])[rows], batch.w.reshape(-1)[rows])

    def loss_and_grad(self, x, y, mask=None, h0=None, lengths=None, *, method="bptt",
                      input_grad=False, **options) -> tuple[float, Gradients]:
        """(L, ∂L/∂θ) by ``method`` (see ``bptt.gradients.METHODS``; default reverse-mode BPTT).

        Arguments as ``loss``. The Gradients dict also carries ``dh0`` (always) and ``dx`` (float
        inputs, when ``input_grad=True``). ``options`` are the method's own (e.g. k1, k2)."""
        v.choice("method", method, tuple(METHODS))
        batch = make_batch(self, x, y, mask, h0, lengths)
        if input_grad and batch.x.ndim != 3:
            raise ValueError("input_grad=True needs float inputs x (T, B, D); token ids have no gradient")
        return METHODS[method](self, batch, input_grad=input_grad, **options)

    # ---------------------------------------------------------------- building blocks
    def run(self, inp: Inputs) -> Trace:
        """The hidden layers over a validated batch: every layer and direction, (F1)–(F3)."""
        H, dirs, T, B = self.hidden_size, self.num_directions, inp.T, inp.B
        rev = reverse_index(inp.lengths, T, B) if self.bidirectional else None
        layer_in, caches = inp.x, []
        h_n = np.empty((self.num_layers * dirs, B, H), dtype=self.dtype)
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                p = {base: self.params[param_name(base, layer, d)] for base in "UWb"}
                k = layer * dirs + d
                x_d = gather_time(layer_in, rev) if d else layer_in
                h, cache = elman.forward(x_d, inp.h0[k], p["U"], p["W"], p["b"], self.activation, inp.active)
                caches.append(cache)
                h_n[k] = h[T]  # frozen past each end, so h_T is the last valid state
                outs.append(gather_time(h[1:], rev) if d else h[1:])
            layer_in = np.concatenate(outs, axis=-1) if dirs == 2 else outs[0]
        return Trace(layer_in, h_n, caches, rev)

    def backprop(self, trace: Trace, d_top, dh_n=None, input_grad=False,
                 layer_backward=elman.backward) -> Gradients:
        """(B1)–(B7) through every layer, top to bottom. d_top: (T, B, dirs·H) = G_t of the top
        layer; dh_n: (L·dirs, B, H) ∂L/∂h_n from outside or None. Returns the U/W/b gradients
        of every layer (no V, c), with ``dh0`` and, if ``input_grad``, ``dx``.
        ``layer_backward`` has elman.backward's signature; gradients/unrolled.py passes its own."""
        H, dirs = self.hidden_size, self.num_directions
        grads = Gradients()
        dh0 = np.empty((self.num_layers * dirs, d_top.shape[1], H), dtype=self.dtype)
        for layer in reversed(range(self.num_layers)):
            need_dx = layer > 0 or input_grad
            d_in = None
            for d in range(dirs):
                k = layer * dirs + d
                G = d_top[..., d * H:(d + 1) * H]
                G = gather_time(G, trace.reverse) if d else np.ascontiguousarray(G)
                p = {base: self.params[param_name(base, layer, d)] for base in "UW"}
                g, dx, dh0[k] = layer_backward(trace.caches[k], G, None if dh_n is None else dh_n[k],
                                               p["U"], p["W"], self.activation, need_dx)
                for base, value in g.items():
                    grads[param_name(base, layer, d)] = value
                if need_dx:
                    dx = gather_time(dx, trace.reverse) if d else dx
                    d_in = dx if d_in is None else d_in + dx
            d_top = d_in
        grads.dh0 = dh0
        grads.dx = d_top if input_grad else None
        return grads

    def head_backward(self, batch: Batch, top: np.ndarray) -> tuple[float, dict, np.ndarray]:
        """The loss and the head's backward (B8): returns (L, {V, c}, G) with G (T, B, dirs·H).

        o_t = h_t Vᵀ + c and ∂L/∂o_t are formed block by block of rows (each block stays in
        cache, which matters for large vocabularies); dV, dc and G are one product each."""
        rows = self._loss_rows(batch)
        top_rows = top.reshape(-1, top.shape[-1])[rows]  # a view when every step has a loss
        y = batch.y.reshape((-1,) + batch.y.shape[2:])[rows]
        w = batch.w.reshape(-1)[rows]
        V, c = self.params["V"], self.params["c"]
        VT = np.ascontiguousarray(V.T)
        d_o = np.empty((len(w), self.output_size), dtype=self.dtype)
        step = max(64, _HEAD_BLOCK_ELEMENTS // self.output_size)
        loss, dc = 0.0, np.zeros(self.output_size)
        for s in range(0, len(w), step):
            blk = slice(s, s + step)
            logits(top_rows[blk], VT, c, out=d_o[blk])  # o_t (F4)
            loss += self.head.value_and_grad_inplace(d_o[blk], y[blk], w[blk])  # ∂L/∂o_t (L2/L3)
            # Σ_t ∂L/∂o_t while the block is in cache: a block's sum in the model's dtype, the
            # blocks' in float64 (cheaper than one float64 sum of all of d_o: profile_bptt.py)
            dc += d_o[blk].sum(axis=0)
        head = {"V": d_o.T @ top_rows,  # Σ_t (∂L/∂o_t)ᵀ h_t
                "c": dc.astype(self.dtype)}
        if isinstance(rows, slice):  # every step carries a loss: no scatter
            G = d_o @ V  # G_t = ∂L/∂o_t V
        else:
            G = np.zeros((top.shape[0] * top.shape[1], top.shape[-1]), dtype=self.dtype)
            G[rows] = d_o @ V
        return loss, head, G.reshape(top.shape)

    def _loss_rows(self, batch: Batch):
        """The flat (t·B + b) indices of the steps that carry a loss (a full slice when all do)."""
        w = batch.w.reshape(-1)
        return slice(None) if w.all() else np.flatnonzero(w)

    def _head_rows(self, batch: Batch, top: np.ndarray):
        """The loss rows and their o_t = h_t Vᵀ + c, (N, K) (F4)."""
        rows = self._loss_rows(batch)
        return rows, self.logits(top.reshape(-1, top.shape[-1])[rows])

    def logits(self, h: np.ndarray) -> np.ndarray:
        """o_t = h_t Vᵀ + c (F4) for top states h (..., dirs·H) -> (..., K)."""
        return logits(h, self.params["V"].T, self.params["c"])


def logits(h: np.ndarray, VT: np.ndarray, c: np.ndarray, out=None) -> np.ndarray:
    """The head's o_t = h_t Vᵀ + c (F4), written once: h (..., H), VT = Vᵀ (H, K), c (K,) -> (..., K);
    into ``out`` if given (the blocked head of ``RNN.head_backward`` passes each block)."""
    o = np.matmul(h, VT, out=out)
    o += c
    return o


# rows of the head's block × K ≈ this many numbers (1 MiB of float32): a block stays in L2 cache
_HEAD_BLOCK_ELEMENTS = 1 << 18


def _float_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt.type
