"""Move an ``RNN``'s weights to and from ``torch.nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` + ``nn.Linear``.

torch is imported lazily, inside the functions that build or read torch objects; the name
mapping itself (``torch_names``) and ``from_state_dicts`` on plain arrays need no torch.

Written once for every cell: each cell object (bptt.cells) names its torch module
(``torch_module``: "RNN", "LSTM", "GRU"), the module's extra constructor options
(``torch_options``, e.g. nonlinearity or proj_size) and maps one layer and direction of
parameters to torch's per-layer names and back (``torch_weights`` / ``from_torch_weights``).
This module only adds the suffixes (l = layer − 1, torch counts from 0):

    {name}_l{l}{_reverse}   for every name of the cell's torch_weights, e.g. for Elman
    U{layer}{_rev}   weight_ih_l{l}{_reverse}   (H, D) or (H, dirs·H)
    W{layer}{_rev}   weight_hh_l{l}{_reverse}   (H, H)
    b{layer}{_rev}   bias_ih_l{l}{_reverse} + bias_hh_l{l}{_reverse}   (H,)
    (LSTM: the same with 4H rows, gates i, f, g, o; R{layer}{_rev} weight_hr_l{l}{_reverse})
    V, c             Linear.weight (K, dirs·H_out), Linear.bias (K,)

Both sides compute the same layer (cells/elman.py, cells/lstm.py), in which torch's two biases
only ever appear as their sum: on import they are added into ``b``; on export ``b`` goes to
``bias_ih`` and ``bias_hh`` is zero (an exact round trip of ours → torch → ours). The output
activation g is not a torch module: ŷ = g(Linear(h)), e.g. softmax of the logits. torch reads
float inputs; a model fed token ids corresponds to torch on one-hot rows of x.

nn.RNN has f ∈ {tanh, relu} only; a sigmoid or identity model raises ``ValueError``.
``batch_first`` and ``dropout`` do not change the weights: export builds the time-major,
dropout-free module; import accepts any (dropout only acts in torch's training mode).
"""
from __future__ import annotations

import re

import numpy as np

from .. import cells
from ..model import RNN
from ..outputs import param_name

__all__ = ["TORCH_ACTIVATIONS", "torch_names", "to_state_dicts", "from_state_dicts", "to_torch",
           "from_torch"]

TORCH_ACTIVATIONS = cells.elman.TORCH_ACTIVATIONS


def torch_names(num_layers: int, bidirectional: bool) -> dict:
    """{our name: (torch weight_ih/weight_hh/bias name(s))} for the recurrent layers of an
    Elman or LSTM model (their U, W, b): 'U' -> 'weight_ih_l0', 'W2_rev' -> 'weight_hh_l1_reverse',
    'b' -> ('bias_ih_l0', 'bias_hh_l0'). (An LSTM's projection R is weight_hr_l{l}{_reverse}.)"""
    names = {}
    for layer in range(num_layers):
        for d in range(2 if bidirectional else 1):
            sfx = _suffix(layer, d)
            names[param_name("U", layer, d)] = "weight_ih" + sfx
            names[param_name("W", layer, d)] = "weight_hh" + sfx
            names[param_name("b", layer, d)] = ("bias_ih" + sfx, "bias_hh" + sfx)
    return names


def _suffix(layer: int, d: int) -> str:
    return f"_l{layer}" + ("_reverse" if d else "")


def _torch_options(cell) -> dict:
    return dict(getattr(cell, "torch_options", {}))  # a cell without options has none


def to_state_dicts(net) -> tuple[dict, dict]:
    """(recurrent module's state dict, nn.Linear state dict) of torch tensors (copies, in the
    model's dtype); the recurrent module is ``net.cell.torch_module`` (nn.RNN, nn.LSTM, nn.GRU)."""
    import torch

    if not isinstance(net, RNN):
        raise TypeError(f"net must be a bptt.RNN, got {type(net).__name__}")
    _torch_options(net.cell)  # raises if torch cannot express the cell (e.g. a sigmoid Elman)
    t = lambda a: torch.from_numpy(np.array(a, copy=True))  # noqa: E731
    rnn_sd = {}
    for layer, d, _, _ in net._layers():
        for name, value in net.cell.torch_weights(net.layer_params(layer, d)).items():
            rnn_sd[name + _suffix(layer, d)] = t(value)
    return rnn_sd, {"weight": t(net.params["V"]), "bias": t(net.params["c"])}


