import json

import numpy as np
import pytest

from bptt.tasks import charlm


@pytest.fixture(scope="module")
def shakespeare(request):
    data_dir = request.getfixturevalue("data_dir")
    text = charlm.load_text(data_dir / "tinyshakespeare.txt")
    vocab = charlm.TextVocabulary.from_text(text)
    return text, vocab, vocab.encode(text)


def test_tinyshakespeare_round_trips_and_splits_like_nanogpt(shakespeare):
    text, vocab, ids = shakespeare
    assert len(text) == 1_115_394 and len(vocab) == 65
    assert vocab.tokens[:2] == ("\n", " ") and vocab.tokens[-1] == "z"
    assert ids.dtype == np.int64 and ids.shape == (1_115_394,)
    assert vocab.decode(ids) == text
    train, val = charlm.split(ids)
    assert (len(train), len(val)) == (1_003_854, 111_540)
    assert vocab.decode(val) == text[1_003_854:]


def test_unigram_baselines_match_the_data_readme(shakespeare):
    _, vocab, ids = shakespeare
    train, val = charlm.split(ids)
    assert charlm.unigram_nats(ids, ids, len(vocab)) == pytest.approx(3.3128, abs=5e-5)
    assert charlm.unigram_nats(train, val, len(vocab)) == pytest.approx(3.3473, abs=5e-5)
    assert charlm.bits_per_char(3.3128) == pytest.approx(4.779, abs=5e-4)


def test_unigram_nats_is_infinite_for_an_unseen_character():
    assert charlm.unigram_nats([0, 0, 1], [2], 3) == np.inf
    assert charlm.unigram_nats([0, 0, 1, 1], [0, 1], 2) == pytest.approx(np.log(2))


def test_vocabulary_round_trips_through_json():
    text = "Ünïcode — text\nwith 2 lines"
    vocab = charlm.TextVocabulary.from_text(text)
    assert list(vocab.tokens) == sorted(set(text))
    again = charlm.TextVocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again == vocab
    assert again.decode(again.encode(text)) == text
    assert vocab.encode("ext").tolist() == [vocab.tokens.index(c) for c in "ext"]


def test_stream_batcher_streams_are_contiguous_and_targets_are_next_ids():
    ids = np.arange(103)
    batcher = charlm.StreamBatcher(ids, batch_size=4, seq_len=10)
    chunks = list(batcher)
    assert len(batcher) == len(chunks) == 3  # L = 102 // 4 = 25 steps: 10 + 10 + 5
    assert [x.shape for x, _ in chunks] == [(10, 4), (10, 4), (5, 4)]
    x = np.concatenate([x for x, _ in chunks])
    y = np.concatenate([y for _, y in chunks])
    assert np.array_equal(x, np.arange(100).reshape(4, 25).T)
    assert np.array_equal(y, x + 1)
    assert batcher.n_targets == 100
    assert all(x.dtype == np.int64 and not x.flags.writeable for x, _ in chunks)
    again = [x for x, _ in batcher]  # a new epoch starts from the beginning
    assert np.array_equal(again[0], chunks[0][0])


def test_evaluation_batches_predict_every_character_once():
    ids = np.arange(50) % 7
    batches = charlm.evaluation_batches(ids, seq_len=8)
    xs, ys = zip(*batches)
    assert batches.n_targets == 49
    assert np.array_equal(np.concatenate(xs)[:, 0], ids[:-1])
    assert np.array_equal(np.concatenate(ys)[:, 0], ids[1:])


def test_doctest_example_chunk_is_the_text():
    vocab = charlm.TextVocabulary.from_text("hello world")
    x, y = next(iter(charlm.StreamBatcher(vocab.encode("hello world"), 2, 3)))
    assert [vocab.decode(x[:, b]) for b in range(2)] == ["hel", " wo"]
    assert [vocab.decode(y[:, b]) for b in range(2)] == ["ell", "wor"]


def test_load_text_errors_name_the_file(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.txt: the file is empty"):
        charlm.load_text(empty)
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(b"first line\nsecond caf\xe9\n")
    with pytest.raises(ValueError, match=r"latin1.txt, line 2: not valid UTF-8 at byte offset 21"):
        charlm.load_text(latin)
    with pytest.raises(TypeError, match="path"):
        charlm.load_text(3)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: charlm.TextVocabulary.from_text(""), ValueError, "text"),
        (lambda: charlm.TextVocabulary.from_text(b"abc"), TypeError, "text"),
        (lambda: charlm.TextVocabulary(["ab", "c"]), ValueError, "single characters"),
        (lambda: charlm.TextVocabulary(["a", "a"]), ValueError, "distinct"),
        (lambda: charlm.TextVocabulary.from_dict({"tokens": ["a"]}), ValueError, "'unk'"),
        (lambda: charlm.TextVocabulary.from_dict({"tokens": "ab", "unk": None}), TypeError, "tokens"),
        (lambda: charlm.TextVocabulary.from_text("abc").encode("abd"), ValueError, "tokens[2]: 'd'"),
        (lambda: charlm.TextVocabulary.from_text("abc").encode(7), TypeError, "tokens"),
        (lambda: charlm.TextVocabulary.from_text("abc").decode([0, 3]), ValueError, "ids"),
        (lambda: charlm.TextVocabulary.from_text("abc").decode([0.0]), TypeError, "ids"),
        (lambda: charlm.split(np.arange(10), frac=1.0), ValueError, "frac"),
        (lambda: charlm.split(np.arange(1)), ValueError, "too few"),
        (lambda: charlm.split(np.zeros(5)), TypeError, "ids"),
        (lambda: charlm.StreamBatcher(np.arange(4), 4, 2), ValueError, "at least batch_size + 1"),
        (lambda: charlm.StreamBatcher(np.arange(10), 2, 0), ValueError, "seq_len"),
        (lambda: charlm.StreamBatcher(np.arange(10) - 1, 2, 2), ValueError, "non-negative"),
        (lambda: charlm.StreamBatcher(np.arange(10).reshape(2, 5), 1, 2), ValueError, "dimensions"),
        (lambda: charlm.unigram_nats([0, 5], [0], 3), ValueError, "train_ids"),
        (lambda: charlm.unigram_nats([0], [], 3), ValueError, "eval_ids"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
