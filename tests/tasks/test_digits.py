import numpy as np
import pytest

from bptt.tasks import digits


def test_all_six_bit_numbers_are_written_most_significant_first():
    x, y = digits.encode(range(64), 6)
    assert x.shape == (6, 64, 2) and y.shape == (6, 64, 1)
    for v in range(64):
        assert "".join(str(int(bit)) for bit in y[:, v, 0]) == format(v, "06b")
    assert np.array_equal(digits.decode(y), np.arange(64))
    assert np.all(x[1:] == 0)
    assert np.all(x[0, :, 1] == 1)
    scaled = x[0, :, 0]
    assert np.all((scaled > 0) & (scaled < 1))
    assert np.allclose(np.diff(scaled), 1 / 64)


def test_batch_is_seeded_and_in_range():
    x1, y1 = digits.batch(np.random.default_rng(2), 500, 4)
    x2, _ = digits.batch(2, 500, 4)
    assert np.array_equal(x1, x2)
    values = digits.decode(y1)
    assert values.min() >= 0 and values.max() <= 15 and len(set(values.tolist())) == 16
    assert np.allclose(x1[0, :, 0], (values + 0.5) / 16)


def test_large_numbers_are_exact():
    values = np.array([0, 2**52 - 1, 123456789012345])
    x, y = digits.encode(values, 52)
    assert np.array_equal(digits.decode(y), values)
    assert np.array_equal(x[0, :, 0] * 2.0**52 - 0.5, values.astype(float))


def test_exact_accuracy():
    _, y = digits.encode([0, 1, 2, 3], 2)
    probs = y * 0.7 + 0.1
    assert digits.exact_accuracy(probs, y) == 1.0
    probs[0, 3, 0] = 0.4
    assert digits.exact_accuracy(probs, y) == 0.75


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: digits.encode([4], 2), ValueError, "values"),
        (lambda: digits.encode([-1], 2), ValueError, "values"),
        (lambda: digits.encode([1.5], 2), TypeError, "values"),
        (lambda: digits.encode([], 2), ValueError, "values"),
        (lambda: digits.encode([[1]], 2), ValueError, "values"),
        (lambda: digits.encode([1], 0), ValueError, "n_bits"),
        (lambda: digits.encode([1], 53), ValueError, "n_bits"),
        (lambda: digits.batch("seed", 2, 3), TypeError, "rng"),
        (lambda: digits.batch(0, 0, 3), ValueError, "batch_size"),
        (lambda: digits.decode(np.zeros((3, 2))), ValueError, "y_prob"),
        (lambda: digits.decode(np.zeros((60, 2, 1))), ValueError, "y_prob"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
