"""The shared helpers behind the task modules: argument checks, vocabularies, padding."""

import numpy as np
import pytest

from bptt.tasks import _batching, _checks, _metrics, addition, charlm, digits
from bptt.tasks._vocab import CharVocabulary, Vocabulary


def test_as_rng_accepts_a_generator_or_a_seed_and_never_the_global_state():
    rng = np.random.default_rng(3)
    assert _checks.as_rng(rng) is rng
    assert _checks.as_rng(np.int64(3)).integers(1000) == np.random.default_rng(3).integers(1000)


def test_pad_is_time_major_with_lengths():
    ids, lengths = _batching.pad([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 8], [6, 0], [7, 0]] and ids.dtype == np.int64
    assert lengths.tolist() == [3, 1] and lengths.dtype == np.int64


def test_vocabulary_with_and_without_unk():
    vocab = Vocabulary(["<unk>", "cat", "dog"], unk="<unk>")
    assert vocab.encode(["dog", "emu"]).tolist() == [2, 0]
    assert "cat" in vocab and "emu" not in vocab and len(vocab) == 3
    chars = CharVocabulary(["<pad>", "a", "b"])
    assert chars.encode("ba").tolist() == [2, 1] and chars.decode([2, 0, 1]) == "b<pad>a"
    assert chars.encode(["<pad>", "a"]).tolist() == [0, 1]


def test_binary_accuracy_thresholds_at_one_half():
    assert _metrics.binary_accuracy([0.5, 0.51, 0.0, 1.0], [0, 1, 0, 1]) == 1.0
    assert _metrics.binary_accuracy([0.5, 0.49], [1, 1]) == 0.0


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: _checks.as_rng(-1), ValueError, "rng: expected a non-negative integer seed"),
        (lambda: _checks.as_rng(np.random.RandomState(0)), TypeError, "numpy.random.Generator"),
        (lambda: _checks.as_rng(True), TypeError, "rng"),
        (lambda: digits.batch(0, True, 3), TypeError, "batch_size must be an integer ≥ 1, got bool"),
        (lambda: digits.batch(0, 2, 53), ValueError, "n_bits must be an integer in [1, 52], got 53"),
        (lambda: charlm.split(np.arange(10), frac="0.5"), TypeError, "frac must be a real number in (0.0, 1.0)"),
        (lambda: addition.batch(0, 2, 3, None), ValueError, "bit_lengths must be one of 'full', 'uniform'"),
        (lambda: _checks.float_array([[1.0], [1.0, 2.0]], "x"), ValueError, "x: expected a rectangular"),
        (lambda: _checks.float_array(["1.0"], "x"), TypeError, "x: expected a numeric array"),
        (lambda: _checks.float_array([True], "x"), TypeError, "x: expected a numeric array"),
        (lambda: _checks.float_array([np.inf], "x"), ValueError, "x: expected finite values"),
        (lambda: _checks.int_array([1.0], "ids"), TypeError, "ids: expected an integer array"),
        (lambda: _checks.int_array([[1], [2, 3]], "ids"), ValueError, "ids: expected a rectangular"),
        (lambda: Vocabulary("abc"), TypeError, "tokens"),
        (lambda: Vocabulary([]), ValueError, "tokens: expected at least one token"),
        (lambda: Vocabulary(["a", ""]), TypeError, "tokens[1]"),
        (lambda: Vocabulary(["a", 3]), TypeError, "tokens[1]"),
        (lambda: Vocabulary(["a"], unk="<unk>"), ValueError, "unk"),
        (lambda: Vocabulary(["a"]).id(1), TypeError, "token: expected a str"),
        (lambda: Vocabulary(["a"]).decode([-1]), ValueError, "ids"),
        (lambda: Vocabulary.from_dict([["a"], None]), ValueError, "data"),
        (lambda: _batching.pad([], 0, "batch"), ValueError, "batch: expected at least one sequence"),
        (lambda: _batching.pad([[1], []], 0, "batch"), ValueError, "batch[1]: expected at least one token"),
        (lambda: _batching.pad([[1], [0.5]], 0, "batch"), TypeError, "batch[1]"),
        (lambda: _metrics.binary_accuracy([], []), ValueError, "y_prob: expected a non-empty array"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
