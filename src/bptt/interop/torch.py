"""Move an ``RNN``'s weights to and from ``torch.nn.RNN`` + ``torch.nn.Linear``, by name.

torch is imported lazily, inside the functions that build or read torch objects; the name
mapping itself (``torch_names``) and ``from_state_dicts`` on plain arrays need no torch.

Names (ours ← → torch; l = layer − 1, torch counts from 0):

    U{layer}{_rev}   weight_ih_l{l}{_reverse}   (H, D) or (H, dirs·H)
    W{layer}{_rev}   weight_hh_l{l}{_reverse}   (H, H)
    b{layer}{_rev}   bias_ih_l{l}{_reverse} + bias_hh_l{l}{_reverse}   (H,)
    V, c             Linear.weight (K, dirs·H), Linear.bias (K,)

Both sides compute h_t = f(x_t Uᵀ + h_{t−1} Wᵀ + b) (elman.py F1–F2), so torch's two biases only
ever appear as their sum: on import they are added into ``b``; on export ``b`` goes to
``bias_ih`` and ``bias_hh`` is zero (an exact round trip of ours → torch → ours). The output
activation g is not a torch module: ŷ = g(Linear(h)), e.g. softmax of the logits. nn.RNN
reads float inputs; a model fed token ids corresponds to torch on one-hot rows of x.

nn.RNN has f ∈ {tanh, relu} only; a sigmoid or identity model raises ``ValueError``.
``batch_first`` and ``dropout`` do not change the weights: export builds the time-major,
dropout-free module; import accepts any (dropout only acts in torch's training mode).
"""
from __future__ import annotations

import re

import numpy as np

from ..model import RNN
from ..outputs import param_name

__all__ = ["TORCH_ACTIVATIONS", "torch_names", "to_state_dicts", "from_state_dicts", "to_torch",
           "from_torch"]

TORCH_ACTIVATIONS = ("tanh", "relu")


def torch_names(num_layers: int, bidirectional: bool) -> dict:
    """{our name: (torch weight_ih/weight_hh/bias name(s))} for the recurrent layers:
    'U' -> 'weight_ih_l0', 'W2_rev' -> 'weight_hh_l1_reverse', 'b' -> ('bias_ih_l0', 'bias_hh_l0')."""
    names = {}
    for layer in range(num_layers):
        for d in range(2 if bidirectional else 1):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            names[param_name("U", layer, d)] = "weight_ih" + sfx
            names[param_name("W", layer, d)] = "weight_hh" + sfx
            names[param_name("b", layer, d)] = ("bias_ih" + sfx, "bias_hh" + sfx)
    return names


def _check_exportable(net) -> None:
    if not isinstance(net, RNN):
        raise TypeError(f"net must be a bptt.RNN, got {type(net).__name__}")
    if net.activation not in TORCH_ACTIVATIONS:
        raise ValueError(f"torch.nn.RNN supports nonlinearity 'tanh' or 'relu' only; this model uses "
                         f"activation={net.activation!r}, which nn.RNN cannot express")


def to_state_dicts(net) -> tuple[dict, dict]:
    """(nn.RNN state dict, nn.Linear state dict) of torch tensors (copies, in the model's dtype)."""
    import torch

    _check_exportable(net)
    t = lambda a: torch.from_numpy(np.array(a, copy=True))  # noqa: E731
    rnn_sd = {}
    for ours, theirs in torch_names(net.num_layers, net.bidirectional).items():
        if isinstance(theirs, tuple):  # b -> bias_ih; bias_hh = 0
            rnn_sd[theirs[0]] = t(net.params[ours])
            rnn_sd[theirs[1]] = t(np.zeros_like(net.params[ours]))
        else:
            rnn_sd[theirs] = t(net.params[ours])
    return rnn_sd, {"weight": t(net.params["V"]), "bias": t(net.params["c"])}


def to_torch(net):
    """(torch.nn.RNN, torch.nn.Linear) computing the same h_t and o_t as ``net`` (time-major,
    batch_first=False), in the model's dtype."""
    import torch

    rnn_sd, lin_sd = to_state_dicts(net)
    dtype = torch.float64 if np.dtype(net.dtype) == np.float64 else torch.float32
    dirs = net.num_directions
    rnn = torch.nn.RNN(net.input_size, net.hidden_size, net.num_layers, nonlinearity=net.activation,
                       bias=True, batch_first=False, bidirectional=net.bidirectional, dtype=dtype)
    linear = torch.nn.Linear(dirs * net.hidden_size, net.output_size, dtype=dtype)
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


