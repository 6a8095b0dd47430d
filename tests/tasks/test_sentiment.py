import json

import numpy as np
import pytest

from bptt.tasks import sentiment

FILES = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt")


@pytest.fixture(scope="module")
def pooled(data_dir):
    return sentiment.load([data_dir / "sentiment" / name for name in FILES])


@pytest.mark.parametrize("name, quoted", [(FILES[0], 11), (FILES[1], 43), (FILES[2], 12)])
def test_each_file_has_1000_balanced_lines_with_quotes_kept(data_dir, name, quoted):
    sentences, labels = sentiment.read_file(data_dir / "sentiment" / name)
    assert len(sentences) == len(labels) == 1000
    assert labels.dtype == np.int64 and np.bincount(labels).tolist() == [500, 500]
    assert sum('"' in s for s in sentences) == quoted  # the data README's counts


def test_unbalanced_quotes_stay_inside_their_line(data_dir):
    sentences, labels = sentiment.read_file(data_dir / "sentiment" / "yelp_labelled.txt")
    assert sentences[764] == "I'm so happy to be here!!!\"" and labels[764] == 1
    assert sentences[765].count('"') == 0


def test_lines_with_u0085_parse_as_one_line_each(data_dir):
    sentences, labels = sentiment.read_file(data_dir / "sentiment" / "imdb_labelled.txt")
    with_nel = [i for i, s in enumerate(sentences) if "\x85" in s]
    assert with_nel == [178, 967]
    assert sentences[178] == "The script is\x85was there a script?  " and labels[178] == 0
    assert sentiment.tokenize(sentences[178]) == ["the", "script", "is", "was", "there", "a", "script"]


def test_load_pools_files_in_order(pooled, data_dir):
    sentences, labels = pooled
    assert len(sentences) == len(labels) == 3000
    amazon, _ = sentiment.read_file(data_dir / "sentiment" / FILES[0])
    assert sentences[:1000] == amazon
    single, _ = sentiment.load(data_dir / "sentiment" / FILES[0])
    assert single == amazon


def test_tokenize():
    assert sentiment.tokenize("Not BAD, I'd say... 10/10! 'Quoted' café_au") == [
        "not", "bad", "i'd", "say", "10", "10", "quoted", "café", "au"]
    assert sentiment.tokenize(" -- ' !") == []


def test_vocabulary_counts_orders_and_round_trips():
    vocab = sentiment.WordVocabulary.build([["b", "a", "b"], ["c", "a", "b"], ["d"]], min_count=2)
    assert vocab.tokens == ("<pad>", "<unk>", "b", "a")
    assert vocab.encode(["a", "zebra", "b"]).tolist() == [3, 1, 2]
    assert vocab.decode([2, 1, 0]) == ["b", "<unk>", "<pad>"]
    again = sentiment.WordVocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again == vocab and isinstance(again, sentiment.WordVocabulary)


def test_encode_batch_pads_time_major():
    vocab = sentiment.WordVocabulary.build([["good", "film"], ["bad"]])
    x, lengths, y = sentiment.encode_batch(vocab, [["bad"], ["good", "film", "really"]], [0, 1])
    assert x.dtype == np.int64 and x.shape == (3, 2)
    assert x[:, 0].tolist() == [vocab.id("bad"), 0, 0]
    assert x[:, 1].tolist() == [vocab.id("good"), vocab.id("film"), 1]
    assert lengths.dtype == np.int64 and lengths.tolist() == [1, 3]
    assert y.dtype == np.float64 and y.tolist() == [[0.0], [1.0]]


def test_split_is_stratified_disjoint_and_seeded():
    labels = np.array([0] * 60 + [1] * 40)
    train, test = sentiment.train_test_split(labels)
    assert len(test) == 20 and np.bincount(labels[test]).tolist() == [12, 8]
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(100))
    again, _ = sentiment.train_test_split(labels, seed=0)
    other, _ = sentiment.train_test_split(labels, seed=1)
    assert np.array_equal(train, again) and not np.array_equal(train, other)


def test_logistic_regression_reaches_the_regularised_optimum():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X @ np.array([2.0, -1.0, 0.0, 0.5, 0.0]) + 0.3 + rng.normal(size=200) > 0).astype(float)
    model = sentiment.LogisticRegression(l2=0.01).fit(X, y)
    w = model.weights[:-1]
    p = model.predict_proba(X)[:, 0]
    assert np.allclose(X.T @ (p - y) / 200 + 0.01 * w, 0, atol=1e-8)  # stationarity
    assert abs(np.mean(p - y)) < 1e-8  # the unpenalised bias
    assert w[0] > 1 and w[1] < -0.5 and sentiment.accuracy(p, y) > 0.8
    assert model.n_iter < 20


