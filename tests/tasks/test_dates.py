import datetime
import json
import re

import numpy as np
import pytest

from bptt.tasks import dates
from bptt.tasks._vocab import CharVocabulary

# An independent reading of every format: strptime patterns (ordinal suffixes removed first).
ORACLE = ("%d %B %Y", "%B %d, %Y", "%b %d, %Y", "%d/%m/%Y", "%A, %d %b %Y", "%Y.%m.%d", "%d of %B %Y",
          "%d-%b-%Y", "%A, %B %d, %Y", "%d.%m.%Y", "%a %d %b %Y", "%Y/%m/%d", "%d %b %Y")


def readings(source):
    plain = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", source)
    found = set()
    for pattern in ORACLE:
        try:
            found.add(datetime.datetime.strptime(plain, pattern).date().isoformat())
        except ValueError:
            pass
    return found


WEEKDAY_NAMES = {datetime.date(2024, 1, d).strftime(f) for d in range(1, 8) for f in ("%A", "%a")}


@pytest.fixture(scope="module")
def train_pairs():
    return dates.sample(np.random.default_rng(0), 20_000)


def test_the_examples_of_the_brief():
    sunday = datetime.date(2026, 11, 22)
    assert dates.format_date(sunday, "{d} {month} {yyyy}") == "22 November 2026"
    assert dates.format_date(sunday, "{weekday}, {d} {mon} {yyyy}") == "Sunday, 22 Nov 2026"
    march = datetime.date(1999, 3, 3)
    assert dates.format_date(march, "{dth} of {month} {yyyy}") == "3rd of March 1999"
    assert dates.format_date(march, "{month} {dth}, {yyyy}") == "March 3rd, 1999"
    assert dates.format_date(march, "{dd}-{mon}-{yyyy}") == "03-Mar-1999"
    suffixes = [dates.format_date(datetime.date(2000, 1, d), "{dth}") for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)]
    assert suffixes == ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]


def test_every_source_has_exactly_one_reading_its_target(train_pairs):
    assert len(dates.FORMATS) >= 10
    for source, target in train_pairs[:3000]:
        assert readings(source) == {target}, source
    years = [int(t[:4]) for _, t in train_pairs]
    assert min(years) == 1900 and max(years) == 2099


def test_weekday_names_are_correct(train_pairs):
    checked = 0
    for source, target in train_pairs:
        day = datetime.date.fromisoformat(target)
        first_word = re.match(r"[A-Za-z]*", source).group()
        if first_word in WEEKDAY_NAMES:
            assert first_word in (day.strftime("%A"), day.strftime("%a")), source
            checked += 1
    assert checked > 2000


def test_all_formats_are_sampled(train_pairs):
    shapes = {re.sub(r"[A-Za-z]+", "A", re.sub(r"\d+", "9", s)) for s, _ in train_pairs}
    assert len(shapes) >= 10


def test_train_and_test_dates_are_disjoint_and_seeded(train_pairs):
    test_pairs = dates.sample(1, 5000, "test")
    train_days = {t for _, t in train_pairs}
    test_days = {t for _, t in test_pairs}
    assert not train_days & test_days
    assert len(test_days) > 3000  # about 7,305 test days in all
    assert dates.sample(7, 50) == dates.sample(np.random.default_rng(7), 50)
    assert dates.sample(7, 50) != dates.sample(8, 50)
    other_partition = {t for _, t in dates.sample(1, 5000, "test", split_seed=1)}
    assert other_partition & train_days


def test_vocabulary_covers_sources_and_targets(train_pairs):
    vocab = dates.vocabulary()
    assert vocab.tokens[:3] == ("<pad>", "<sos>", "<eos>")
    text = " ".join(s + " " + t for s, t in train_pairs)
    assert vocab.decode(vocab.encode(text)) == text
    assert set(text) == set(vocab.tokens[3:])  # no character of the alphabet is unused
    again = CharVocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again == vocab


