"""activations.py: f, and f' written from the output h = f(z) (B2)."""
import warnings

import numpy as np
import pytest

from bptt import activations

EXPECTED_DERIVATIVE = {  # f'(z) from z, independently of the library
    "tanh": lambda z: 1 / np.cosh(z) ** 2,
    "relu": lambda z: (z > 0).astype(float),
    "sigmoid": lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2,
    "identity": lambda z: np.ones_like(z),
}


def grid(name):
    z = np.linspace(-6, 6, 241)
    return z[np.abs(z) > 1e-3] if name == "relu" else z  # relu: away from the kink


def test_names():
    assert activations.NAMES == ("tanh", "relu", "sigmoid", "identity")


@pytest.mark.parametrize("name", activations.NAMES)
def test_derivative_from_output_equals_the_numerical_derivative(name):
    z = grid(name)
    eps = 1e-6
    numerical = (activations.apply(name, z + eps) - activations.apply(name, z - eps)) / (2 * eps)
    from_output = activations.derivative_from_output(name, activations.apply(name, z))
    np.testing.assert_allclose(from_output, numerical, rtol=0, atol=1e-9)
    np.testing.assert_allclose(from_output, EXPECTED_DERIVATIVE[name](z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", activations.NAMES)
def test_values(name):
    z = grid(name)
    expected = {"tanh": np.tanh(z), "relu": np.maximum(z, 0), "sigmoid": 1 / (1 + np.exp(-z)), "identity": z}[name]
    np.testing.assert_allclose(activations.apply(name, z), expected, rtol=1e-15, atol=1e-16)


def test_relu_derivative_at_zero_is_zero_as_in_torch():
    assert activations.derivative_from_output("relu", np.array([0.0]))[0] == 0.0


@pytest.mark.parametrize("name", activations.NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_and_dtype(name, dtype):
    z = np.linspace(-3, 3, 13).astype(dtype)
    expected = activations.apply(name, z.copy())
    out = activations.apply(name, z, out=z)
    assert out is z and z.dtype == dtype
    np.testing.assert_array_equal(z, expected)
    d = activations.derivative_from_output(name, z)
    assert d.dtype == dtype and d.shape == z.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_finite_with_the_right_limits_at_1e4(dtype):
    z = np.array([-1e4, -800.0, 0.0, 800.0, 1e4], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s = activations.sigmoid(z)
        d = activations.derivative_from_output("sigmoid", s)
    np.testing.assert_array_equal(s, np.array([0.0, 0.0, 0.5, 1.0, 1.0], dtype=dtype))
    np.testing.assert_array_equal(d, np.array([0.0, 0.0, 0.25, 0.0, 0.0], dtype=dtype))


def test_sigmoid_symmetry():
    z = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(activations.sigmoid(-z), 1 - activations.sigmoid(z), atol=1e-16)


@pytest.mark.parametrize("fn", [activations.apply, activations.derivative_from_output])
def test_unknown_name_is_rejected(fn):
    with pytest.raises(ValueError, match="activation must be one of"):
        fn("tahn", np.zeros(3))
