"""Character-level language modelling of a text file (many-to-many, stateful training).

The text is read as UTF-8 (``load_text``), mapped to ids by a ``TextVocabulary`` of its sorted
distinct characters, and split into a contiguous train part (first 90%) and validation part
(last 10%) by ``split``. ``StreamBatcher`` cuts an id stream into B parallel contiguous
streams and yields chunks ``x`` int64 (T, B) and ``y`` int64 (T, B) with ``y[t] = x[t + 1]``
(the next character), for softmax + cross-entropy at every step. Consecutive chunks continue
each stream, so the trainer carries the hidden state from one chunk to the next.

Example: "hello world" in B = 2 streams, chunks of T = 3 steps

>>> vocab = TextVocabulary.from_text("hello world")
>>> vocab.tokens
(' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w')
>>> x, y = next(iter(StreamBatcher(vocab.encode("hello world"), batch_size=2, seq_len=3)))
>>> x  # column 0 reads "hel", column 1 reads " wo"
array([[3, 0],
       [2, 7],
       [4, 5]])
>>> y  # column 0 expects "ell", column 1 expects "wor"
array([[2, 7],
       [4, 5],
       [4, 6]])
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .. import _validate as v
from ._checks import int_array
from ._io import read_text
from ._vocab import CharVocabulary

__all__ = ["StreamBatcher", "TextVocabulary", "bits_per_char", "evaluation_batches", "load_text", "split",
           "unigram_nats"]


def load_text(path: object) -> str:
    """The whole file ``path`` as a str (strict UTF-8; ``ValueError`` if empty or not UTF-8)."""
    return read_text(path)


class TextVocabulary(CharVocabulary):
    """The characters of a text, sorted by code point; id = position. No unknown token:
    encoding a character that is not in the vocabulary raises ``ValueError``.

    ``encode(text)`` -> int64 (N,); ``decode(ids)`` -> str; ``to_dict()`` / ``from_dict(d)``
    round-trip through JSON (e.g. a checkpoint's metadata).
    """

    def __init__(self, tokens: list[str], unk: None = None) -> None:
        super().__init__(tokens, unk)
        if unk is not None or any(len(token) != 1 for token in self.tokens):
            raise ValueError("tokens: expected single characters and no unknown token")

    @classmethod
    def from_text(cls, text: str) -> "TextVocabulary":
        """The vocabulary of the distinct characters of ``text``."""
        if not isinstance(text, str):
            raise TypeError(f"text: expected a str, got {type(text).__name__}")
        if not text:
            raise ValueError("text: expected a non-empty str")
        return cls(sorted(set(text)))


def split(ids: object, frac: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Split ids (N,) into the first ``int(frac * N)`` (train) and the rest (validation)."""
    array = int_array(ids, "ids", ndim=1)
    frac = v.real("frac", frac, 0.0, 1.0, low_open=True)
    n_train = int(frac * len(array))
    if n_train < 1 or n_train >= len(array):
        raise ValueError(f"ids: {len(array)} ids are too few to split with frac={frac}; both parts need at least one")
    return array[:n_train], array[n_train:]


class StreamBatcher:
    """Chunks of B parallel contiguous streams of an id sequence, for stateful training.

    The ids (N,) are cut into ``batch_size`` streams of ``L = (N - 1) // batch_size`` inputs;
    stream b reads ``ids[b*L : (b+1)*L]`` and predicts ``ids[b*L + 1 : (b+1)*L + 1]``. The last
    ``(N - 1) % batch_size`` ids are not used. Iterating yields ``(x, y)``, both int64
    (T, batch_size) and read-only, with ``T = seq_len`` except the last chunk, which is shorter
    when ``seq_len`` does not divide L.

    Reset / epochs: one iteration over the batcher is one epoch, and every iteration starts
    again from the beginning of the streams. Column b of a chunk continues column b of the
    previous chunk, so carry the final hidden state into the next chunk (truncating the
    backward pass there), and reset it to zeros at the first chunk of each epoch: the end of
    a stream is not followed by its start.
    """

    def __init__(self, ids: object, batch_size: int, seq_len: int) -> None:
        array = int_array(ids, "ids", ndim=1)
        batch_size = v.positive_int("batch_size", batch_size)
        self.seq_len = v.positive_int("seq_len", seq_len)
        if np.any(array < 0):
            raise ValueError("ids: expected non-negative ids")
        steps = (len(array) - 1) // batch_size
        if steps < 1:
            raise ValueError(f"ids: expected at least batch_size + 1 = {batch_size + 1} ids, got {len(array)}")
        used = steps * batch_size
        self.x = array[:used].reshape(batch_size, steps).T.copy()
        self.y = array[1 : used + 1].reshape(batch_size, steps).T.copy()
        self.x.flags.writeable = False
        self.y.flags.writeable = False

    @property
    def n_targets(self) -> int:
        """How many characters one epoch predicts (T·B summed over the chunks)."""
        return self.x.size

    def __len__(self) -> int:
        """The number of chunks in one epoch."""
        return math.ceil(self.x.shape[0] / self.seq_len)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, self.x.shape[0], self.seq_len):
            yield self.x[start : start + self.seq_len], self.y[start : start + self.seq_len]


def evaluation_batches(ids: object, seq_len: int, batch_size: int = 1) -> StreamBatcher:
    """The chunks for evaluating on a held-out id stream (N,), e.g. the validation part.

    With the default ``batch_size=1`` every character after the first is predicted exactly
    once, with the whole preceding text as context (carry the hidden state across chunks,
    starting from zeros). The mean loss per character is the sum over chunks of the summed
    per-step losses, divided by ``n_targets`` (``N - 1`` when ``batch_size=1``).
    """
    return StreamBatcher(ids, batch_size, seq_len)


def bits_per_char(nats_per_char: float) -> float:
    """Convert a cross-entropy in nats per character to bits per character (÷ ln 2)."""
    return float(nats_per_char) / math.log(2.0)


def unigram_nats(train_ids: object, eval_ids: object, vocab_size: int) -> float:
    """Baseline: cross-entropy (nats/char) of ``eval_ids`` under the train character frequencies.

    ``train_ids`` (N,) and ``eval_ids`` (M,) are ids in [0, vocab_size). The result is ``inf``
    if ``eval_ids`` has a character that never occurs in ``train_ids``.
    """
    vocab_size = v.positive_int("vocab_size", vocab_size)
    counts = {}
    for name, ids in (("train_ids", train_ids), ("eval_ids", eval_ids)):
        array = int_array(ids, name, ndim=1)
        if array.size == 0 or np.any((array < 0) | (array >= vocab_size)):
            raise ValueError(f"{name}: expected a non-empty array of ids in [0, {vocab_size})")
        counts[name] = np.bincount(array, minlength=vocab_size)
    train_p = counts["train_ids"] / counts["train_ids"].sum()
    seen = counts["eval_ids"] > 0
    with np.errstate(divide="ignore"):
        return float(-(counts["eval_ids"][seen] * np.log(train_p[seen])).sum() / counts["eval_ids"].sum())