def from_state_dicts(rnn_sd, linear_sd, *, nonlinearity="tanh", output="softmax", loss=None,
                     dtype=None) -> RNN:
    """An ``RNN`` from an nn.RNN state dict and an nn.Linear state dict (tensors or arrays).

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
    names = torch_names(num_layers, bidirectional)
    expected = {n for v in names.values() for n in (v if isinstance(v, tuple) else (v,))}
    unknown = sorted(set(rnn_sd) - expected)
    if unknown:
        raise ValueError(f"rnn_sd has keys an Elman nn.RNN with {num_layers} layer(s), "
                         f"bidirectional={bidirectional} does not: {unknown}")
    w0 = _as_array(rnn_sd["weight_ih_l0"], "rnn_sd['weight_ih_l0']")
    whh = _as_array(rnn_sd.get("weight_hh_l0", np.zeros(0)), "rnn_sd['weight_hh_l0']")
    if w0.ndim != 2 or whh.ndim != 2 or whh.shape[1] < 1 or w0.shape[0] != whh.shape[0]:
        raise ValueError(f"rnn_sd needs weight_ih_l0 (H, D) and weight_hh_l0 (H, H); got shapes "
                         f"{w0.shape} and {whh.shape}")
    if whh.shape[0] != whh.shape[1]:
        gates = {3: " (3 stacked gates: a GRU?)", 4: " (4 stacked gates: an LSTM?)"}
        raise ValueError(f"rnn_sd['weight_hh_l0'] must be square (H, H), got {whh.shape}"
                         + gates.get(whh.shape[0] // whh.shape[1] if whh.shape[0] % whh.shape[1] == 0 else 0, "")
                         + "; only an Elman nn.RNN maps to bptt.RNN")
    H, D = w0.shape
    if "weight" not in linear_sd:
        raise ValueError(f"linear_sd must hold 'weight' (K, {H * (2 if bidirectional else 1)}); "
                         f"got keys {sorted(linear_sd)}")
    V = _as_array(linear_sd["weight"], "linear_sd['weight']")
    if dtype is None:
        if w0.dtype not in (np.float32, np.float64):
            raise TypeError(f"weights have dtype {w0.dtype}; pass dtype=np.float32 or np.float64")
        dtype = w0.dtype
    K = V.shape[0] if V.ndim == 2 else 0
    if K < 1:
        raise ValueError(f"linear_sd['weight'] must be (K, H_top), got shape {V.shape}")
    net = RNN(D, H, K, activation=nonlinearity, output=output, loss=loss, num_layers=num_layers,
              bidirectional=bidirectional, dtype=dtype)
    shapes = net.param_shapes()
    params = {}
    for ours, theirs in names.items():
        if isinstance(theirs, tuple):
            parts = [_get(rnn_sd, n, shapes[ours], "rnn_sd", optional=True) for n in theirs]
            params[ours] = sum(p for p in parts if p is not None) if any(p is not None for p in parts) \
                else np.zeros(shapes[ours])
        else:
            params[ours] = _get(rnn_sd, theirs, shapes[ours], "rnn_sd")
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
    """An ``RNN`` with the weights of ``rnn`` (torch.nn.RNN) and ``linear`` (torch.nn.Linear):
    the two biases summed into b; output/loss name the head's g and loss (ŷ = g(linear(h)))."""
    import torch

    if not isinstance(rnn, torch.nn.RNN):
        raise TypeError(f"rnn must be a torch.nn.RNN (Elman), got {type(rnn).__name__}; "
                        "LSTM and GRU have gates an Elman RNN does not")
    if not isinstance(linear, torch.nn.Linear):
        raise TypeError(f"linear must be a torch.nn.Linear, got {type(linear).__name__}")
    dirs = 2 if rnn.bidirectional else 1
    if linear.in_features != dirs * rnn.hidden_size:
        raise ValueError(f"linear.in_features must be {dirs * rnn.hidden_size} (dirs·H of the RNN), "
                         f"got {linear.in_features}")
    return from_state_dicts(dict(rnn.state_dict()), dict(linear.state_dict()),
                            nonlinearity=rnn.nonlinearity, output=output, loss=loss)
