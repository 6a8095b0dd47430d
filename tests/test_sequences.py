"""sequences.py: the mappings as masks and index arrays (time-major)."""
import numpy as np
import pytest

import bptt
from bptt.sequences import gather_time, last_step_mask, length_mask, one_to_many, reverse_index


def test_length_mask():
    np.testing.assert_array_equal(
        length_mask(np.array([3, 1, 2]), 3),
        [[True, True, True], [True, False, True], [True, False, False]])


def test_last_step_mask_has_one_one_per_sequence_at_its_last_valid_step():
    m = last_step_mask(np.array([3, 1, 2]), 4)
    assert m.dtype == np.float64 and m.shape == (4, 3)
    np.testing.assert_array_equal(m.sum(axis=0), 1)
    np.testing.assert_array_equal(m.argmax(axis=0), [2, 0, 1])


def test_one_to_many_puts_the_input_at_the_first_step_only():
    x0 = np.arange(6.0).reshape(2, 3)
    x = one_to_many(x0, 4)
    assert x.shape == (4, 2, 3)
    np.testing.assert_array_equal(x[0], x0)
    assert not x[1:].any()
    assert one_to_many(np.array([[1, 2]]), 2).dtype == np.float64  # integer x0 -> float inputs
    assert one_to_many(x0.astype(np.float32), 2).dtype == np.float32


@pytest.mark.parametrize("T", [0, -1])
def test_one_to_many_rejects_a_non_positive_T(T):
    with pytest.raises(ValueError, match="T must be"):
        one_to_many(np.zeros((2, 3)), T)


def test_one_to_many_rejects_a_non_matrix_x0():
    with pytest.raises(ValueError, match="x0 must"):
        one_to_many(np.zeros(3), 4)


def test_reverse_index_reverses_each_valid_prefix_and_keeps_padding():
    idx = reverse_index(np.array([3, 1, 2]), 4, 3)
    np.testing.assert_array_equal(idx, [[2, 0, 1], [1, 1, 0], [0, 2, 2], [3, 3, 3]])
    np.testing.assert_array_equal(reverse_index(None, 3, 2), [[2, 2], [1, 1], [0, 0]])


def test_reverse_gather_is_its_own_inverse():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 3, 2))
    idx = reverse_index(np.array([5, 2, 4]), 5, 3)
    np.testing.assert_array_equal(gather_time(gather_time(a, idx), idx), a)
    np.testing.assert_array_equal(gather_time(a, idx)[:2, 1], a[1::-1, 1])
    np.testing.assert_array_equal(gather_time(a, idx)[2:, 1], a[2:, 1])


def test_gather_time_on_ids():
    a = np.arange(6).reshape(3, 2)
    np.testing.assert_array_equal(gather_time(a, reverse_index(None, 3, 2)), a[::-1])


def test_public_exports():
    assert bptt.one_to_many is one_to_many
    assert bptt.length_mask is length_mask and bptt.last_step_mask is last_step_mask