def test_bag_of_words_baseline_on_the_pooled_files(pooled):
    sentences, labels = pooled
    tokens = [sentiment.tokenize(s) for s in sentences]
    train, test = sentiment.train_test_split(labels)
    assert np.array_equal(np.bincount(labels[test]), [300, 300])
    vocab = sentiment.WordVocabulary.build([tokens[i] for i in train], min_count=2)
    features = sentiment.bag_of_words(vocab, tokens)
    assert features.shape == (3000, len(vocab)) and set(np.unique(features)) == {0.0, 1.0}
    model = sentiment.LogisticRegression(l2=1e-3).fit(features[train], labels[train])
    accuracy = sentiment.accuracy(model.predict_proba(features[test]), labels[test][:, None])
    assert accuracy == pytest.approx(484 / 600, abs=0.005)  # the number in the module docstring


def _write(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "content, words",
    [
        (b"good\t1\nno tab here\n", "bad.txt, line 2: expected 'sentence<TAB>label', found no tab"),
        (b"good\t1\nok\t0\nmeh\t2\n", "bad.txt, line 3: expected the label 0 or 1 after the last tab, got '2'"),
        (b"good\t1 \n", "bad.txt, line 1: expected the label 0 or 1"),
        (b"good\t1\n\n", "bad.txt, line 2: expected 'sentence<TAB>label'"),
        (b"good\t1\n  \t0\n", "bad.txt, line 2: expected a sentence before the tab"),
        (b"", "bad.txt: the file is empty"),
        (b"good\t1\nna\xefve\t0\n", "bad.txt, line 2: not valid UTF-8 at byte offset 9"),
    ],
)
def test_malformed_files_name_the_file_and_line(tmp_path, content, words):
    with pytest.raises(ValueError) as info:
        sentiment.read_file(_write(tmp_path, "bad.txt", content))
    assert words in str(info.value)


def test_crlf_and_tabs_inside_sentences(tmp_path):
    path = _write(tmp_path, "ok.txt", b"a\tb \"c\t1\r\nd\t0")
    sentences, labels = sentiment.read_file(path)
    assert sentences == ['a\tb "c', "d"] and labels.tolist() == [1, 0]


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: sentiment.load([]), TypeError, "paths"),
        (lambda: sentiment.load(42), TypeError, "paths"),
        (lambda: sentiment.read_file(None), TypeError, "path"),
        (lambda: sentiment.tokenize(None), TypeError, "sentence"),
        (lambda: sentiment.WordVocabulary.build([["a"]], min_count=0), ValueError, "min_count"),
        (lambda: sentiment.WordVocabulary.build(["abc"]), TypeError, "token_lists[0]"),
        (lambda: sentiment.WordVocabulary(["a", "<pad>", "<unk>"]), ValueError, "first two tokens"),
        (lambda: sentiment.WordVocabulary.from_dict({"tokens": ["<pad>", "<unk>"], "unk": None}), ValueError, "unk"),
        (lambda: sentiment.encode_batch(sentiment.WordVocabulary.build([["a"]]), [["a"], []], [0, 1]),
         ValueError, "token_lists[1]"),
        (lambda: sentiment.encode_batch(sentiment.WordVocabulary.build([["a"]]), [["a"]], [0, 1]), ValueError,
         "token_lists"),
        (lambda: sentiment.encode_batch(sentiment.WordVocabulary.build([["a"]]), [["a"]], [2]), ValueError, "labels"),
        (lambda: sentiment.encode_batch(None, [["a"]], [1]), TypeError, "vocab"),
        (lambda: sentiment.train_test_split([0, 1, 1], test_frac=0.0), ValueError, "test_frac"),
        (lambda: sentiment.train_test_split([0]), ValueError, "labels"),
        (lambda: sentiment.train_test_split([0, 0, 1], test_frac=0.1), ValueError, "too few"),
        (lambda: sentiment.LogisticRegression(l2=0), ValueError, "l2"),
        (lambda: sentiment.LogisticRegression().fit(np.zeros((3, 2)), [0, 1]), ValueError, "y"),
        (lambda: sentiment.LogisticRegression().fit(np.zeros((2, 2)), [0, 0.5]), ValueError, "y"),
        (lambda: sentiment.LogisticRegression().predict_proba(np.zeros((2, 2))), ValueError, "fit"),
        (lambda: sentiment.LogisticRegression().fit(np.zeros((2, 2)), [0, 1]).predict_proba(np.zeros((2, 3))),
         ValueError, "features"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
