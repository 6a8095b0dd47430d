"""The RNN: configuration, parameters, stacking, bidirectional layers, the output head.

Parameter names (``net.params``, a flat dict; shapes in torch's (out, in) layout):
    layer 1, forward      U (H, D), W (H, H), b (H,)
    layer l ≥ 2           U{l} (H, dirs·H), W{l} (H, H), b{l} (H,)      e.g. U2, W2, b2
    reverse direction     the same names + "_rev"                        e.g. U_rev, W2_rev
    head                  V (K, dirs·H), c (K,)
(the base names and shapes of a layer are its cell's: bptt.cells; an LSTM with proj_size P
has h_t of width P, so the next layer's U and the head's V read dirs·P.)
Initial and final states are stacked like torch's h_0/h_n: (num_layers·dirs, B, H), row
l·dirs + d for layer l, direction d (0 forward, 1 reverse); an LSTM's state is the pair
(h, c), passed and returned as torch's tuple (h_0, c_0). Internally a state is always a tuple
(``Inputs.state0``, ``Trace.state_n``), one array per part. A bidirectional layer's output is
[h_fwd; h_bwd] (B, 2H), the input of the next layer or the head (seed 001).
The reverse direction reads each sequence's valid prefix reversed (sequences.reverse_index).
Written once for every cell: the stacking, the directions, the states and the head here; each
cell's equations in its module (cells/elman.py F1–F4, B1–B8; cells/lstm.py; cells/gru.py) and
the losses in losses.py (L1–L4).
"""
from __future__ import annotations

import numpy as np

from . import _validate as v
from . import cells, dropout, embedding, memory
from . import init as inits
from .batch import Batch, Inputs, make_batch, make_inputs
from .gradients import METHODS
from .losses import Head
from .outputs import Gradients, Output, Trace, param_name, public_state
from .sequences import gather_time, reverse_index


