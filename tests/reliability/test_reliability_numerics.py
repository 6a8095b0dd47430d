"""Numerical faults: extreme logits stay finite; exploding states are never silently finite.

* Every output/loss pair, at logits ±1e4 (and ±1e300 for the fused pairs): loss and ∂L/∂o
  finite, with the exact limits, no warning, nothing raised under np.errstate(all="raise")
  except underflow (exp(−1e4) = 0 is the right answer).
* Through a whole RNN: V scaled so that o_t = ±1e4: loss and every gradient finite.
* Exploding states (identity activation, W = 3·I, T = 800): the loss or a gradient is
  non-finite (so the trainer's guard sees it) rather than a finite wrong number.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import bptt
from bptt.losses import Head


@pytest.mark.parametrize("big", [1e4, 1e300])
def test_softmax_cross_entropy_extreme_logits(big):
    o = np.array([[big, -big, 0.0], [-big, -big, -big], [big, big, big]])
    y = np.array([1, 2, 0])
    w = np.full(3, 1 / 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            loss, d_o = Head.make("softmax", None).value_and_grad(o, y, w)
    # row 0: −log softmax = 2·big; rows 1, 2: uniform, log 3
    assert loss == pytest.approx((2 * big + 2 * np.log(3)) / 3, rel=1e-12)
    expected = np.array([[1, -1, 0], [1 / 3, 1 / 3, -2 / 3], [-2 / 3, 1 / 3, 1 / 3]]) / 3
    np.testing.assert_allclose(d_o, expected, atol=1e-15)


@pytest.mark.parametrize("big", [1e4, 1e300])
def test_sigmoid_bce_extreme_logits(big):
    o = np.array([[big, -big], [big, -big]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])  # row 0 right, row 1 wrong with full confidence
    w = np.array([0.5, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            loss, d_o = Head.make("sigmoid", None).value_and_grad(o, y, w)
    assert loss == pytest.approx(0.5 * 2 * big, rel=1e-12)
    np.testing.assert_array_equal(d_o, [[0, 0], [0.5, -0.5]])


@pytest.mark.parametrize("output", ["identity", "softmax", "sigmoid", "tanh", "relu"])
def test_mse_heads_extreme_logits(output):
    o = np.array([[1e4, -1e4], [-1e4, 1e4]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            loss, d_o = Head.make(output, "mse").value_and_grad(o, y, np.array([0.5, 0.5]))
    assert np.isfinite(loss) and np.isfinite(d_o).all()


@pytest.mark.parametrize("output, loss", [("softmax", "cross_entropy"), ("sigmoid", "bce"),
                                          ("softmax", "mse"), ("sigmoid", "mse")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rnn_with_logits_of_1e4(output, loss, dtype):
    rng = np.random.default_rng(0)
    net = bptt.RNN(2, 3, 4, output=output, loss=loss, seed=0, dtype=dtype)
    net.params["V"][...] = np.sign(rng.standard_normal((4, 3))) * 1e4 / 3
    x = rng.standard_normal((6, 2, 2)) * 50  # saturate tanh: |h| ≈ 1, so |o| ≈ 1e4
    y = rng.integers(0, 4, (6, 2)) if loss == "cross_entropy" else (rng.random((6, 2, 4)) > 0.5) * 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            value, grads = net.loss_and_grad(x, y)
            out = net.forward(x)
    assert np.abs(out.h @ net.params["V"].T).max() > 5e3
    assert np.isfinite(value)
    assert all(np.isfinite(g).all() for g in grads.values())
    assert np.isfinite(out.y_hat).all()


@pytest.mark.parametrize("activation", ["identity", "relu"])
def test_exploding_states_are_not_silently_finite(activation):
    """h_t = 3 h_{t−1} + …: |h| passes 1e308 after ~650 steps. The result must show it."""
    rng = np.random.default_rng(0)
    net = bptt.RNN(2, 3, 2, activation=activation, output="identity", seed=0, dtype=np.float64)
    net.params["W"][...] = 3 * np.eye(3)
    net.params["U"][...] = np.abs(net.params["U"])
    x = np.abs(rng.standard_normal((800, 2, 2)))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        loss, grads = net.loss_and_grad(x, np.zeros((800, 2, 2)))
    finite = np.isfinite(loss) and all(np.isfinite(g).all() for g in grads.values())
    assert not finite
