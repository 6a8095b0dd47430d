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
import re
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
           "format_date", "read", "sample", "vocabulary"]

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


# what each field of FORMATS matches when a person's text is read (``read``), case ignored
_FIELD_PATTERNS = {"d": r"\d{1,2}", "dd": r"\d{1,2}", "dth": r"\d{1,2}(?:st|nd|rd|th)", "m": r"\d{1,2}",
                   "mm": r"\d{1,2}", "month": r"[a-z]+", "mon": r"[a-z]+", "weekday": r"[a-z]+", "wkd": r"[a-z]+",
                   "yyyy": r"\d{4}"}


@functools.lru_cache(maxsize=None)
def _pattern(fmt: str) -> re.Pattern:
    """The regular expression of the template ``fmt``: its literal text, and each field as a group."""
    parts = []
    for literal, field, _, _ in string.Formatter().parse(fmt):
        parts.append(re.escape(literal))
        if field:
            parts.append(f"(?P<{field}>{_FIELD_PATTERNS[field]})")
    return re.compile("".join(parts), re.IGNORECASE)


def read(text: str) -> tuple[datetime.date, str]:
    """The date a person's ``text`` writes and the one of ``FORMATS`` it is written in, ignoring
    case and surrounding spaces: ``read("3RD of march 1999") == (date(1999, 3, 3), "{dth} of
    {month} {yyyy}")``, so ``format_date(*read(text))`` is ``text`` as the task writes it.

    ValueError saying why ``text`` is not such a date: empty; in none of the formats; a day that
    does not exist ("31 February 2020"); outside 1900–2099; a weekday or an ordinal suffix that
    contradicts the date."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    text = text.strip()
    if not text:
        raise ValueError("empty: expected a date such as '3rd of March 1999'")
    reasons = []
    for fmt in FORMATS:
        match = _pattern(fmt).fullmatch(text)
        if match is None:
            continue
        try:
            return _date_of(match.groupdict()), fmt
        except ValueError as exc:
            reasons.append(str(exc))
    if reasons:
        raise ValueError(reasons[0])
    raise ValueError("not a date in a supported format (`bptt translate --help` lists them)")


def _date_of(fields: dict) -> datetime.date:
    """The date of a format's matched ``fields``, checked: ValueError naming what is wrong."""
    names = [m.lower() for m in MONTHS]
    if "month" in fields or "mon" in fields:
        given = fields.get("month") or fields["mon"]
        full = "month" in fields
        known = [n if full else n[:3] for n in names]
        if given.lower() not in known:
            raise ValueError(f"{given!r} is not a month{'' if full else ' (its first three letters)'}")
        month = known.index(given.lower()) + 1
    else:
        month = int(fields.get("m") or fields["mm"])
    day = int(re.match(r"\d+", fields.get("d") or fields.get("dd") or fields["dth"]).group())
    year = int(fields["yyyy"])
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} does not exist")
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        last = (datetime.date(year + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1)).day
        raise ValueError(f"no such day: {MONTHS[month - 1]} {year} has {last} days") from None
    if not FIRST_DAY <= date <= FIRST_DAY + datetime.timedelta(days=N_DAYS - 1):
        raise ValueError(f"{date.isoformat()} is outside the years 1900–2099 the task covers")
    if "dth" in fields and fields["dth"].lower() != format_date(date, "{dth}"):
        raise ValueError(f"{fields['dth']!r}: the ordinal of {day} is {format_date(date, '{dth}')!r}")
    weekday = fields.get("weekday") or fields.get("wkd")
    if weekday is not None:
        full = "weekday" in fields
        if weekday.lower() not in [w.lower() if full else w[:3].lower() for w in WEEKDAYS]:
            raise ValueError(f"{weekday!r} is not a weekday")
        if weekday.lower() != format_date(date, "{weekday}" if full else "{wkd}").lower():
            raise ValueError(f"{date.isoformat()} is a {WEEKDAYS[date.weekday()]}, not {weekday!r}")
    return date


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
