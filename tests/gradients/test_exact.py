"""unrolled, rtrl and full-length tbptt give the BPTT gradient, to ≤ 1e-10 relative per parameter
(max|a − b| / max|b|), in float64, over activations, heads, masks, lengths, h0, layers, ids and
(for unrolled) bidirectional layers. Named cases cover each feature; seeded random ones mix them."""
from __future__ import annotations

import numpy as np
import pytest

TOL = 1e-10
HEAD_NAMES = ("softmax+ce", "sigmoid+bce", "identity+mse", "softmax+mse", "sigmoid+mse", "tanh+mse", "relu+mse")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")

NAMED = {
    "tanh-ce": dict(),
    "relu-bce-lengths-h0": dict(activation="relu", head="sigmoid+bce", lengths=True, h0=True),
    "sigmoid-mse-2layers-floatmask": dict(activation="sigmoid", head="identity+mse", layers=2, mask="float", h0=True),
    "identity-softmaxmse-last": dict(activation="identity", head="softmax+mse", mask="last", lengths=True),
    "tanh-tanhmse-3layers": dict(head="tanh+mse", layers=3, h0=True, lengths=True),
    "ids-2layers-floatmask": dict(ids=True, layers=2, mask="float", D=5),
    "relu-relumse-2layers": dict(activation="relu", head="relu+mse", layers=2, lengths=True, h0=True),
    "sigmoidmse-T1": dict(head="sigmoid+mse", T=1, h0=True),
    "bidir-1layer": dict(head="sigmoid+mse", bidirectional=True, lengths=True, h0=True),
    "bidir-2layers-last": dict(activation="sigmoid", bidirectional=True, layers=2, mask="last", lengths=True, h0=True),
}


def random_options(seed: int) -> dict:
    """A random small configuration, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    opts = dict(
        activation=str(rng.choice(ACTIVATIONS)), head=str(rng.choice(HEAD_NAMES)),
        T=int(rng.integers(1, 8)), B=int(rng.integers(1, 4)), D=int(rng.integers(1, 4)),
        H=int(rng.integers(1, 5)), K=int(rng.integers(2, 4)), layers=int(rng.integers(1, 4)),
        h0=bool(rng.integers(2)), lengths=bool(rng.integers(2)),
        mask=[None, "last", "float"][rng.integers(3)], bidirectional=bool(rng.integers(2)), seed=seed,
    )
    opts["ids"] = opts["head"] == "softmax+ce" and bool(rng.integers(2))
    return opts


CASES = {**NAMED, **{f"random{s}": random_options(s) for s in range(16)}}


def _compare(rel_err, got, ref, what):
    loss, g = got
    loss_ref, g_ref = ref
    assert abs(loss - loss_ref) <= TOL * max(1.0, abs(loss_ref)), (what, loss, loss_ref)
    assert list(g) == list(g_ref), what
    errs = {k: rel_err(g[k], g_ref[k]) for k in g_ref}
    errs["dh0"] = rel_err(g.dh0, g_ref.dh0)
    if g_ref.dx is not None and g.dx is not None:
        errs["dx"] = rel_err(g.dx, g_ref.dx)
    bad = {k: e for k, e in errs.items() if not e <= TOL}
    assert not bad, (what, bad)


@pytest.mark.parametrize("name", list(CASES))
def test_methods_equal_bptt(name, gcase, rel_err):
    case = gcase(**CASES[name])
    net = case.net
    float_x = np.asarray(case.x).ndim == 3
    ref = net.loss_and_grad(*case.args, input_grad=float_x)
    _compare(rel_err, net.loss_and_grad(*case.args, method="unrolled", input_grad=float_x), ref, "unrolled")
    if net.bidirectional:  # forward-in-time methods refuse, naming the option
        for method, opts in (("rtrl", {}), ("tbptt", {"k1": 1})):
            with pytest.raises(ValueError, match="bidirectional"):
                net.loss_and_grad(*case.args, method=method, **opts)
        return
    _compare(rel_err, net.loss_and_grad(*case.args, method="rtrl"), ref, "rtrl")
    T = np.asarray(case.x).shape[0]
    for k1, k2 in {(1, T), (T, T), (max(1, T // 2), T + 3), (2, 2 * T)}:
        k1 = min(k1, k2)
        got = net.loss_and_grad(*case.args, method="tbptt", k1=k1, k2=k2, input_grad=float_x)
        _compare(rel_err, got, ref, f"tbptt k1={k1} k2={k2}")


def test_random_cases_cover_the_options():
    """The seeded random cases really mix the features (guards against a degenerate generator)."""
    opts = [random_options(s) for s in range(16)]
    for key in ("bidirectional", "h0", "lengths", "ids"):
        assert {o[key] for o in opts} == {True, False}, key
    assert {o["layers"] for o in opts} >= {1, 2, 3}
    assert len({o["activation"] for o in opts}) == 4
    assert {o["mask"] for o in opts} == {None, "last", "float"}


def test_float32_runs_and_is_close(gcase, rel_err):
    """The methods keep the model's dtype; float32 agrees with float64 BPTT to float32 accuracy."""
    case = gcase(layers=2, lengths=True, h0=True)
    ref = case.net.loss_and_grad(*case.args)[1]
    net32 = case.net.astype(np.float32)
    for method, opts in (("unrolled", {}), ("rtrl", {}), ("tbptt", {"k1": 2, "k2": 10})):
        _, g = net32.loss_and_grad(*case.args, method=method, **opts)
        for k in ref:
            assert g[k].dtype == np.float32, (method, k)
            assert rel_err(g[k], ref[k]) < 1e-5, (method, k)
