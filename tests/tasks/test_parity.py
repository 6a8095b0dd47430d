import numpy as np
import pytest

from bptt.tasks import parity


def test_batch_matches_a_direct_computation():
    x, y = parity.batch(np.random.default_rng(0), 50, 40)
    assert x.shape == y.shape == (40, 50, 1)
    assert set(np.unique(x)) == {0.0, 1.0}
    for b in range(50):
        running = 0
        for t in range(40):
            running ^= int(x[t, b, 0])
            assert y[t, b, 0] == running


def test_batch_is_determined_by_the_seed():
    assert np.array_equal(parity.batch(3, 4, 9)[0], parity.batch(np.random.default_rng(3), 4, 9)[0])
    assert not np.array_equal(parity.batch(3, 4, 9)[0], parity.batch(4, 4, 9)[0])


def test_sequence_and_step_accuracy():
    x, y = parity.encode([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 1], [0, 1, 1, 0]])
    probs = np.where(y == 1, 0.8, 0.3)
    assert parity.sequence_accuracy(probs, y) == 1.0
    assert parity.step_accuracy(probs, y) == 1.0
    probs[3, 2, 0] = 0.9  # the last step of stream 2 is wrong
    assert parity.sequence_accuracy(probs, y) == 0.75
    assert parity.step_accuracy(probs, y) == 15 / 16


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: parity.batch(1.5, 2, 3), TypeError, "rng"),
        (lambda: parity.batch(0, 2, 0), ValueError, "length"),
        (lambda: parity.batch(0, -1, 3), ValueError, "batch_size"),
        (lambda: parity.encode([1, 0, 1]), ValueError, "bits"),
        (lambda: parity.encode([[1, 0, 2]]), ValueError, "0 and 1"),
        (lambda: parity.encode(np.zeros((2, 0))), ValueError, "bits"),
        (lambda: parity.encode([["a", "b"]]), TypeError, "bits"),
        (lambda: parity.step_accuracy(np.zeros((2, 2, 1)) - 1, np.zeros((2, 2, 1))), ValueError, "y_prob"),
        (lambda: parity.sequence_accuracy(np.zeros((2, 2)), np.zeros((2, 2))), ValueError, "dimensions"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
