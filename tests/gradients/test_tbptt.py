"""Truncated BPTT(k1, k2): equal to an independent torch computation that .detach()es the same
states; exactly the unrolled sum with the terms k < k_min(t) dropped (truncated.py, T1–T2);
k1 = k2 is the everyday detach-every-chunk idiom; bad options raise clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from bptt.batch import make_batch
from bptt.gradients import truncated, unrolled

TOL = 1e-10
KS = [(1, 1), (1, 3), (2, 2), (2, 5), (3, 4), (4, 7), (3, 3), (5, 8)]
CONFIGS = {
    "tanh-ce": dict(T=9),
    "relu-bce-lengths-h0": dict(T=9, activation="relu", head="sigmoid+bce", lengths=True, h0=True),
    "sigmoid-softmaxmse-2layers-mask": dict(T=10, activation="sigmoid", head="softmax+mse", layers=2,
                                            mask="float", h0=True, lengths=True),
    "identity-mse-3layers-last": dict(T=8, activation="identity", head="identity+mse", layers=3,
                                      mask="last", lengths=True, h0=True, scale=0.8),
    "tanh-ce-ids-h0": dict(T=9, ids=True, head="softmax+ce", D=5, h0=True),  # token ids, softmax + cross-entropy
}


def _check(rel_err, got, ref, what):
    loss, g = got
    assert abs(loss - ref["loss"]) <= TOL * max(1.0, abs(ref["loss"])), what
    errs = {k: rel_err(g[k], ref["grads"][k]) for k in ref["grads"]}
    errs["dh0"] = rel_err(g.dh0, ref["dh0"])
    if ref["dx"] is not None:
        errs["dx"] = rel_err(g.dx, ref["dx"])
    bad = {k: e for k, e in errs.items() if not e <= TOL}
    assert not bad, (what, bad)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_truncated_equals_torch_detach(name, gcase, rel_err, torch_tbptt):
    case = gcase(**CONFIGS[name])
    float_x = np.asarray(case.x).ndim == 3
    for k1, k2 in KS:
        ref = torch_tbptt(case.net, case, k1, k2)
        got = case.net.loss_and_grad(*case.args, method="tbptt", k1=k1, k2=k2, input_grad=float_x)
        _check(rel_err, got, ref, (k1, k2))


def test_truncation_really_drops_terms(gcase, rel_err):
    """With k2 < T the result differs from BPTT (the test above is not comparing equal things)."""
    case = gcase(T=9, h0=True)
    _, full = case.net.loss_and_grad(*case.args)
    _, cut = case.net.loss_and_grad(*case.args, method="tbptt", k1=2, k2=3)
    assert rel_err(cut["W"], full["W"]) > 1e-3
    assert rel_err(cut["V"], full["V"]) <= 1e-14  # the head is never truncated
    assert rel_err(cut.dh0, full.dh0) > 1e-3  # only the first window's losses reach h_0


@pytest.mark.parametrize("k1,k2", KS + [(1, 9), (9, 9), (4, 20)])
def test_dropped_terms_are_exactly_T2(k1, k2, gcase, rel_err):
    """One layer: tbptt == Σ_t Σ_{k ≥ k_min(t)} of the unrolled sum, k_min from truncated.first_kept."""
    case = gcase(T=9, activation="sigmoid", head="identity+mse", lengths=True, h0=True, mask="float")
    net = case.net
    _, g = net.loss_and_grad(*case.args, method="tbptt", k1=k1, k2=k2, input_grad=True)
    batch = make_batch(net, *case.args)
    trace = net.run(batch)
    _, head, G = net.head_backward(batch, trace.top)
    T = batch.T
    sums, dx, dh0 = unrolled.layer_sum(trace.caches[0], G, net.params["U"], net.params["W"], net.activation,
                                       True, first_kept=lambda t: truncated.first_kept(t, T, k1, k2))
    for k in "UWb":
        assert rel_err(g[k], sums[k]) <= TOL, k
    assert rel_err(g.dh0[0], dh0) <= TOL
    assert rel_err(g.dx, dx) <= TOL


def test_first_kept_windows():
    """k_min(t) for the three variants of the docs, T = 10."""
    T = 10
    chunks = [truncated.first_kept(t, T, 4, 4) for t in range(1, T + 1)]
    assert chunks == [1, 1, 1, 1, 5, 5, 5, 5, 7, 7]  # last update at τ = T = 10 reaches back to 7
    window = [truncated.first_kept(t, T, 1, 3) for t in range(1, T + 1)]
    assert window == [1, 1, 1, 2, 3, 4, 5, 6, 7, 8]  # every L_t sees exactly 3 steps (or all)
    wp = [truncated.first_kept(t, T, 2, 5) for t in range(1, T + 1)]
    assert wp == [1, 1, 1, 1, 2, 2, 4, 4, 6, 6]  # between k2 − k1 + 1 = 4 and k2 = 5 steps
    assert truncated.update_times(10, 4) == [4, 8, 10]
    assert truncated.update_times(8, 4) == [4, 8]


@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_k1_equals_k2_is_detach_every_chunk(k, gcase, rel_err, torch_chunks):
    """When k divides T, the carried-state torch idiom (detach at chunk boundaries) is BPTT(k, k)."""
    case = gcase(T=8, layers=2, head="sigmoid+bce", lengths=True, h0=True)
    ref = torch_chunks(case.net, case, k)
    got = case.net.loss_and_grad(*case.args, method="tbptt", k1=k, k2=k, input_grad=True)
    _check(rel_err, got, ref, k)


def test_ragged_end_differs_from_chunks_only_in_the_last_chunk(gcase, rel_err, torch_chunks):
    """T = 9, k = 4: the last update (τ = T) goes back k steps, to step 6, where the idiom's
    last chunk {9} stops at its own start. Masking out the last step's loss removes the difference."""
    case = gcase(T=9, head="identity+mse", h0=True, mask="float")
    got = case.net.loss_and_grad(*case.args, method="tbptt", k1=4, k2=4)[1]
    assert rel_err(got["W"], torch_chunks(case.net, case, 4)["grads"]["W"]) > 1e-6
    case.mask[-1] = 0
    got = case.net.loss_and_grad(*case.args, method="tbptt", k1=4, k2=4, input_grad=True)
    _check(rel_err, got, torch_chunks(case.net, case, 4), "last step masked")


