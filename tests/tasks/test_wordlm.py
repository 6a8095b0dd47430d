"""wordlm: words and <eol>, a capped vocabulary with <unk>, the perplexity of the model."""
import math

import numpy as np
import pytest

from bptt import recipes
from bptt.tasks import wordlm

TEXT = "the cat sat on the mat\nthe dog sat\n\nA cat, the END\nthe cat ran away from the dog\n" * 3


def test_tokenize_keeps_case_and_punctuation_and_marks_every_newline():
    assert wordlm.tokenize("A cat,  the END\n\nx") == ["A", "cat,", "the", "END", "<eol>", "<eol>", "x"]
    assert wordlm.tokenize("") == [] and wordlm.tokenize("\n") == ["<eol>"]
    assert wordlm.detokenize(wordlm.tokenize("a b\nc d\n")) == "a b\nc d\n"
    assert wordlm.detokenize(["x", "y"], after="w") == " x y" and wordlm.detokenize(["x"], after="w\n") == "x"


def test_vocabulary_is_capped_with_unk_and_eol_first():
    tokens = wordlm.tokenize(TEXT)
    vocab = wordlm.WordLMVocabulary.build(tokens, vocab_size=5)
    assert vocab.tokens == ("<unk>", "<eol>", "the", "cat", "dog")  # the: 18; cat, dog, sat: 6 each (alphabetical)
    assert vocab.encode(["zebra", "<eol>", "the"]).tolist() == [0, 1, 2]
    assert len(wordlm.WordLMVocabulary.build(tokens, vocab_size=10**6)) == len(set(tokens)) + 1  # + <unk>
    assert wordlm.WordLMVocabulary.from_dict(vocab.to_dict()) == vocab
    for bad in (2, 10**7):
        with pytest.raises(ValueError, match="vocab_size must be an integer in"):
            wordlm.WordLMVocabulary.build(tokens, bad)


def test_the_vocabulary_comes_from_the_training_part_only(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("a b a b a b a b a\nzzz zzz zzz\n", encoding="utf-8")  # zzz only in the last 10%... and beyond
    r = recipes.make("wordlm", text=str(path), frac=0.7)
    train, val = r.splits()
    assert "zzz" not in r.vocab and (val == 0).sum() == 3  # every zzz is <unk> in validation


@pytest.mark.parametrize("eval_batch", [1, 3])
def test_validation_perplexity_is_exp_of_the_models_own_mean_loss(tmp_path, eval_batch):
    """val_loss recomputed from net.loss over the validation stream read as ``eval_batch`` tracks
    of consecutive words (one sequence per track, float64), and val_ppl = exp(val_loss)."""
    path = tmp_path / "t.txt"
    path.write_text(TEXT * 4, encoding="utf-8")
    r = recipes.make("wordlm", text=str(path), vocab_size=7, eval_batch=eval_batch)
    net = r.build_model(hidden_size=6, dtype="float64", seed=1)
    _, val = r.splits()
    L = (len(val) - 1) // eval_batch
    x = val[: L * eval_batch].reshape(eval_batch, L).T
    y = val[1: L * eval_batch + 1].reshape(eval_batch, L).T
    expected = net.loss(x, y) * eval_batch / (L * eval_batch)  # (1/B) Σ_b Σ_t -> per word
    got = r.evaluate(net)
    assert got["val_loss"] == pytest.approx(expected, rel=1e-12)
    assert got["val_ppl"] == pytest.approx(math.exp(expected), rel=1e-12)


def test_the_evaluation_bounds_its_logits_for_a_large_vocabulary(tmp_path, monkeypatch):
    """Chunks of at most EVAL_LOGITS logits, in the model's dtype: no (T, B, V) float64 copy."""
    from bptt.recipes import text

    path = tmp_path / "t.txt"
    path.write_text(" ".join(f"w{i}" for i in range(3000)) * 2, encoding="utf-8")
    r = recipes.make("wordlm", text=str(path), vocab_size=3002, eval_batch=2)
    net = r.build_model(hidden_size=4)
    seen = []
    real = text.nll_sum
    monkeypatch.setattr(text, "nll_sum", lambda o, y: seen.append((o.size, o.dtype)) or real(o, y))
    monkeypatch.setattr(text, "EVAL_LOGITS", 3002 * 2 * 40)
    r.evaluate(net)
    assert seen and all(size <= 3002 * 2 * 40 and dtype == np.float32 for size, dtype in seen)


def test_sample_reads_a_primer_of_words_and_writes_words(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(TEXT, encoding="utf-8")
    r = recipes.make("wordlm", text=str(path), vocab_size=8)
    net = r.build_model(hidden_size=5)
    out = r.sample(net, primer="the cat", length=12, seed=0)
    assert out.startswith((" ", "\n")) and len(wordlm.tokenize(out)) == 12
    assert r.sample(net, primer="the cat", length=12, seed=0) == out
    with pytest.raises(ValueError, match="primer must hold at least one token"):
        r.sample(net, primer="   ", length=3)
