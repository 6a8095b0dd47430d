"""Property-based (hypothesis): random valid configurations never raise and give finite losses
and gradients that match central differences; one random defect in an otherwise valid call
raises only a ValueError/TypeError that names the defective argument.

Small shapes (T ≤ 5, B ≤ 3, D, H, K ≤ 3, ≤ 2 layers) and modest example counts (200, 80, 400;
derandomized, so every run tries the same examples) keep the file under ~10 s.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import bptt
from bptt.batch import make_inputs

HEADS = [("softmax", "cross_entropy"), ("sigmoid", "bce"), ("identity", "mse"), ("softmax", "mse"),
         ("sigmoid", "mse"), ("tanh", "mse"), ("relu", "mse")]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@st.composite
def configs(draw):
    c = dict(
        activation=draw(st.sampled_from(["tanh", "relu", "sigmoid", "identity"])),
        head=draw(st.sampled_from(HEADS)),
        layers=draw(st.integers(1, 2)), bidirectional=draw(st.booleans()),
        T=draw(st.integers(1, 5)), B=draw(st.integers(1, 3)),
        D=draw(st.integers(1, 3)), H=draw(st.integers(1, 3)), K=draw(st.integers(1, 3)),
        ids=draw(st.booleans()), lengths=draw(st.booleans()), h0=draw(st.booleans()),
        mask=draw(st.sampled_from([None, "last", "float"])),
        init=draw(st.sampled_from(["uniform", "xavier", "orthogonal", "identity"])),
        dtype=draw(st.sampled_from([np.float64, np.float32])),
        scale=draw(st.sampled_from([1.0, 3.0])), seed=draw(st.integers(0, 2**16)),
    )
    return c


def build(c):
    """The model and the arguments (x, y, mask, h0, lengths) of a valid call for config ``c``."""
    rng = np.random.default_rng(c["seed"])
    output, loss = c["head"]
    net = bptt.RNN(c["D"], c["H"], c["K"], activation=c["activation"], output=output, loss=loss,
                   num_layers=c["layers"], bidirectional=c["bidirectional"], init=c["init"],
                   seed=c["seed"], dtype=c["dtype"])
    T, B = c["T"], c["B"]
    x = rng.integers(0, c["D"], (T, B)) if c["ids"] else rng.standard_normal((T, B, c["D"])) * c["scale"]
    lengths = rng.integers(1, T + 1, B) if c["lengths"] else None
    last = c["mask"] == "last"
    y_shape = (B,) if last else (T, B)
    if loss == "cross_entropy":
        y = rng.integers(0, c["K"], y_shape)
    elif loss == "bce":
        y = rng.uniform(0, 1, y_shape + (c["K"],))
    else:
        y = rng.standard_normal(y_shape + (c["K"],))
    mask = "last" if last else (rng.uniform(0, 2, (T, B)) if c["mask"] == "float" else None)
    h0 = rng.standard_normal((c["layers"] * (1 + c["bidirectional"]), B, c["H"])) if c["h0"] else None
    return net, [x, y, mask, h0, lengths]


@settings(max_examples=200, **SETTINGS)
@given(configs())
def test_valid_configurations_are_finite_and_quiet(c):
    net, args = build(c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            out = net.forward(args[0], args[3], args[4])
            loss, grads = net.loss_and_grad(*args)
    assert np.isfinite(loss) and loss >= 0  # every supported loss is ≥ 0 (bce: ≥ H(y))
    assert all(np.isfinite(a).all() for a in out)
    assert set(grads) == set(net.params)
    for k, g in grads.items():
        assert g.shape == net.params[k].shape and g.dtype == net.params[k].dtype
        assert np.isfinite(g).all(), k
    assert np.isfinite(grads.dh0).all()


@settings(max_examples=80, **SETTINGS)
@given(configs())
def test_valid_gradients_match_central_differences(c):
    """float64, away from relu kinks (a difference quotient straddling a kink measures the kink,
    not the gradient). Per parameter: max|a − n| ≤ 1e-6·max(|a|, |n|) + 1e-9·max(1, L); the
    second term is the round-off floor of central differences (≈ 1e-16·L/ε with ε = 1e-6), which
    matters only for parameters whose whole gradient is tiny (e.g. 1e-5). A wrong gradient is
    off by the order of the gradient itself."""
    c = {**c, "dtype": np.float64}
    net, args = build(c)
    if "relu" in (c["activation"], c["head"][0]) and _near_kink(net, args):
        event("skipped: a relu input within 1e-4 of its kink")
        return
    loss, grads = net.loss_and_grad(*args)
    worst = 0.0
    for name, theta in net.params.items():
        a, n = grads[name].reshape(-1), _central_differences(net, name, args)
        err = np.max(np.abs(a - n))
        bound = 1e-6 * max(np.max(np.abs(a)), np.max(np.abs(n))) + 1e-9 * max(1.0, abs(loss))
        assert err <= bound, (name, err, bound)
        worst = max(worst, err / bound)
    event(f"worst error / bound ≤ 1e{int(np.ceil(np.log10(max(worst, 1e-16))))}")


def _central_differences(net, name, args, eps=1e-6):
    flat = net.params[name].reshape(-1)  # a view: perturbing it perturbs the model
    out = np.empty(flat.size)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = net.loss(*args)
        flat[i] = saved - eps
        down = net.loss(*args)
        flat[i] = saved
        out[i] = (up - down) / (2 * eps)
    return out


def _near_kink(net, args, tol=1e-4):
    """True if any relu input of the forward pass (hidden or output) lies within tol of 0."""
    x, _, _, h0, lengths = args
    trace = net.run(make_inputs(net, x, h0, lengths))
    if net.head.output == "relu":
        o = trace.top @ net.params["V"].T + net.params["c"]
        if np.min(np.abs(o)) < tol:
            return True
    if net.activation != "relu":
        return False
    dirs = net.num_directions
    for k, cache in enumerate(trace.caches):  # z_t = x_t Uᵀ + h_{t−1} Wᵀ + b, every step
        U, W, b = (net.params[bptt.param_name(n, k // dirs, k % dirs)] for n in "UWb")
        proj = U.T[cache.x] if cache.x.ndim == 2 else cache.x @ U.T
        z = proj + cache.h[:-1] @ W.T + b
        if np.min(np.abs(z)) < tol:
            return True
    return False


# ------------------------------------------------------------------------------- invalid calls
DEFECTS = {
    # name: (argument named in the message, function (c, args, rng) -> args with one defect)
    "x NaN": ("x", lambda c, a, r: _set(a, 0, _poke(a[0], np.nan, r)) if not c["ids"] else None),
    "x inf": ("x", lambda c, a, r: _set(a, 0, _poke(a[0], -np.inf, r)) if not c["ids"] else None),
    "x wrong D": ("x", lambda c, a, r: _set(a, 0, np.zeros(a[0].shape[:2] + (c["D"] + r.integers(1, 3),)))),
    "x rank": ("x", lambda c, a, r: _set(a, 0, np.zeros((c["T"],) * int(r.choice([1, 4]))))),
    "x empty T": ("x", lambda c, a, r: _set(a, 0, a[0][:0])),
    "x empty B": ("x", lambda c, a, r: _set(a, 0, a[0][:, :0])),
    "x strings": ("x", lambda c, a, r: _set(a, 0, a[0].astype(str))),
    "x ids high": ("x", lambda c, a, r: _set(a, 0, a[0] + c["D"]) if c["ids"] else None),
    "x ids negative": ("x", lambda c, a, r: _set(a, 0, a[0] - c["D"]) if c["ids"] else None),
    "x ragged": ("x", lambda c, a, r: _set(a, 0, [row.tolist() for row in a[0]] + [[0] * (c["B"] + 1)])),
    "y wrong shape": ("y", lambda c, a, r: _set(a, 1, np.concatenate([a[1], a[1][:1]]))),
    "y class high": ("y", lambda c, a, r: _set(a, 1, a[1] + c["K"]) if c["head"][1] == "cross_entropy" else None),
    "y float ids": ("y", lambda c, a, r: _set(a, 1, a[1] + 0.5) if c["head"][1] == "cross_entropy" else None),
    "y NaN": ("y", lambda c, a, r: _set(a, 1, _poke(a[1], np.nan, r)) if c["head"][1] != "cross_entropy" else None),
    "y bce > 1": ("y", lambda c, a, r: _set(a, 1, a[1] + 1.5) if c["head"][1] == "bce" else None),
    "lengths 0": ("lengths", lambda c, a, r: _set(a, 4, _poke(np.full(c["B"], c["T"]), 0, r))),
    "lengths T+1": ("lengths", lambda c, a, r: _set(a, 4, _poke(np.full(c["B"], c["T"]), c["T"] + 1, r))),
    "lengths float": ("lengths", lambda c, a, r: _set(a, 4, np.full(c["B"], 1.0))),
    "lengths wrong B": ("lengths", lambda c, a, r: _set(a, 4, np.ones(c["B"] + 1, int))),
    "h0 wrong H": ("h0", lambda c, a, r: _set(a, 3, np.zeros((c["layers"] * (1 + c["bidirectional"]), c["B"], c["H"] + 1)))),
    "h0 NaN": ("h0", lambda c, a, r: _set(a, 3, np.full((c["layers"] * (1 + c["bidirectional"]), c["B"], c["H"]), np.nan))),
    "mask negative": ("mask", lambda c, a, r: _set(a, 2, -np.ones((c["T"], c["B"]))) if c["mask"] != "last" else None),
    "mask wrong shape": ("mask", lambda c, a, r: _set(a, 2, np.ones((c["T"] + 1, c["B"]))) if c["mask"] != "last" else None),
    "mask word": ("mask", lambda c, a, r: _set(a, 2, "first") if c["mask"] != "last" else None),
}


def _set(args, i, value):
    args = list(args)
    args[i] = value
    return args


def _poke(a, value, rng):
    a = np.array(a, dtype=np.result_type(a, type(value)))
    a.flat[rng.integers(a.size)] = value
    return a


@settings(max_examples=400, **SETTINGS)
@given(configs(), st.sampled_from(sorted(DEFECTS)), st.sampled_from(["forward", "loss", "loss_and_grad"]))
def test_one_defect_gives_one_clear_error(c, defect, entry):
    net, args = build(c)
    rng = np.random.default_rng(c["seed"])
    name, damage = DEFECTS[defect]
    bad = damage(c, args, rng)
    if bad is None or (entry == "forward" and name in ("y", "mask")):
        event("skipped: the defect does not apply")
        return
    event(f"checked: {entry}")
    x, y, mask, h0, lengths = bad
    call = {"forward": lambda: net.forward(x, h0, lengths),
            "loss": lambda: net.loss(x, y, mask, h0, lengths),
            "loss_and_grad": lambda: net.loss_and_grad(x, y, mask, h0, lengths)}[entry]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises((ValueError, TypeError)) as info:
            call()
    assert info.value.args and str(info.value).startswith(name), (defect, str(info.value))
