import random

import numpy as np
import pytest

from bptt.tasks import addition


def test_encode_decodes_to_the_exact_sum_of_1000_bit_ints():
    r = random.Random(1234)
    a = [r.getrandbits(1000) for _ in range(8)] + [2**1000 - 1]
    b = [r.getrandbits(1000) for _ in range(8)] + [2**1000 - 1]
    x, y = addition.encode(a, b)
    assert x.shape == (1001, 9, 2) and y.shape == (1001, 9, 1)
    assert x.dtype == np.float64 and y.dtype == np.float64
    assert addition.decode(y) == [p + q for p, q in zip(a, b)]
    for i in range(9):
        assert addition.bits_to_int(x[:, i, 0]) == a[i]
        assert addition.bits_to_int(x[:, i, 1]) == b[i]
    assert np.all(x[-1] == 0)


def test_encode_accepts_integer_arrays():
    x, y = addition.encode(np.array([5, 0]), np.array([3, 1]))
    assert x.shape == (4, 2, 2) and addition.decode(y) == [8, 1]


def test_int_to_bits_is_least_significant_first_and_round_trips():
    assert addition.int_to_bits(6, 4).tolist() == [0.0, 1.0, 1.0, 0.0]
    for value in (0, 1, 2**63, 2**64 + 5, 2**999 + 12345):
        assert addition.bits_to_int(addition.int_to_bits(value, 1000)) == value


@pytest.mark.parametrize("bit_lengths", ["full", "uniform"])
def test_batch_targets_are_the_sums_of_the_inputs(bit_lengths):
    x, y = addition.batch(np.random.default_rng(0), 300, 12, bit_lengths)
    assert x.shape == (13, 300, 2) and y.shape == (13, 300, 1)
    assert np.all(x[-1] == 0)
    for i in range(300):
        a = addition.bits_to_int(x[:, i, 0])
        b = addition.bits_to_int(x[:, i, 1])
        assert addition.bits_to_int(y[:, i, 0]) == a + b


def test_uniform_bit_lengths_give_shorter_operands_than_full():
    def mean_bit_length(bit_lengths):
        x, _ = addition.batch(np.random.default_rng(5), 4000, 8, bit_lengths)
        return np.mean([addition.bits_to_int(x[:, i, k]).bit_length() for i in range(4000) for k in (0, 1)])

    # full: uniform in [0, 256) -> about 7.0; uniform lengths k in 1..8 -> about 3.5
    assert mean_bit_length("full") > 6.5
    assert mean_bit_length("uniform") < 4.5


def test_batch_is_determined_by_the_seed():
    x1, y1 = addition.batch(7, 16, 10)
    x2, y2 = addition.batch(np.random.default_rng(7), 16, 10)
    x3, _ = addition.batch(8, 16, 10)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


def test_exact_accuracy_counts_whole_sequences():
    _, y = addition.batch(3, 4, 5)
    probs = np.where(y == 1, 0.9, 0.2)
    assert addition.exact_accuracy(probs, y) == 1.0
    probs[2, 1, 0] = 1.0 - probs[2, 1, 0]  # one wrong bit in sequence 1
    assert addition.exact_accuracy(probs, y) == 0.75


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: addition.batch(None, 2, 3), TypeError, "rng"),
        (lambda: addition.batch(0, 0, 3), ValueError, "batch_size"),
        (lambda: addition.batch(0, 2, 0), ValueError, "n_bits"),
        (lambda: addition.batch(0, 2, 3.0), TypeError, "n_bits"),
        (lambda: addition.batch(0, 2, 3, "long"), ValueError, "bit_lengths"),
        (lambda: addition.encode([1, 2], [3]), ValueError, "equal length"),
        (lambda: addition.encode([], []), ValueError, "non-empty"),
        (lambda: addition.encode("12", [1, 2]), TypeError, "a:"),
        (lambda: addition.encode([1], [-2]), ValueError, "b[0]"),
        (lambda: addition.encode([1], [2.0]), ValueError, "b[0]"),
        (lambda: addition.encode([1, 9], [1, 1], n_bits=3), ValueError, "a[1]"),
        (lambda: addition.int_to_bits(16, 4), ValueError, "value: expected an int in [0, 2**4), got 16"),
        (lambda: addition.int_to_bits(2**100, 4), ValueError, "got a 101-bit int"),
        (lambda: addition.int_to_bits(-1, 4), ValueError, "value"),
        (lambda: addition.int_to_bits(1.0, 4), TypeError, "value"),
        (lambda: addition.bits_to_int([0, 1, 2]), ValueError, "bits"),
        (lambda: addition.bits_to_int([[0, 1]]), ValueError, "bits"),
        (lambda: addition.decode(np.zeros((3, 2, 2))), ValueError, "y_prob"),
        (lambda: addition.decode(np.full((3, 2, 1), 3.0)), ValueError, "probabilities"),
        (lambda: addition.exact_accuracy(np.zeros((3, 2, 1)), np.zeros((3, 3, 1))), ValueError, "shape"),
        (lambda: addition.exact_accuracy(np.zeros((3, 2, 1)), np.full((3, 2, 1), 0.5)), ValueError, "binary"),
        (lambda: addition.exact_accuracy(np.full((3, 2, 1), np.nan), np.zeros((3, 2, 1))), ValueError, "finite"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
