"""Malformed data files and bad task arguments: one clear error naming the file and the line.

Every data-file row writes a small file and expects a ValueError whose message starts with
the file's path and, where a line is at fault, ``, line <n>:`` (tasks/_io.py). A missing file
or a directory stays the OS's own error (FileNotFoundError / IsADirectoryError), which names
the path; the CLI turns both kinds into one line and exit status 2 (test_reliability_cli.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from bptt.tasks import addition, charlm, dates, digits, parity, sentiment, timeseries

from reliability_helpers import raise_clearly

FILES = {
    # name: (loader, file name, bytes, the line at fault or None)
    "sentiment: line without a tab": (sentiment.read_file, "s.txt", b"good\t1\nbad movie\n", 2),
    "sentiment: label 2": (sentiment.read_file, "s.txt", b"good\t1\nbad\t2\n", 2),
    "sentiment: label ' 1'": (sentiment.read_file, "s.txt", b"good\t 1\n", 1),
    "sentiment: empty sentence": (sentiment.read_file, "s.txt", b"good\t1\n  \t0\n", 2),
    "sentiment: blank line": (sentiment.read_file, "s.txt", b"good\t1\n\nbad\t0\n", 2),
    "sentiment: empty file": (sentiment.read_file, "s.txt", b"", None),
    "sentiment: undecodable bytes": (sentiment.read_file, "s.txt", b"good\t1\nbad \xff\xfe\t0\n", 2),
    "sentiment: UTF-16 file": (sentiment.read_file, "s.txt", "good\t1\n".encode("utf-16"), 1),
    "sentiment: load() of a bad file": (lambda p: sentiment.load([p]), "s.txt", b"ok\t1\nno tab\n", 2),
    "csv: non-numeric cell": (timeseries.load_csv, "c.csv", b"month,v\n1,2\n2,abc\n", 3),
    "csv: nan cell": (timeseries.load_csv, "c.csv", b"month,v\n1,nan\n", 2),
    "csv: inf cell": (timeseries.load_csv, "c.csv", b"month,v\n1,1e999\n", 2),
    "csv: empty cell": (timeseries.load_csv, "c.csv", b"month,v\n1,\n", 2),
    "csv: missing column": (timeseries.load_csv, "c.csv", b"month,v\n1,2\n3\n", 3),
    "csv: blank line": (timeseries.load_csv, "c.csv", b"month,v\n1,2\n\n3,4\n", 3),
    "csv: unbalanced quote": (timeseries.load_csv, "c.csv", b'month,v\n"1949,2\n', 2),
    "csv: NUL byte in a cell": (timeseries.load_csv, "c.csv", b"month,v\n1,2\x00\n", 2),
    "csv: header only": (timeseries.load_csv, "c.csv", b"month,v\n", None),
    "csv: empty file": (timeseries.load_csv, "c.csv", b"", None),
    "csv: undecodable bytes": (timeseries.load_csv, "c.csv", b"month,v\n1,2\n\xff,3\n", 3),
    "text: empty file": (charlm.load_text, "t.txt", b"", None),
    "text: undecodable bytes": (charlm.load_text, "t.txt", b"hello\nw\xc3(rld\n", 2),
    "text: truncated UTF-8 at the end": (charlm.load_text, "t.txt", b"hello \xe2\x82", 1),
    "text: Latin-1 file": (charlm.load_text, "t.txt", "naïve café\n".encode("latin-1"), 1),
}


@pytest.mark.parametrize("name", list(FILES))
def test_malformed_file_names_file_and_line(name, tmp_path):
    load, filename, data, line = FILES[name]
    path = tmp_path / filename
    path.write_bytes(data)
    msg = raise_clearly(lambda: load(path), ValueError, str(path))
    if line is not None:
        assert msg.startswith(f"{path}, line {line}: "), msg
    assert "expected" in msg or "empty" in msg, msg


@pytest.mark.parametrize("load", [sentiment.read_file, timeseries.load_csv, charlm.load_text])
def test_missing_file_and_directory_are_os_errors_naming_the_path(load, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load(tmp_path / "nope.txt")
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        load(tmp_path)


V, TE = ValueError, TypeError
ARGS = {
    "addition.batch batch_size 0": (lambda: addition.batch(0, 0, 4), V, "batch_size"),
    "addition.batch rng float": (lambda: addition.batch(0.5, 2, 4), TE, "rng"),
    "addition.batch rng negative": (lambda: addition.batch(-1, 2, 4), V, "rng"),
    "addition.batch bit_lengths": (lambda: addition.batch(0, 2, 4, bit_lengths="short"), V, "bit_lengths"),
    "addition.encode unequal": (lambda: addition.encode([1, 2], [1]), V, "a, b"),
    "addition.encode negative": (lambda: addition.encode([-1], [1]), V, "a[0]"),
    "addition.encode too wide": (lambda: addition.encode([8], [1], n_bits=3), V, "a[0]"),
    "addition.decode NaN": (lambda: addition.decode(np.full((3, 1, 1), np.nan)), V, "y_prob"),
    "addition.decode logits": (lambda: addition.decode(np.full((3, 1, 1), 2.0)), V, "y_prob"),
    "parity.encode not bits": (lambda: parity.encode([[0, 2]]), V, "bits"),
    "parity.encode empty": (lambda: parity.encode(np.zeros((1, 0))), V, "bits"),
    "parity.encode ragged": (lambda: parity.encode([[0, 1], [1]]), V, "bits"),
    "parity.batch length 0": (lambda: parity.batch(0, 2, 0), V, "length"),
    "digits.encode n_bits 53": (lambda: digits.encode([1], 53), V, "n_bits"),
    "digits.encode out of range": (lambda: digits.encode([8], 3), V, "values"),
    "digits.encode floats": (lambda: digits.encode([1.5], 3), TE, "values"),
    "charlm.split frac 1": (lambda: charlm.split(np.arange(10), frac=1.0), V, "frac"),
    "charlm.split too short": (lambda: charlm.split([0]), V, "ids"),
    "charlm.StreamBatcher seq_len 0": (lambda: charlm.StreamBatcher(np.arange(10), 2, 0), V, "seq_len"),
    "charlm.StreamBatcher too few ids": (lambda: charlm.StreamBatcher([1, 2], 2, 3), V, "ids"),
    "charlm.StreamBatcher negative ids": (lambda: charlm.StreamBatcher([1, -2, 3], 1, 3), V, "ids"),
    "charlm.TextVocabulary unknown char": (lambda: charlm.TextVocabulary.from_text("ab").encode("abc"), V, "tokens[2]", "'c'"),
    "charlm.TextVocabulary empty text": (lambda: charlm.TextVocabulary.from_text(""), V, "text"),
    "charlm.TextVocabulary.decode id": (lambda: charlm.TextVocabulary.from_text("ab").decode([2]), V, "ids"),
    "charlm.TextVocabulary.from_dict junk": (lambda: charlm.TextVocabulary.from_dict({"tokens": "ab"}), V, "data"),
    "charlm.load_text path int": (lambda: charlm.load_text(3), TE, "path"),
    "sentiment.load empty list": (lambda: sentiment.load([]), TE, "paths"),
    "sentiment.encode_batch labels": (lambda: sentiment.encode_batch(
        sentiment.WordVocabulary.build([["a"]]), [["a"]], [2]), V, "labels"),
    "sentiment.encode_batch empty sentence": (lambda: sentiment.encode_batch(
        sentiment.WordVocabulary.build([["a"]]), [["a"], []], [1, 0]), V, "token_lists[1]"),
    "sentiment.train_test_split one": (lambda: sentiment.train_test_split([1]), V, "labels"),
    "sentiment.tokenize bytes": (lambda: sentiment.tokenize(b"good"), TE, "sentence"),
    "timeseries.load_csv column -1": (lambda: timeseries.load_csv("x.csv", column=-1), V, "column"),
    "timeseries.load_csv column str": (lambda: timeseries.load_csv("x.csv", column="v"), TE, "column"),
    "timeseries.OneStepForecast constant": (lambda: timeseries.OneStepForecast(np.full(10, 2.0)), V, "values"),
    "timeseries.OneStepForecast one value": (lambda: timeseries.OneStepForecast(np.array([1.0])), V, "values"),
    "timeseries.OneStepForecast NaN": (lambda: timeseries.OneStepForecast(np.array([1.0, np.nan, 2.0])), V, "values"),
    "timeseries.Normaliser std 0": (lambda: timeseries.Normaliser(0.0, 0.0), V, "std"),
    "dates.sample n 0": (lambda: dates.sample(0, 0), V, "n"),
    "dates.sample split": (lambda: dates.sample(0, 2, split="dev"), V, "split"),
    "dates.encode_pairs empty": (lambda: dates.encode_pairs(dates.vocabulary(), []), V, "pairs"),
    "dates.encode_pairs not pairs": (lambda: dates.encode_pairs(dates.vocabulary(), [("a",)]), V, "pairs[0]"),
}


@pytest.mark.parametrize("name", list(ARGS))
def test_bad_task_argument_gives_one_clear_error(name):
    fn, exc, *fragments = ARGS[name]
    msg = raise_clearly(fn, exc, *fragments)
    assert msg.startswith(fragments[0]), msg