class RNN:
    """A recurrent network trained by explicit BPTT: an Elman RNN h_t = f(x_t Uᵀ + h_{t−1} Wᵀ + b)
    by default, or gated cells (cell="lstm", "gru"), under the head ŷ_t = g(h_t Vᵀ + c).

    input_size D (or the vocabulary size for integer-id inputs), hidden_size H, output_size K.
    cell ∈ elman, lstm, gru (bptt.cells); activation f ∈ tanh, relu, sigmoid, identity (Elman;
    the gated cells' are fixed); output g ∈ softmax, sigmoid, identity, tanh, relu;
    loss ∈ cross_entropy, bce, mse (None: the canonical loss of ``output``).
    init ∈ uniform, xavier, orthogonal, identity (init.py); dtype float32 or float64.
    Cell options (None: the cell's default; an option of another cell is a ValueError):
    proj_size (LSTM: h_t = W_hr(o ⊙ tanh c_t) of width P), forget_bias (LSTM: the forget
    gate's initial bias), reset_after (GRU: torch's reset after the recurrent product).
    embedding_size d: integer-id inputs go through E (input_size, d) first (embedding.py);
    tie_weights: the head's V is E (needs output_size = input_size and d = dirs·H).
    learn_h0: the initial state is a parameter, "h0" (L·dirs, H) (and "c0" for an LSTM),
    used whenever no h0 is passed (zeros at first, as the default state).
    dropout p: on every layer's input and the head's input while training (dropout.py; only
    when ``loss_and_grad`` gets a ``dropout_rng``); variational: one mask per sequence.
    recurrent_dropout p_r: on h_{t−1} where it enters each layer's recurrent product, one mask
    per sequence and layer-direction (Gal & Ghahramani 2016; dropout.py DR3–DR4), likewise
    only with a ``dropout_rng``."""

    def __init__(self, input_size, hidden_size, output_size, *, cell="elman", activation="tanh",
                 output="softmax", loss=None, num_layers=1, bidirectional=False, init="uniform",
                 seed=None, dtype=np.float32, proj_size=None, forget_bias=None, reset_after=None,
                 embedding_size=None, tie_weights=False, learn_h0=False, dropout=0.0, variational=False,
                 recurrent_dropout=0.0):
        self.input_size = v.positive_int("input_size", input_size)
        self.hidden_size = v.positive_int("hidden_size", hidden_size)
        self.output_size = v.positive_int("output_size", output_size)
        self.cell = cells.make(cell, activation, proj_size=proj_size, forget_bias=forget_bias,
                               reset_after=reset_after)
        self.activation = activation
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
        self.embedding_size = None if embedding_size is None else v.positive_int("embedding_size", embedding_size)
        if not isinstance(tie_weights, bool):
            raise TypeError(f"tie_weights must be True or False, got {tie_weights!r}")
        head_in = self.num_directions * self.state_width
        if tie_weights and (self.embedding_size != head_in or self.output_size != self.input_size):
            raise ValueError(f"tie_weights=True makes the head's V (output_size, {head_in}) the embedding E "
                             f"(input_size, embedding_size): it needs embedding_size={head_in} and output_size="
                             f"input_size; got embedding_size={self.embedding_size}, output_size="
                             f"{self.output_size}, input_size={self.input_size}")
        self.tie_weights = tie_weights
        if not isinstance(learn_h0, bool):
            raise TypeError(f"learn_h0 must be True or False, got {learn_h0!r}")
        self.learn_h0 = learn_h0
        memory.check(f"RNN(input_size={self.input_size}, hidden_size={self.hidden_size}, output_size="
                     f"{self.output_size}, num_layers={self.num_layers}, embedding_size={self.embedding_size})",
                     memory.params_bytes(self.param_shapes(), self.dtype), "choose smaller sizes")
        self.dropout = v.real("dropout", dropout, 0.0, 1.0, high_open=True)
        if not isinstance(variational, bool):
            raise TypeError(f"variational must be True or False, got {variational!r}")
        self.variational = variational
        self.recurrent_dropout = v.real("recurrent_dropout", recurrent_dropout, 0.0, 1.0, high_open=True)
        self.params = self._init_params(np.random.default_rng(seed))

    # ---------------------------------------------------------------- configuration
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def config(self) -> dict:
        """Everything that defines the architecture, JSON-able; ``RNN(**config)`` rebuilds it.
        (A config without "cell", written before the gated cells, is an Elman RNN.)"""
        return {
            "input_size": self.input_size, "hidden_size": self.hidden_size,
            "output_size": self.output_size, "cell": self.cell.name, "activation": self.activation,
            "output": self.head.output, "loss": self.head.loss, "num_layers": self.num_layers,
            "bidirectional": self.bidirectional, "init": self.init, "seed": self.seed,
            "dtype": np.dtype(self.dtype).name, **self.cell.options,
            **({"embedding_size": self.embedding_size, "tie_weights": self.tie_weights}
               if self.embedding_size else {}),
            **({"learn_h0": True} if self.learn_h0 else {}),
            **({"dropout": self.dropout, "variational": self.variational} if self.dropout else {}),
            **({"recurrent_dropout": self.recurrent_dropout} if self.recurrent_dropout else {}),
        }

    @property
    def state_width(self) -> int:
        """The width of h_t: H, or an LSTM's proj_size."""
        return self.cell.output_size(self.hidden_size)

    def state_shapes(self, B: int) -> tuple:
        """The shapes of the state tuple for B sequences: ((L·dirs, B, size), …), e.g. one
        (L·dirs, B, H) for Elman and GRU, (h, c) for LSTM."""
        n = self.num_layers * self.num_directions
        return tuple((n, B, size) for size in self.cell.state_sizes(self.hidden_size))

    def _layers(self):
        """(layer, direction, row l·dirs + d, D_in) for every layer and direction, bottom up."""
        dirs = self.num_directions
        for layer in range(self.num_layers):
            D_in = (self.embedding_size or self.input_size) if layer == 0 else dirs * self.state_width
            for d in range(dirs):
                yield layer, d, layer * dirs + d, D_in

    def dropout_masks(self, rng, T: int, B: int, ids: bool) -> list:
        """The dropout masks of one batch, in a fixed order: the input of each layer (DR1; None
        for token ids without an embedding, nothing dense to drop, or when dropout = 0), then
        the head's; with recurrent_dropout, then one recurrent mask (B, width of h) per row
        l·dirs + d (DR3), drawn after the others (so theirs are the same draws with or without)."""
        width = self.num_directions * self.state_width
        first = self.embedding_size or (None if ids else self.input_size)
        widths = [first] + [width] * (self.num_layers - 1) + [width]
        if not self.dropout:
            widths = [None] * len(widths)
        drawn = iter(dropout.draw(rng, self.dropout, self.variational, T, B, [w for w in widths if w], self.dtype))
        masks = [next(drawn) if w else None for w in widths]
        if self.recurrent_dropout:
            rows = self.num_layers * self.num_directions
            masks += dropout.draw(rng, self.recurrent_dropout, True, T, B, [self.state_width] * rows, self.dtype)
        return masks

    def layer_params(self, layer: int, direction: int) -> dict:
        """{base name: array} of one layer and direction, e.g. {"U": …, "W": …, "b": …}."""
        return {base: self.params[param_name(base, layer, direction)]
                for base in self.cell.param_shapes(1, 1)}

    def param_shapes(self) -> dict:
        """{name: shape} for every parameter, in order (layers, directions, head)."""
        shapes = {}
        for layer, d, _, D_in in self._layers():
            for base, shape in self.cell.param_shapes(self.hidden_size, D_in).items():
                shapes[param_name(base, layer, d)] = shape
        if self.embedding_size:
            shapes["E"] = (self.input_size, self.embedding_size)
        if not self.tie_weights:
            shapes["V"] = (self.output_size, self.num_directions * self.state_width)
        shapes["c"] = (self.output_size,)
        for name, (n, _, size) in zip(self.state0_names, self.state_shapes(1)):
            shapes[name] = (n, size)
        return shapes

    @property
    def weight_names(self) -> list:
        """The parameters weight decay applies to: every matrix (U, W, R, E, V), not the
        biases (b, bn, c) nor a trainable initial state (h0, c0)."""
        return [k for k, a in self.params.items() if a.ndim >= 2 and k not in self.state0_names]

    @property
    def state0_names(self) -> tuple:
        """The parameter names of a trainable initial state: ("h0",) or ("h0", "c0"); () without."""
        return ("h0", "c0")[:len(self.cell.state_sizes(1))] if self.learn_h0 else ()

    def _init_params(self, rng) -> dict:
        params = {}
        for layer, d, _, D_in in self._layers():
            for base, value in self.cell.init(self.init, rng, self.hidden_size, D_in).items():
                params[param_name(base, layer, d)] = value
        head = inits.head(self.init, rng, self.output_size, self.num_directions * self.state_width)
        if self.embedding_size:  # torch's nn.Embedding draws N(0, 1); tied, E starts as the head's V
            params["E"] = head["V"] if self.tie_weights else rng.standard_normal((self.input_size, self.embedding_size))
        if self.tie_weights:
            del head["V"]
        params.update(head)
        for name, (n, _, size) in zip(self.state0_names, self.state_shapes(1)):
            params[name] = np.zeros((n, size))
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
    def forward(self, x, h0=None, lengths=None, *, dropout_rng=None) -> Output:
        """Outputs ŷ (T, B, K), top states h (T, B, dirs·H) and final states h_n (L·dirs, B, H).

        x: (T, B, D) float or (T, B) int ids; h0: (L·dirs, B, H) or None (zeros), for an LSTM
        the pair (h0, c0) as torch (then h_n is the pair (h_n, c_n));
        lengths: (B,) ints in [1, T] or None (all T). Past its length a state is frozen."""
        trace = self.run(make_inputs(self, x, h0, lengths, dropout_rng))
        return Output(self.head.predict(self.logits(trace.top)), trace.top, public_state(trace.state_n))

    def loss(self, x, y, mask=None, h0=None, lengths=None, *, dropout_rng=None) -> float:
        """L = (1/B) Σ_b Σ_t m_{t,b} L_t(b) (losses.py, L1), without gradients.

        y: (T, B) class ids for cross_entropy, else (T, B, K) floats; with mask="last"
        (many-to-one) y is (B,) or (B, K). mask: None (every valid step), "last", or (T, B) ≥ 0.
        dropout_rng: a numpy Generator draws this batch's dropout masks (``dropout`` or
        ``recurrent_dropout`` > 0, dropout.py); None: no dropout (evaluation)."""
        batch = make_batch(self, x, y, mask, h0, lengths, dropout_rng)
        rows, o = self._head_rows(batch, self.run(batch).top)
        return self.head.value(o, batch.y.reshape((-1,) + batch.y.shape[2:])[rows], batch.w.reshape(-1)[rows])

    def loss_and_grad(self, x, y, mask=None, h0=None, lengths=None, *, method="bptt",
                      input_grad=False, dropout_rng=None, **options) -> tuple[float, Gradients]:
        """(L, ∂L/∂θ) by ``method`` (see ``bptt.gradients.METHODS``; default reverse-mode BPTT).

        Arguments as ``loss``. The Gradients dict also carries ``dh0`` (always) and ``dx`` (float
        inputs, when ``input_grad=True``). ``options`` are the method's own (e.g. k1, k2)."""
        v.choice("method", method, tuple(METHODS))
        batch = make_batch(self, x, y, mask, h0, lengths, dropout_rng)
        if input_grad and batch.x.ndim != 3:
            raise ValueError("input_grad=True needs float inputs x (T, B, D); token ids have no gradient")
        return METHODS[method](self, batch, input_grad=input_grad, **options)

    # ---------------------------------------------------------------- building blocks
    def run(self, inp: Inputs) -> Trace:
        """The hidden layers over a validated batch: every layer and direction (the cell's forward)."""
        T, B = inp.T, inp.B
        rev = reverse_index(inp.lengths, T, B) if self.bidirectional else None
        ids = inp.x if self.embedding_size else None
        layer_in = inp.x if ids is None else embedding.forward(self.params["E"], ids)  # (E1)
        masks = inp.masks or [None] * (self.num_layers + 1)
        rows = self.num_layers * self.num_directions
        rmasks = (inp.masks or [])[self.num_layers + 1:] or [None] * rows  # row k's recurrent mask (DR3)
        caches, outs = [], []
        state_n = tuple(np.empty(shape, dtype=self.dtype) for shape in self.state_shapes(B))
        for layer, d, k, _ in self._layers():
            if d == 0:
                layer_in = dropout.apply(layer_in, masks[layer])  # (DR1)
            x_d = gather_time(layer_in, rev) if d else layer_in
            h, cache, state_T = self.cell.forward(x_d, tuple(s[k] for s in inp.state0),
                                                  self.layer_params(layer, d), inp.active, rmasks[k])
            caches.append(cache)
            for part, value in zip(state_n, state_T):
                part[k] = value
            outs.append(gather_time(h, rev) if d else h)
            if d == self.num_directions - 1:  # the layer is done: its output feeds the next
                layer_in = np.concatenate(outs, axis=-1) if d else outs[0]
                outs = []
        top = dropout.apply(layer_in, masks[self.num_layers])  # what the head reads (DR1)
        return Trace(top, state_n, caches, rev, ids, inp.active, inp.masks)

    def backprop(self, trace: Trace, d_top, dstate_n=None, input_grad=False, layer_backward=None) -> Gradients:
        """Every layer's backward, top to bottom. d_top: (T, B, dirs·H) = G_t of the top layer;
        dstate_n: a state tuple ((L·dirs, B, size), …) ∂L/∂state_n from outside, or None.
        Returns the gradients of every layer's parameters (no V, c), with ``dh0`` (∂L/∂state_0
        as a state tuple) and, if ``input_grad``, ``dx``.
        ``layer_backward`` has the cell's backward signature (default: the cell's own);
        gradients/unrolled.py passes its own."""
        backward = layer_backward or self.cell.backward
        H, dirs = self.state_width, self.num_directions
        masks = trace.masks or [None] * (self.num_layers + 1)
        d_top = dropout.apply(d_top, masks[self.num_layers])  # through the head's mask (DR2)
        grads = Gradients()
        dstate0 = tuple(np.empty(shape, dtype=self.dtype) for shape in self.state_shapes(d_top.shape[1]))
        d_in = None
        for layer, d, k, _ in reversed(list(self._layers())):
            need_dx = layer > 0 or input_grad or trace.ids is not None
            G = d_top[..., d * H:(d + 1) * H]
            G = gather_time(G, trace.reverse) if d else np.ascontiguousarray(G)
            dstate_T = None if dstate_n is None else tuple(s[k] for s in dstate_n)
            g, dx, ds0 = backward(trace.caches[k], G, dstate_T, self.layer_params(layer, d), need_dx)
            for part, value in zip(dstate0, ds0):
                part[k] = value
            for base, value in g.items():
                grads[param_name(base, layer, d)] = value
            if need_dx:
                dx = gather_time(dx, trace.reverse) if d else dx
                d_in = dx if d_in is None else d_in + dx
            if d == 0:  # the layer is done (its directions run in reverse order): go down
                d_top, d_in = (None if d_in is None else dropout.apply(d_in, masks[layer])), None  # (DR2)
        if trace.ids is not None:  # d_top is ∂L/∂x̃, the embedded inputs' gradient
            grads["E"] = embedding.backward(trace.ids, d_top, trace.active, self.input_size)  # (E2)
        grads.dh0 = dstate0  # the state tuple; gradients._common.ordered gives the public form
        grads.dx = d_top if input_grad else None
        return grads

    def add_head_grads(self, grads: dict, head: dict) -> dict:
        """Add the head's {V, c} (B8) into ``grads``: with tie_weights, V's gradient adds to E's."""
        for k, g in head.items():
            k = "E" if k == "V" and self.tie_weights else k
            grads[k] = grads[k] + g if k in grads else g
        return grads

    def head_backward(self, batch: Batch, top: np.ndarray) -> tuple[float, dict, np.ndarray]:
        """The loss and the head's backward (B8): returns (L, {V, c}, G) with G (T, B, dirs·H).

        o_t = h_t Vᵀ + c and ∂L/∂o_t are formed block by block of rows (each block stays in
        cache, which matters for large vocabularies); dV, dc and G are one product each."""
        rows = self._loss_rows(batch)
        top_rows = top.reshape(-1, top.shape[-1])[rows]  # a view when every step has a loss
        y = batch.y.reshape((-1,) + batch.y.shape[2:])[rows]
        w = batch.w.reshape(-1)[rows]
        V, c = self.head_weight, self.params["c"]
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
        return logits(h, self.head_weight.T, self.params["c"])

    @property
    def head_weight(self) -> np.ndarray:
        """The head's V (K, dirs·H): ``params["V"]``, or the embedding E when the weights are tied."""
        return self.params["E" if self.tie_weights else "V"]


def logits(h: np.ndarray, VT: np.ndarray, c: np.ndarray, out=None) -> np.ndarray:
    """The head's o_t = h_t Vᵀ + c (F4), written once: h (..., H), VT = Vᵀ (H, K), c (K,) -> (..., K);
    into ``out`` if given (the blocked head of ``RNN.head_backward`` passes each block)."""
    if out is None and h.ndim > 2:  # one GEMM over every position, not a batched one per leading index
        return logits(h.reshape(-1, h.shape[-1]), VT, c).reshape(*h.shape[:-1], VT.shape[1])
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
