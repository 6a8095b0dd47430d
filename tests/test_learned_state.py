"""A trainable initial state (RNN(learn_h0=True)): its gradient is Σ_b ∂L/∂h_0, by every method."""
import numpy as np
import pytest

import bptt

T, B, D, H, K = 5, 3, 2, 3, 4


def case(seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    net = bptt.RNN(D, H, K, seed=seed, dtype=np.float64, learn_h0=True, **kwargs)
    net.params["h0"][:] = rng.normal(0, 0.5, net.params["h0"].shape)  # non-zero: a zero hides a wrong gradient
    return net, rng.standard_normal((T, B, D)), rng.integers(0, K, (T, B)), np.array([T, 2, 4])


@pytest.mark.parametrize("kwargs", [{}, {"num_layers": 2}, {"bidirectional": True}],
                         ids=["1-layer", "2-layer", "bidirectional"])
def test_learned_h0_matches_central_differences(kwargs):
    net, x, y, lengths = case(**kwargs)
    errs = bptt.gradcheck(net, x, y, lengths=lengths)
    assert "h0" in errs and max(errs.values()) <= 1e-7, errs


def test_learned_h0_gradient_is_the_batch_sum_of_dh0():
    net, x, y, lengths = case(num_layers=2)
    _, grads = net.loss_and_grad(x, y, lengths=lengths)
    np.testing.assert_array_equal(grads["h0"], grads.dh0.sum(axis=1))


def test_a_passed_h0_overrides_the_learned_one_and_its_gradient_is_zero():
    net, x, y, lengths = case()
    h0 = np.zeros((1, B, H))
    _, grads = net.loss_and_grad(x, y, h0=h0, lengths=lengths)
    assert not grads["h0"].any() and grads.dh0.any()
    plain = bptt.RNN(**{**net.config, "learn_h0": False})
    plain.params = {k: a for k, a in net.params.items() if k != "h0"}
    assert net.loss(x, y, h0=h0, lengths=lengths) == plain.loss(x, y, lengths=lengths)


@pytest.mark.parametrize("method,options", [("unrolled", {}), ("rtrl", {}), ("tbptt", {"k1": 2, "k2": T})])
def test_every_method_gives_the_learned_h0_gradient(method, options):
    net, x, y, lengths = case(num_layers=2)
    _, ref = net.loss_and_grad(x, y, lengths=lengths)
    _, got = net.loss_and_grad(x, y, lengths=lengths, method=method, **options)
    np.testing.assert_allclose(got["h0"], ref["h0"], rtol=1e-10, atol=1e-13)
