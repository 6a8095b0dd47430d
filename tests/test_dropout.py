"""Dropout (dropout.py, DR1–DR2): exact gradients through fixed masks, off without a Generator,
the same masks for every gradient method, and the same draws after a resume (seeded Generator)."""
import numpy as np
import pytest

import bptt

T, B, D, H, K, V = 5, 3, 2, 3, 4, 6


def case(seed=0, ids=False, **kwargs):
    rng = np.random.default_rng(seed)
    net = bptt.RNN(V if ids else D, H, K, seed=seed, dtype=np.float64, dropout=0.4, **kwargs)
    x = rng.integers(0, V, (T, B)) if ids else rng.standard_normal((T, B, D))
    return net, x, rng.integers(0, K, (T, B)), np.array([T, 2, 4])


CASES = {
    "per-step": dict(),
    "variational": dict(variational=True),
    "2-layer-bidirectional": dict(num_layers=2, bidirectional=True),
    "embedding": dict(ids=True, embedding_size=3),
    "ids-no-embedding": dict(ids=True, num_layers=2),
}


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_gradients_through_fixed_masks_match_central_differences(kwargs, fd_grad, fd_err):
    net, x, y, lengths = case(**kwargs)
    _, grads = net.loss_and_grad(x, y, lengths=lengths, dropout_rng=np.random.default_rng(7))
    for name in net.params:
        numeric = fd_grad(net, name, x, y, lengths=lengths, dropout_seed=7)
        assert fd_err(grads[name], numeric) <= 1e-7, name


def test_input_gradient_goes_through_the_input_mask(fd_err):
    net, x, y, lengths = case(variational=True)
    _, grads = net.loss_and_grad(x, y, lengths=lengths, input_grad=True, dropout_rng=np.random.default_rng(3))
    eps, numeric = 1e-5, np.empty_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        losses = [net.loss(a, y, lengths=lengths, dropout_rng=np.random.default_rng(3)) for a in (up, down)]
        numeric[i] = (losses[0] - losses[1]) / (2 * eps)
    assert fd_err(grads.dx, numeric) <= 1e-7


def test_without_a_generator_nothing_is_dropped():
    net, x, y, lengths = case()
    plain = bptt.RNN(**{**net.config, "dropout": 0.0})
    plain.params = net.params
    assert net.loss(x, y, lengths=lengths) == plain.loss(x, y, lengths=lengths)
    assert net.loss(x, y, lengths=lengths, dropout_rng=np.random.default_rng(0)) != plain.loss(x, y, lengths=lengths)


def test_masks_are_kept_at_one_minus_p_and_scaled():
    net = bptt.RNN(D, 200, K, dropout=0.25, seed=0)
    m = net.dropout_masks(np.random.default_rng(0), 50, 20, ids=False)
    kept = np.concatenate([a.ravel() for a in m])
    assert set(np.unique(kept)) == {0.0, np.float32(1 / 0.75)}
    assert abs((kept > 0).mean() - 0.75) < 0.01
    variational = bptt.RNN(D, 8, K, dropout=0.25, variational=True).dropout_masks(np.random.default_rng(0), 50, 20, ids=False)
    assert all(a.shape == (20, a.shape[-1]) for a in variational)


@pytest.mark.parametrize("method,options", [("unrolled", {}), ("tbptt", {"k1": 2, "k2": T})])
def test_every_method_sees_the_same_masks(method, options):
    net, x, y, lengths = case(num_layers=2)
    loss, ref = net.loss_and_grad(x, y, lengths=lengths, dropout_rng=np.random.default_rng(5))
    loss_m, got = net.loss_and_grad(x, y, lengths=lengths, method=method, dropout_rng=np.random.default_rng(5),
                                    **options)
    assert loss_m == pytest.approx(loss, rel=1e-12)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-10, atol=1e-13)


def test_dropout_checks_its_arguments():
    with pytest.raises(ValueError, match="dropout"):
        bptt.RNN(D, H, K, dropout=1.0)
    with pytest.raises(TypeError, match="variational"):
        bptt.RNN(D, H, K, dropout=0.1, variational="yes")
    net, x, y, _ = case()
    with pytest.raises(TypeError, match="dropout_rng"):
        net.loss(x, y, dropout_rng=3)
    with pytest.raises(ValueError, match="dropout"):
        net.loss_and_grad(x, y, method="rtrl", dropout_rng=np.random.default_rng(0))
