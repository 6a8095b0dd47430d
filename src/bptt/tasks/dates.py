"""Translate dates written by people into ISO dates (encoder-decoder, character level).

A source is a date between 1900-01-01 and 2099-12-31 written in one of ``FORMATS`` (e.g.
"Sunday, 22 Nov 2026", "3rd of March 1999", "03-Mar-1999"; weekday names are the true ones);
its target is the ISO date "2026-11-22". ``encode_pairs`` turns (source, target) pairs into
padded time-major id arrays: the encoder reads ``source`` int64 (Ts, B); the decoder reads
``decoder_input`` = ``<sos>`` + target and is trained to emit ``decoder_target`` = target +
``<eos>``, both int64 (Tt, B), with softmax + cross-entropy where ``target_mask`` is 1.
Training and test dates are disjoint: a seeded partition of all 73,049 days puts every
day, in all its formats, on one side only.

Example: one pair (ids 0, 1, 2 are ``<pad>``, ``<sos>``, ``<eos>``)

>>> vocab = vocabulary()
>>> batch = encode_pairs(vocab, [("1999/3/3", "1999-03-03")])
>>> batch.source[:, 0]
array([ 9, 17, 17, 17,  7, 11,  7, 11])
>>> batch.decoder_input[:, 0]
array([ 1,  9, 17, 17, 17,  5,  8, 11,  5,  8, 11])
>>> batch.decoder_target[:, 0]
array([ 9, 17, 17, 17,  5,  8, 11,  5,  8, 11,  2])
"""

from __future__ import annotations

import datetime
import functools
import string
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..sequences import length_mask
from . import _metrics
from ._batching import pad
from .. import _validate as v
from ._checks import as_rng, int_array
from ._vocab import CharVocabulary

__all__ = ["EOS", "FORMATS", "PAD", "SOS", "Seq2SeqBatch", "decode", "encode_pairs", "exact_match",
           "format_date", "sample", "vocabulary"]

PAD, SOS, EOS = "<pad>", "<sos>", "<eos>"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Fields: d/dd day (dd zero-padded), dth ordinal day ("3rd"), m/mm month number, month name,
# mon its first three letters, weekday name, wkd its first three letters, yyyy year.
# Day-month-year and year-month-day orders never share a separator with a numeric month,
# so every source has one reading.
FORMATS = (
    "{d} {month} {yyyy}",  # 22 November 2026
    "{month} {d}, {yyyy}",  # November 22, 2026
    "{mon} {d}, {yyyy}",  # Nov 22, 2026
    "{dd}/{mm}/{yyyy}",  # 22/11/2026
    "{weekday}, {d} {mon} {yyyy}",  # Sunday, 22 Nov 2026
    "{yyyy}.{mm}.{dd}",  # 2026.11.22
    "{dth} of {month} {yyyy}",  # 22nd of November 2026
    "{month} {dth}, {yyyy}",  # November 22nd, 2026
    "{dd}-{mon}-{yyyy}",  # 22-Nov-2026
    "{weekday}, {month} {d}, {yyyy}",  # Sunday, November 22, 2026
    "{dd}.{mm}.{yyyy}",  # 22.11.2026
    "{wkd} {d} {mon} {yyyy}",  # Sun 22 Nov 2026
    "{yyyy}/{m}/{d}",  # 2026/11/22
    "{d} {mon} {yyyy}",  # 22 Nov 2026
)

FIRST_DAY = datetime.date(1900, 1, 1)
N_DAYS = (datetime.date(2099, 12, 31) - FIRST_DAY).days + 1


def format_date(date: datetime.date, fmt: str) -> str:
    """``date`` written in the format ``fmt`` (one of ``FORMATS`` or any template using its fields)."""
    if not isinstance(date, datetime.date):
        raise TypeError(f"date: expected a datetime.date, got {type(date).__name__}")
    if not isinstance(fmt, str):
        raise TypeError(f"fmt: expected a str, got {type(fmt).__name__}")
    suffix = "th" if 11 <= date.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(date.day % 10, "th")
    fields = {
        "d": date.day, "dd": f"{date.day:02d}", "dth": f"{date.day}{suffix}",
        "m": date.month, "mm": f"{date.month:02d}", "month": MONTHS[date.month - 1],
        "mon": MONTHS[date.month - 1][:3], "weekday": WEEKDAYS[date.weekday()],
        "wkd": WEEKDAYS[date.weekday()][:3], "yyyy": f"{date.year:04d}",
    }
    try:
        return fmt.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"fmt: expected a template with the fields {sorted(fields)}, got {fmt!r} ({exc!r})") from None


@functools.lru_cache(maxsize=8)
def _test_days(split_seed: int, test_frac: float) -> np.ndarray:
    """Bool (N_DAYS,): which days (counted from FIRST_DAY) belong to the test set."""
    is_test = np.zeros(N_DAYS, dtype=bool)
    is_test[np.random.default_rng(split_seed).permutation(N_DAYS)[: round(test_frac * N_DAYS)]] = True
    is_test.flags.writeable = False
    return is_test


