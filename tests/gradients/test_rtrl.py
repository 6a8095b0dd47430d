"""RTRL online: a gradient at every step, without the past. Per-step gradients sum to the BPTT
gradient; each one IS the BPTT gradient of that step's loss alone; the state matches the
forward pass; memory does not grow with the steps; unsupported options raise clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from bptt.gradients.rtrl import Online

TOL = 1e-10
CONFIGS = {
    "tanh-ce-lengths-h0": dict(lengths=True, h0=True, mask="float"),
    "relu-bce-2layers": dict(activation="relu", head="sigmoid+bce", layers=2, h0=True, lengths=True),
    "sigmoid-softmaxmse-3layers": dict(activation="sigmoid", head="softmax+mse", layers=3, mask="float"),
    "ids-identity": dict(activation="identity", ids=True, D=5, h0=True, scale=0.7),
    "last": dict(head="tanh+mse", mask="last", lengths=True, h0=True),
}


def _feed(case, online):
    """Run ``online`` over the case's steps; returns the per-step (loss_t, grads_t)."""
    T, B = np.asarray(case.x).shape[:2]
    m = case.full_mask()  # weights incl. padding and "last", without 1/B
    y = case.full_y()
    lens = np.full(B, T) if case.lengths is None else np.asarray(case.lengths)
    out = []
    for t in range(T):
        active = np.full(B, t) < lens  # (B,) bool: False once a sequence has ended
        out.append(online.step(case.x[t], y[t], mask_t=m[t], active_t=active))
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_online_steps_sum_to_the_full_gradient(name, gcase, rel_err):
    case = gcase(**CONFIGS[name])
    net = case.net
    loss_ref, ref = net.loss_and_grad(*case.args)
    steps = _feed(case, Online(net, case.h0))
    assert abs(sum(l for l, _ in steps) - loss_ref) <= TOL * max(1.0, abs(loss_ref))
    for k in ref:
        assert rel_err(sum(g[k] for _, g in steps), ref[k]) <= TOL, k
    assert rel_err(sum(g.dh0 for _, g in steps), ref.dh0) <= TOL


def test_each_step_is_the_gradient_of_its_own_loss(gcase, rel_err):
    """grads_t = ∂L_t/∂θ: BPTT with a mask that keeps step t only gives the same numbers."""
    case = gcase(layers=2, lengths=True, h0=True, mask="float", T=6)
    net = case.net
    steps = _feed(case, Online(net, case.h0))
    for t, (loss_t, g_t) in enumerate(steps):
        only_t = np.zeros_like(case.mask)
        only_t[t] = case.mask[t]
        loss_ref, ref = net.loss_and_grad(case.x, case.y, only_t, case.h0, case.lengths)
        assert abs(loss_t - loss_ref) <= 1e-12 * max(1.0, abs(loss_ref))
        for k in ref:
            assert rel_err(g_t[k], ref[k]) <= TOL, (t, k)
        assert rel_err(g_t.dh0, ref.dh0) <= TOL


def test_state_follows_the_forward_pass(gcase):
    case = gcase(layers=3, lengths=True, h0=True)
    online = Online(case.net, case.h0)
    _feed(case, online)
    h_n = case.net.forward(case.x, case.h0, case.lengths).h_n
    np.testing.assert_allclose(online.h, h_n, rtol=0, atol=1e-14)
    assert online.t == case.x.shape[0]


def test_memory_does_not_grow_with_steps(gcase):
    """Nothing of the past is kept: the held arrays are the same size after 1 and after T steps."""
    case = gcase(T=12, layers=2)
    online = Online(case.net)

    def held():
        return online.h.nbytes + sum(P.nbytes for layer in online._P for P in layer.values())

    sizes = []
    for t in range(12):
        online.step(case.x[t], case.y[t])
        sizes.append(held())
    assert len(set(sizes)) == 1
    B, H = 3, case.net.hidden_size
    assert online._P[0]["W"].shape == (B, H, H, H)  # ∂h_t/∂W: H³ numbers per sequence


def test_steps_without_a_target(gcase, rel_err):
    """Many-to-one online: y_t=None until the last step; the sum is the mask='last' gradient."""
    case = gcase(mask="last", h0=True)
    net = case.net
    online = Online(net, case.h0)
    T = case.x.shape[0]
    total = None
    for t in range(T):
        loss_t, g = online.step(case.x[t], case.y if t == T - 1 else None)
        if t < T - 1:
            assert loss_t == 0 and all(not np.any(g[k]) for k in g)
        total = g
    loss_ref, ref = net.loss_and_grad(*case.args)
    for k in ref:
        assert rel_err(total[k], ref[k]) <= TOL, k


def test_zero_initial_state_from_the_first_step(gcase, rel_err):
    case = gcase(h0=False)
    steps = _feed(case, Online(case.net))
    _, ref = case.net.loss_and_grad(*case.args)
    assert rel_err(sum(g["W"] for _, g in steps), ref["W"]) <= TOL


def test_errors(gcase):
    case = gcase()
    net = case.net
    with pytest.raises(ValueError, match="input_grad"):
        net.loss_and_grad(*case.args, method="rtrl", input_grad=True)
    with pytest.raises(ValueError, match="rtrl.*takes no options.*k1"):
        net.loss_and_grad(*case.args, method="rtrl", k1=3)
    with pytest.raises(ValueError, match="unrolled.*takes no options.*k2"):
        net.loss_and_grad(*case.args, method="unrolled", k2=3)
    bi = gcase(bidirectional=True).net
    with pytest.raises(ValueError, match="rtrl.*bidirectional=True"):
        Online(bi)
    online = Online(net)
    with pytest.raises(ValueError, match="x_t"):
        online.step(case.x, case.y[0])  # (T, B, D): a whole sequence, not one step
    with pytest.raises(ValueError, match="active_t"):
        online.step(case.x[0], case.y[0], active_t=np.ones(3))  # not bool
    with pytest.raises(ValueError, match="h0"):
        Online(net, np.zeros((2, 3, net.hidden_size)))  # one layer: h0 is (1, B, H)