def to_torch(net):
    """(torch.nn.RNN | nn.LSTM | nn.GRU, torch.nn.Linear) computing the same h_t and o_t as
    ``net`` (time-major, batch_first=False), in the model's dtype."""
    import torch

    rnn_sd, lin_sd = to_state_dicts(net)
    dtype = torch.float64 if np.dtype(net.dtype) == np.float64 else torch.float32
    module = getattr(torch.nn, net.cell.torch_module)
    rnn = module(net.input_size, net.hidden_size, net.num_layers, bias=True, batch_first=False,
                 bidirectional=net.bidirectional, dtype=dtype, **_torch_options(net.cell))
    linear = torch.nn.Linear(net.num_directions * net.state_width, net.output_size, dtype=dtype)
    rnn.load_state_dict(rnn_sd)
    linear.load_state_dict(lin_sd)
    return rnn, linear


def _as_array(value, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor (no torch import needed to read it)
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind != "f":
        raise TypeError(f"{name} must be a float array or tensor, got dtype {arr.dtype}")
    return arr


def _gates(name: str) -> int:
    """How many stacked blocks a cell's weight_hh has (1 Elman, 3 GRU, 4 LSTM), read off the
    cell's own torch_weights for H = 1."""
    cell = cells.make(name)
    p = {k: np.zeros(s) for k, s in cell.param_shapes(1, 1).items()}
    return cell.torch_weights(p)["weight_hh"].shape[0]


_HINTS = {1: "an Elman RNN", 3: "a GRU", 4: "an LSTM"}  # for the error messages


def _blocks(rows: int, cols: int) -> str:
    """' (4 stacked gates: an LSTM?)' for a weight_hh of (rows, cols), or ''."""
    k = rows // cols if cols and rows % cols == 0 else 0
    return f" ({k} stacked gates: {_HINTS[k]}?)" if k in _HINTS else ""


def _infer_cell(rows: int, cols: int) -> str:
    """The registered cell whose weight_hh is (gates·H, H) for this (rows, cols)."""
    if cols >= 1 and rows % cols == 0:
        for name in cells.CELLS:
            if _gates(name) == rows // cols:
                return name
    raise ValueError(f"rnn_sd['weight_hh_l0'] must be square (H, H) (Elman) or (gates·H, H) (a gated "
                     f"cell), got {(rows, cols)}{_blocks(rows, cols)}; the cells are "
                     f"{', '.join(map(repr, cells.CELLS))}")


def from_state_dicts(rnn_sd, linear_sd, *, cell=None, nonlinearity="tanh", output="softmax", loss=None,
                     dtype=None) -> RNN:
    """An ``RNN`` from an nn.RNN / nn.LSTM / nn.GRU state dict and an nn.Linear state dict
    (tensors or arrays).

    cell: "elman", "lstm", "gru", or None: read off weight_hh_l0, (gates·H, H): square → elman,
    3 blocks → gru, 4 → lstm (with weight_hr_l0, an LSTM with proj_size, H from weight_hr).
    nonlinearity: nn.RNN's (Elman only; a gated cell accepts only the default "tanh").
    The architecture is read off the keys and shapes (layers from ``weight_ih_l{k}``,
    bidirectional from ``_reverse`` keys, sizes from the shapes); missing biases (bias=False)
    count as zero. dtype: None keeps float32/float64 from the weights."""
    if not isinstance(rnn_sd, dict) or not isinstance(linear_sd, dict):
        raise TypeError("rnn_sd and linear_sd must be dicts (module.state_dict())")
    if nonlinearity not in TORCH_ACTIVATIONS:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu' (nn.RNN's), got {nonlinearity!r}")
    layers = sorted({int(m.group(1)) for k in rnn_sd if (m := re.fullmatch(r"weight_ih_l(\d+)", k))})
    if not layers or layers != list(range(len(layers))):
        raise ValueError(f"rnn_sd must hold weight_ih_l0 … weight_ih_l{{L-1}}; got keys {sorted(rnn_sd)}")
    num_layers, bidirectional = len(layers), "weight_ih_l0_reverse" in rnn_sd
    w0 = _as_array(rnn_sd["weight_ih_l0"], "rnn_sd['weight_ih_l0']")
    whh = _as_array(rnn_sd.get("weight_hh_l0", np.zeros(0)), "rnn_sd['weight_hh_l0']")
    if w0.ndim != 2 or whh.ndim != 2 or whh.shape[1] < 1 or w0.shape[0] != whh.shape[0]:
        raise ValueError(f"rnn_sd needs weight_ih_l0 (gates·H, D) and weight_hh_l0 (gates·H, H); got "
                         f"shapes {w0.shape} and {whh.shape}")
    proj = "weight_hr_l0" in rnn_sd
    whr = _as_array(rnn_sd["weight_hr_l0"], "rnn_sd['weight_hr_l0']") if proj else None
    if proj and (whr.ndim != 2 or whr.shape[0] != whh.shape[1]):
        raise ValueError(f"rnn_sd['weight_hr_l0'] must be (P, H) with P = weight_hh_l0's columns "
                         f"{whh.shape[1]}; got {whr.shape}")
    H = whr.shape[1] if proj else whh.shape[1]
    if cell is None:
        cell = "lstm" if proj else _infer_cell(*whh.shape)
    else:
        cell = cells.make(cell).name  # a ValueError naming the cells for an unknown one
    if whh.shape[0] != _gates(cell) * H:
        raise ValueError(f"rnn_sd['weight_hh_l0'] must be ({_gates(cell)}·H, H) for cell={cell!r}, got "
                         f"{whh.shape}{_blocks(*whh.shape)}")
    D = w0.shape[1]
    dirs = 2 if bidirectional else 1
    if "weight" not in linear_sd:
        raise ValueError(f"linear_sd must hold 'weight' (K, {(whr.shape[0] if proj else H) * dirs}); "
                         f"got keys {sorted(linear_sd)}")
    V = _as_array(linear_sd["weight"], "linear_sd['weight']")
    if dtype is None:
        if w0.dtype not in (np.float32, np.float64):
            raise TypeError(f"weights have dtype {w0.dtype}; pass dtype=np.float32 or np.float64")
        dtype = w0.dtype
    K = V.shape[0] if V.ndim == 2 else 0
    if K < 1:
        raise ValueError(f"linear_sd['weight'] must be (K, H_top), got shape {V.shape}")
    net = RNN(D, H, K, cell=cell, activation=nonlinearity, output=output, loss=loss, num_layers=num_layers,
              bidirectional=bidirectional, dtype=dtype, proj_size=whr.shape[0] if proj else None)
    shapes = net.param_shapes()
    params, expected = {}, set()
    for layer, d, _, D_in in net._layers():
        sfx = _suffix(layer, d)
        zeros = {k: np.zeros(s) for k, s in net.cell.param_shapes(H, D_in).items()}
        w = {}
        for name, like in net.cell.torch_weights(zeros).items():  # torch's names and shapes
            expected.add(name + sfx)
            got = _get(rnn_sd, name + sfx, like.shape, "rnn_sd", optional=name.startswith("bias"))
            w[name] = np.zeros(like.shape) if got is None else got  # bias=False: zero
        for base, value in net.cell.from_torch_weights(w).items():
            params[param_name(base, layer, d)] = value
    unknown = sorted(set(rnn_sd) - expected)
    if unknown:
        raise ValueError(f"rnn_sd has keys an nn.{net.cell.torch_module} with {num_layers} layer(s), "
                         f"bidirectional={bidirectional} does not: {unknown}")
    params["V"] = _get(linear_sd, "weight", shapes["V"], "linear_sd")
    c = _get(linear_sd, "bias", shapes["c"], "linear_sd", optional=True)
    params["c"] = np.zeros(shapes["c"]) if c is None else c
    unknown = sorted(set(linear_sd) - {"weight", "bias"})
    if unknown:
        raise ValueError(f"linear_sd has unexpected keys {unknown} (expected 'weight', 'bias')")
    net.set_params(params)
    return net