def test_encode_pairs_layout():
    vocab = dates.vocabulary()
    pairs = [("3 Mar 1999", "1999-03-03"), ("Wednesday, March 3, 1999", "1999-03-03"), ("1999/3/3", "X")]
    with pytest.raises(ValueError, match=r"tokens\[0\]: 'X'"):
        dates.encode_pairs(vocab, pairs)
    pairs[2] = ("1999/3/3", "1999-3")
    batch = dates.encode_pairs(vocab, pairs)
    assert batch.source.shape == (24, 3) and batch.source.dtype == np.int64
    assert batch.source_lengths.tolist() == [10, 24, 8]
    assert vocab.decode(batch.source[:10, 0]) == "3 Mar 1999"
    assert np.all(batch.source[10:, 0] == 0) and np.all(batch.source[8:, 2] == 0)
    assert batch.decoder_input.shape == batch.decoder_target.shape == batch.target_mask.shape == (11, 3)
    assert batch.target_lengths.tolist() == [11, 11, 7]
    assert np.all(batch.decoder_input[0] == 1)
    assert vocab.decode(batch.decoder_input[1:, 0]) == "1999-03-03"
    assert vocab.decode(batch.decoder_target[:, 2]) == "1999-3<eos><pad><pad><pad><pad>"
    assert batch.target_mask.dtype == np.float64
    assert batch.target_mask[:, 2].tolist() == [1.0] * 7 + [0.0] * 4
    assert np.array_equal(batch.decoder_input[1:7, 2], batch.decoder_target[:6, 2])


def test_decode_stops_at_eos_and_exact_match():
    vocab = dates.vocabulary()
    batch = dates.encode_pairs(vocab, [("a", "1999-03-03"), ("b", "2000-1-1")])
    assert dates.decode(vocab, batch.decoder_target) == ["1999-03-03", "2000-1-1"]
    no_eos = vocab.encode("2000-01-01")[:, None]
    assert dates.decode(vocab, no_eos) == ["2000-01-01"]
    assert dates.exact_match(["1999-03-03", "2000-01-02"], ["1999-03-03", "2000-01-01"]) == 0.5


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: dates.sample(None, 3), TypeError, "rng"),
        (lambda: dates.sample(0, 0), ValueError, "n"),
        (lambda: dates.sample(0, 3, "valid"), ValueError, "split"),
        (lambda: dates.sample(0, 3, test_frac=1.0), ValueError, "test_frac"),
        (lambda: dates.sample(0, 3, split_seed=-1), ValueError, "split_seed"),
        (lambda: dates.format_date("2020-01-01", "{d}"), TypeError, "date"),
        (lambda: dates.format_date(datetime.date(2020, 1, 1), "{hour}"), ValueError, "fmt"),
        (lambda: dates.encode_pairs(CharVocabulary(["a"]), [("a", "a")]), TypeError, "vocab"),
        (lambda: dates.encode_pairs(dates.vocabulary(), []), ValueError, "pairs"),
        (lambda: dates.encode_pairs(dates.vocabulary(), [("1999",)]), ValueError, "pairs[0]"),
        (lambda: dates.encode_pairs(dates.vocabulary(), [("", "1999")]), ValueError, "sources[0]"),
        (lambda: dates.decode(dates.vocabulary(), np.zeros(3, dtype=int)), ValueError, "ids"),
        (lambda: dates.decode(dates.vocabulary(), np.full((2, 1), 99)), ValueError, "ids"),
        (lambda: dates.exact_match(["a"], ["a", "b"]), ValueError, "predicted"),
        (lambda: dates.exact_match("a", ["a"]), TypeError, "predicted"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_read_is_the_inverse_of_format_date_in_any_case():
    rng = np.random.default_rng(0)
    for k in range(600):
        day = dates.FIRST_DAY + datetime.timedelta(days=int(rng.integers(dates.N_DAYS)))
        fmt = dates.FORMATS[k % len(dates.FORMATS)]
        text = dates.format_date(day, fmt)
        for written in (text, text.upper(), text.lower(), f"  {text} "):
            got_day, got_fmt = dates.read(written)
            assert got_day == day and dates.format_date(got_day, got_fmt) == text, written


@pytest.mark.parametrize("text, why", [
    ("hello", "not a date in a supported format"), ("", "empty"), ("   ", "empty"),
    ("31 February 2020", "no such day: February 2020 has 29 days"),
    ("29 February 2100", "no such day: February 2100 has 28 days"), ("2026/13/1", "month 13 does not exist"),
    ("1850/1/1", "outside the years 1900–2099"), ("Monday, 22 Nov 2026", "is a Sunday, not 'Monday'"),
    ("Foo 22 Nov 2026", "'Foo' is not a weekday"), ("Novem 22, 2026", "'Novem' is not a month"),
    ("12nd of June 2001", "the ordinal of 12 is '12th'"), ("1999-03-03 and more", "not a date"),
])
def test_read_says_why_a_text_is_not_a_date(text, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        dates.read(text)