def sample(rng: np.random.Generator | int, n: int, split: str = "train", *, split_seed: int = 0,
           test_frac: float = 0.1) -> list[tuple[str, str]]:
    """``n`` random (source, target) pairs from the ``split`` ("train" or "test") days.

    Days are drawn uniformly from their side of the partition and formats uniformly from
    ``FORMATS``, both with ``rng``. The partition depends only on ``split_seed`` and
    ``test_frac``: ``round(test_frac * 73049)`` days, chosen by a permutation seeded with
    ``split_seed``, are test days, the others training days. Keep both fixed across runs.
    """
    rng = as_rng(rng)
    n = v.positive_int("n", n)
    v.choice("split", split, ("train", "test"))
    is_test = _test_days(v.positive_int("split_seed", split_seed, 0), v.real("test_frac", test_frac, 0.0, 1.0, low_open=True))
    days = rng.choice(np.flatnonzero(is_test == (split == "test")), size=n)
    formats = rng.integers(0, len(FORMATS), size=n)
    pairs = []
    for day, k in zip(days, formats):
        date = FIRST_DAY + datetime.timedelta(days=int(day))
        pairs.append((format_date(date, FORMATS[k]), date.isoformat()))
    return pairs


def vocabulary() -> CharVocabulary:
    """``<pad>`` = 0, ``<sos>`` = 1, ``<eos>`` = 2, then every character that ``FORMATS`` and
    ISO dates can contain, sorted. ``encode(str)`` / ``decode(ids)``, ``to_dict`` / ``from_dict``."""
    literal = "".join(text for template in FORMATS for text, *_ in string.Formatter().parse(template))
    chars = set(string.digits + "-" + "stndrh" + literal).union(*MONTHS, *WEEKDAYS)
    return CharVocabulary([PAD, SOS, EOS, *sorted(chars)])


class Seq2SeqBatch(NamedTuple):
    """Time-major arrays of B (source, target) pairs; see ``encode_pairs``."""

    source: np.ndarray  # int64 (Ts, B), padded with <pad>
    source_lengths: np.ndarray  # int64 (B,), in [1, Ts]
    decoder_input: np.ndarray  # int64 (Tt, B): <sos> + target, padded
    decoder_target: np.ndarray  # int64 (Tt, B): target + <eos>, padded
    target_lengths: np.ndarray  # int64 (B,): len(target) + 1, in [1, Tt]
    target_mask: np.ndarray  # float (Tt, B): 1.0 on the steps that carry a loss


def _check_vocab(vocab: object) -> None:
    if not isinstance(vocab, CharVocabulary) or not {PAD, SOS, EOS} <= set(vocab.tokens):
        raise TypeError("vocab: expected a character vocabulary with <pad>, <sos> and <eos> (see vocabulary())")


def encode_pairs(vocab: CharVocabulary, pairs: Sequence[tuple[str, str]]) -> Seq2SeqBatch:
    """Encode B (source, target) string pairs character by character into a ``Seq2SeqBatch``."""
    _check_vocab(vocab)
    if isinstance(pairs, str) or not isinstance(pairs, Sequence) or not pairs:
        raise ValueError("pairs: expected a non-empty list of (source, target) pairs")
    sources, targets = [], []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(s, str) for s in pair)):
            raise ValueError(f"pairs[{i}]: expected a (source, target) pair of str, got {pair!r}")
        sources.append(vocab.encode(pair[0]))
        targets.append(vocab.encode(pair[1]))
    sos, eos, pad_id = vocab.id(SOS), vocab.id(EOS), vocab.id(PAD)
    source, source_lengths = pad(sources, pad_id, "sources")
    decoder_input, target_lengths = pad([np.r_[sos, t] for t in targets], pad_id, "targets")
    decoder_target, _ = pad([np.r_[t, eos] for t in targets], pad_id, "targets")
    mask = length_mask(target_lengths, decoder_target.shape[0]).astype(np.float64)
    return Seq2SeqBatch(source, source_lengths, decoder_input, decoder_target, target_lengths, mask)


def decode(vocab: CharVocabulary, ids: object) -> list[str]:
    """The B strings of decoder outputs ``ids`` int64 (T, B): each column up to its first
    ``<eos>`` (or to the end); any other special token is kept as its name."""
    _check_vocab(vocab)
    array = int_array(ids, "ids", ndim=2)
    eos = vocab.id(EOS)
    texts = []
    for column in array.T:
        stop = np.flatnonzero(column == eos)
        texts.append(vocab.decode(column[: stop[0]] if stop.size else column))
    return texts


def exact_match(predicted: Sequence[str], targets: Sequence[str]) -> float:
    """Fraction of the B predicted strings equal to their targets."""
    for name, texts in (("predicted", predicted), ("targets", targets)):
        if isinstance(texts, str) or not isinstance(texts, Sequence) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"{name}: expected a list of str")
    return _metrics.exact_match(predicted, targets)