def _get(sd, key, shape, where, optional=False):
    if key not in sd:
        if optional:
            return None
        raise ValueError(f"{where} is missing {key!r} (shape {shape})")
    a = _as_array(sd[key], f"{where}[{key!r}]")
    if a.shape != tuple(shape):
        raise ValueError(f"{where}[{key!r}] must have shape {tuple(shape)}, got {a.shape}")
    return a


def from_torch(rnn, linear, output="softmax", loss=None) -> RNN:
    """An ``RNN`` with the weights of ``rnn`` (torch.nn.RNN, nn.LSTM or nn.GRU: the cell is read
    off the module's type) and ``linear`` (torch.nn.Linear): the two biases summed into b;
    output/loss name the head's g and loss (ŷ = g(linear(h)))."""
    import torch

    by_module = {cls.torch_module: name for name, cls in cells.CELLS.items()}
    kind = type(rnn).__name__ if isinstance(rnn, torch.nn.RNNBase) else None
    if kind not in by_module:
        raise TypeError(f"rnn must be one of torch.nn.{', torch.nn.'.join(by_module)}, got "
                        f"{type(rnn).__name__}")
    if not isinstance(linear, torch.nn.Linear):
        raise TypeError(f"linear must be a torch.nn.Linear, got {type(linear).__name__}")
    dirs = 2 if rnn.bidirectional else 1
    width = getattr(rnn, "proj_size", 0) or rnn.hidden_size  # torch's RNNBase attributes
    if linear.in_features != dirs * width:
        raise ValueError(f"linear.in_features must be {dirs * width} (dirs·H of the RNN), "
                         f"got {linear.in_features}")
    return from_state_dicts(dict(rnn.state_dict()), dict(linear.state_dict()), cell=by_module[kind],
                            nonlinearity=getattr(rnn, "nonlinearity", "tanh"), output=output, loss=loss)
