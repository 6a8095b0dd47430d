r"""Plain weights: one ``.npz`` of named arrays and a JSON config, usable WITHOUT this library.

    bptt.weights.save("model.npz", net)        # net: bptt.RNN or bptt.seq2seq.Seq2Seq
    net = bptt.weights.load("model.npz")       # the same class, config and parameters

For training state (optimizer, step, RNG) use ``bptt.checkpoint``; this file holds only what is
needed to run the model, under documented names, and nothing is pickled.

Keys of the archive (every one readable with ``np.load(path, allow_pickle=False)``)
----------------------------------------------------------------------------------
``format``  0-d str array ``"bptt.weights/1"``.
``model``   0-d str array ``"RNN"`` or ``"Seq2Seq"``.
``config``  0-d str array: a JSON object, read it with ``json.loads(f["config"].item())``.
            RNN: input_size D, hidden_size H, output_size K, cell ("elman", "lstm", "gru";
            absent in files written before the gated cells: "elman"), activation f ("tanh",
            "relu", "sigmoid", "identity"; Elman's), output g ("softmax", "sigmoid",
            "identity", "tanh", "relu"), loss, num_layers L, bidirectional, init, seed, dtype,
            the cell's options (lstm: proj_size P, forget_bias; gru: reset_after), and when
            used: embedding_size d, tie_weights, learn_h0, dropout, variational, recurrent_dropout.
            Seq2Seq: src_vocab_size, tgt_vocab_size, hidden_size, num_layers, bidirectional,
            cell, decoder_cell, activation, init, seed, dtype (and the cells' options).
one array per parameter, float32 or float64 (the config's dtype), shapes (out, in) as torch:

    U (H, D)   W (H, H)   b (H,)          layer 1, forward direction (Elman; gated cells below)
    U2 (H, dirs·H), W2, b2, U3, …         layer 2, 3, … (dirs = 2 if bidirectional else 1)
    U_rev, W_rev, b_rev, U2_rev, …        the reverse direction of each layer
    V (K, dirs·H)   c (K,)                the output head (absent with tie_weights: V is E)
    E (D, d)                              the embedding of token ids (embedding_size d)
    h0 (L·dirs, H) [c0 (L·dirs, H)]       the trained initial state (learn_h0)
LSTM: U (4H, D), W (4H, H|P), b (4H,), gates stacked i, f, g, o (torch's weight_ih/weight_hh,
b = bias_ih + bias_hh), and R (P, H) = weight_hr with proj_size P (h_t then has width P).
GRU: U (3H, D), W (3H, H), b (3H,), gates stacked r, z, n; with reset_after also bn (H,), the
n block of torch's bias_hh (b's r, z blocks are bias_ih + bias_hh, its n block bias_ih).

The RNN these weights define (f and g from the config; x_t a float row (D,), or for token-id
inputs the one-hot row of id x_t, so that x_t @ U.T is the column U[:, x_t]):

    h_0 = 0 (H,)
    h_t = f(x_t @ U.T + h_{t-1} @ W.T + b)           t = 1 … T   (layer 1)
    o_t = h_t @ V.T + c,    y_t = g(o_t)            (softmax: exp(o_t) / sum(exp(o_t)))

The gated cells (σ(a) = 1 / (1 + exp(−a)); a_X the block of gate X; h_0 = c_0 = 0):

    LSTM   a = x_t @ U.T + h_{t-1} @ W.T + b;  i, f, o = σ(a_i), σ(a_f), σ(a_o);  g = tanh(a_g)
           c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)   (proj_size: h_t = (o * tanh(c_t)) @ R.T)
    GRU    p = x_t @ U.T + b;  q = h_{t-1} @ W.T;  r = σ(p_r + q_r);  z = σ(p_z + q_z)
           n = tanh(p_n + r * (q_n + bn))   (reset_after=False: n = tanh(p_n + (r * h_{t-1}) @ W_n.T))
           h_t = (1 − z) * n + z * h_{t-1}

With an embedding, x_t is the row E[id]; with learn_h0, h_0 (and c_0) of layer l and
direction d is row l·dirs + d of h0 (c0).
Layer l ≥ 2 reads the states of layer l − 1 as its x_t, with U{l}, W{l}, b{l}. The reverse
direction runs the same recurrence with the *_rev weights over x_T … x_1 (over each sequence's
own valid steps, when sequences have different lengths), and a bidirectional layer's output at
step t is the concatenation [h_t forward, h_t reverse] (2H,), the input of the next layer or
of V. torch: U = weight_ih_l0, W = weight_hh_l0, b = bias_ih_l0 + bias_hh_l0, V/c = Linear.

A Seq2Seq archive holds two such networks with prefixed names: ``enc.U``, ``enc.W``, ``enc.b``,
… (an encoder without a head) and ``dec.U``, ``dec.W``, ``dec.b``, …, ``dec.V``, ``dec.c``
(a decoder of hidden size dirs·H over the target vocabulary). The encoder reads the source ids;
its final state of each layer (forward and reverse concatenated when bidirectional) is that
layer's h_0 of the decoder, which is then fed <sos> and its own previous prediction until <eos>.

Reading one without bptt::

    import json, numpy as np
    f = np.load("model.npz", allow_pickle=False)
    cfg = json.loads(f["config"].item())
    U, W, b, V, c = (f[k] for k in ("U", "W", "b", "V", "c"))
    h = np.zeros(cfg["hidden_size"])
    for x_t in x:                                   # x (T, D)
        h = np.tanh(x_t @ U.T + h @ W.T + b)        # cfg["activation"] == "tanh"
        o = h @ V.T + c
        y_t = np.exp(o - o.max()) / np.exp(o - o.max()).sum()   # cfg["output"] == "softmax"
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from .files import atomic_write
from .model import RNN
from .seq2seq import Seq2Seq

__all__ = ["FORMAT", "save", "load"]

FORMAT = "bptt.weights/1"
_MODELS = {"RNN": RNN, "Seq2Seq": Seq2Seq}
_META = ("format", "model", "config")


def save(path, net) -> None:
    """Write ``net`` (RNN or Seq2Seq) to ``path`` (the name is used as given; ``.npz`` is the
    convention). The file is written beside ``path`` and renamed onto it, so an existing file is
    replaced only by a complete one."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or os.PathLike), got {type(path).__name__} {path!r}")
    kind = next((name for name, cls in _MODELS.items() if type(net) is cls), None)
    if kind is None:
        raise TypeError(f"net must be a bptt.RNN or bptt.seq2seq.Seq2Seq, got {type(net).__name__}")
    arrays = {"format": np.array(FORMAT), "model": np.array(kind),
              "config": np.array(json.dumps(net.config, sort_keys=True))}
    for name in net.param_shapes():
        arrays[name] = np.ascontiguousarray(net.params[name])
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load(path):
    """The model saved at ``path``: an ``RNN`` (or a ``Seq2Seq``) with its config and weights.

    Raises ValueError naming the file and the problem: not an .npz, a missing or unknown
    ``format``/``model``/``config``, a missing, unexpected or wrongly shaped parameter,
    non-finite values."""
    path = os.fspath(path)

    def bad(problem):
        return ValueError(f"{path}: {problem}")

    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise bad(f"not a readable .npz weights file ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise bad("not an .npz archive (a single .npy array?)")
    with npz:
        keys = set(npz.files)
        if "__meta__" in keys and "format" not in keys:  # checkpoint.META_KEY
            raise bad("a training checkpoint (bptt train, bptt.fit), not a weights file: rebuild its model "
                      "with `recipe, net, arrays, meta = bptt.runs.load_state(path)`, then "
                      "bptt.weights.save(other_path, net) writes the plain weights file")
        missing = [k for k in _META if k not in keys]
        if missing:
            raise bad(f"missing {missing}; a bptt weights file has the keys format, model, config "
                      "and one array per parameter")
        meta = {k: _text(npz, k, bad) for k in _META}
        if meta["format"] != FORMAT:
            raise bad(f"format is {meta['format']!r}, this library reads {FORMAT!r}")
        if meta["model"] not in _MODELS:
            raise bad(f"model must be one of {sorted(_MODELS)}, got {meta['model']!r}")
        try:
            config = json.loads(meta["config"])
        except json.JSONDecodeError as exc:
            raise bad(f"config is not valid JSON ({exc})") from None
        if not isinstance(config, dict):
            raise bad(f"config must be a JSON object, got {type(config).__name__}")
        cls = _MODELS[meta["model"]]
        try:
            net = cls(**config) if cls is RNN else cls.from_config(config)
        except (TypeError, ValueError) as exc:
            raise bad(f"config does not describe a {meta['model']}: {exc}") from None
        shapes = net.param_shapes()
        missing = [k for k in shapes if k not in keys]
        if missing:
            raise bad(f"missing parameters {missing} for this config ({meta['model']} expects "
                      f"{list(shapes)})")
        unexpected = sorted(keys - set(shapes) - set(_META))
        if unexpected:
            raise bad(f"unexpected arrays {unexpected}: not parameters of this config "
                      f"(expected {list(shapes)})")
        params = {}
        for name, shape in shapes.items():
            a = npz[name]
            if a.shape != tuple(shape):
                raise bad(f"parameter {name!r} must have shape {tuple(shape)} for this config, got {a.shape}")
            if a.dtype.kind != "f":
                raise bad(f"parameter {name!r} must be a float array, got dtype {a.dtype}")
            params[name] = a
    try:
        net.set_params(params)
    except (TypeError, ValueError) as exc:
        raise bad(str(exc)) from None
    return net


def _text(npz, key, bad) -> str:
    a = npz[key]
    if a.dtype.kind != "U" or a.ndim != 0:
        raise bad(f"{key!r} must be a 0-d str array, got dtype {a.dtype} shape {a.shape}")
    return a.item()