def test_memory_does_not_keep_the_sequence(gcase, monkeypatch):
    """Each update runs the forward of its own window only: at most k2 steps at a time."""
    case = gcase(T=40, H=3)
    seen = []
    run = type(case.net).run

    def spy(self, inp):
        seen.append(inp.x.shape[0])
        return run(self, inp)

    monkeypatch.setattr(type(case.net), "run", spy)
    case.net.loss_and_grad(*case.args, method="tbptt", k1=4, k2=6)
    assert max(seen) == 6 and len(seen) == 10


@pytest.mark.parametrize("opts,exc,match", [
    ({}, ValueError, "needs k1"),
    ({"k1": 0}, ValueError, "k1 must be an integer ≥ 1"),
    ({"k1": -2, "k2": 3}, ValueError, "k1"),
    ({"k1": 3, "k2": 2}, ValueError, "k2 must be ≥ k1"),
    ({"k1": 2, "k2": 0}, ValueError, "k2"),
    ({"k1": 2.5}, TypeError, "k1"),
    ({"k1": 2, "window": 3}, ValueError, "window"),
])
def test_bad_options(opts, exc, match, gcase):
    case = gcase()
    with pytest.raises(exc, match=match):
        case.net.loss_and_grad(*case.args, method="tbptt", **opts)


def test_bidirectional_is_refused(gcase):
    case = gcase(bidirectional=True)
    with pytest.raises(ValueError, match="tbptt.*bidirectional=True"):
        case.net.loss_and_grad(*case.args, method="tbptt", k1=2, k2=4)
