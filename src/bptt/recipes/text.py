"""Recipes of the text tasks: charlm (a character language model of a text file, stateful
chunks), wordlm (the same over words) and sentiment (sentence classification, word ids,
many-to-one)."""
from __future__ import annotations

import math
import os

import numpy as np

from .. import _validate as v
from ..batch import make_inputs
from ..losses import log_softmax
from ..model import RNN
from ..outputs import public_state
from ..tasks import charlm, sentiment, wordlm
from .base import Recipe, default_data, percent
from .registry import register
from .streams import ChunkStream, EpochStream, TaskBatch



# -------------------------------------------------------------------- charlm
@register
class CharLM(Recipe):
    name = "charlm"
    data_options = ("text",)
    summary = "character-level language model of a text file (--text), stateful chunked training"
    OPTIONS = {"text": None, "seq_len": 50, "frac": 0.9, "eval_batch": 8, "sample_length": 300}
    train_defaults = {"steps": 1_000_000, "minutes": 10.0, "batch_size": 32, "lr": 2e-3, "optimizer": "adam",
                      "clip": 5.0, "eval_every": 500}
    model_defaults = {"hidden_size": 256}
    stateful = True

    def setup(self):
        if self.options["text"] is None:
            raise ValueError("task charlm needs a text file: --text PATH (UTF-8)")
        self.options["text"] = os.fspath(self.options["text"])
        for k in ("seq_len", "eval_batch", "sample_length"):
            if not isinstance(self.options[k], int) or self.options[k] < 1:
                raise ValueError(f"{k} must be an integer ≥ 1, got {self.options[k]!r}")
        if self.options["sample_length"] > 10_000:  # the final report samples it (≈ 0.1 ms a character)
            raise ValueError(f"sample_length must be an integer in [1, 10000], got {self.options['sample_length']}")
        self._vocab = self._ids = None

    @property
    def vocab(self) -> charlm.TextVocabulary:
        if self._vocab is None:
            self._vocab = charlm.TextVocabulary.from_text(charlm.load_text(self.options["text"]))
        return self._vocab

    def state(self):
        return {"vocab": self.vocab.to_dict()}

    def restore(self, state):
        if "vocab" in state:
            self._vocab = charlm.TextVocabulary.from_dict(state["vocab"])

    def splits(self):
        """(train ids, validation ids): the first and last parts of the text (``frac``)."""
        if self._ids is None:
            self._ids = charlm.split(self.vocab.encode(charlm.load_text(self.options["text"])), self.options["frac"])
        return self._ids

    def io(self):
        V = len(self.vocab)
        return {"input_size": V, "output_size": V, "output": "softmax"}

    def stream(self, batch_size, rng):
        return ChunkStream(charlm.StreamBatcher(self.splits()[0], batch_size, self.options["seq_len"]))

    def loss_and_grad(self, model, batch, h0, dropout_rng=None):
        loss, grads = model.loss_and_grad(batch.x, batch.y, None, h0, dropout_rng=dropout_rng)
        return loss, grads, grads.h_n

    def train_loss(self, loss, batch):
        return loss / batch.x.shape[0]  # (1/B) Σ_b Σ_t → nats per character

    def evaluate(self, model):
        nats = self.validation_nats(model)
        return {"val_loss": nats, "val_bpc": charlm.bits_per_char(nats)}

    def validation_nats(self, model) -> float:
        """Validation cross-entropy per token: every token of the validation part predicted once,
        read as ``eval_batch`` contiguous tracks with the state carried through each track, in
        chunks of at most EVAL_LOGITS logits (T·B·V) in the model's dtype."""
        val = self.splits()[1]
        B = min(self.options["eval_batch"], max(1, (len(val) - 1) // 2))
        batches = charlm.evaluation_batches(val, max(1, min(256, EVAL_LOGITS // (B * len(self.vocab)))), B)
        h, total = None, 0.0
        for x, y in batches:
            o, h = logits(model, x, h)
            total += nll_sum(o, y)
        return total / batches.n_targets

    def report(self, model):
        train, val = self.splits()
        out = self.evaluate(model)
        out.update(unigram_nats=charlm.unigram_nats(train, val, len(self.vocab)), uniform_nats=math.log(len(self.vocab)),
                   vocab_size=len(self.vocab), train_chars=int(len(train)), val_chars=int(len(val)))
        out["sample"] = self.sample(model, primer=self.default_primer, length=self.options["sample_length"], temperature=0.8, seed=0)
        return out

    @property
    def default_primer(self) -> str:
        """A newline, or the text's first character when it has no newline (its vocabulary)."""
        return "\n" if "\n" in self.vocab.tokens else self.vocab.tokens[0]

    def describe(self, report):
        return [f"validation: {report['val_loss']:.4f} nats/char = {report['val_bpc']:.4f} bits/char "
                f"({report['val_chars']:,} characters; unigram baseline {report['unigram_nats']:.4f}, "
                f"uniform {report['uniform_nats']:.4f} nats/char)",
                "sample (temperature 0.8):", report["sample"]]

    def sample(self, model, primer="\n", length=300, temperature=1.0, seed=None) -> str:
        """``length`` characters after ``primer`` (which is read first, not repeated), each drawn
        from softmax(o_t / temperature); temperature → 0 is greedy, > 1 is more random."""
        if not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be an integer ≥ 1, got {length!r}")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
                or not math.isfinite(temperature) or temperature <= 0:
            raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
        if not primer:
            raise ValueError("primer must hold at least one character")
        ids = self.encode(primer)
        if ids.size == 0:
            raise ValueError("primer must hold at least one token")
        rng = np.random.default_rng(seed)
        o, h = logits(model, ids[:, None])
        o = o[-1, 0]
        out = np.empty(length, dtype=np.int64)
        for i in range(length):
            with np.errstate(over="ignore"):  # ≤ 0: a tiny temperature gives 0 and -inf (greedy), not NaN
                z = (o.astype(np.float64) - o.max()) / temperature
            p = np.exp(z - z.max())
            p /= p.sum()
            cdf = np.cumsum(p)
            out[i] = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(p) - 1)
            o, h = logits(model, out[i:i + 1, None], h)
            o = o[0, 0]
        return self.decode(out, after=primer)

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text`` (its characters)."""
        return self.vocab.encode(text)

    def decode(self, ids, after: str = "") -> str:
        """The text of ``ids``; ``after``: the text it continues."""
        return self.vocab.decode(ids)

    def diagnostic_batch(self):
        val = self.splits()[1]
        T, B = 50, 16
        n = min(B, (len(val) - 1) // T)
        if n < 1:
            raise ValueError("the validation text is too short for a diagnostic batch of 50 characters")
        x = val[: n * T].reshape(n, T).T
        y = val[1: n * T + 1].reshape(n, T).T
        return x, y, None, None


# -------------------------------------------------------------------- wordlm
@register
class WordLM(CharLM):
    """charlm over words (tasks/wordlm.py): the vocabulary is the ``vocab_size`` most frequent
    words of the training part with <unk> and <eol>; the metric is the perplexity."""

    name = "wordlm"
    summary = "word-level language model of a text file (--text; words, <eol>, --vocab-size with <unk>); perplexity"
    OPTIONS = {**CharLM.OPTIONS, "seq_len": 35, "sample_length": 100, "vocab_size": 10_000}
    train_defaults = {**CharLM.train_defaults, "eval_every": 200}

    def setup(self):
        super().setup()
        v.positive_int("vocab_size", self.options["vocab_size"], 3, wordlm.MAX_VOCAB)
        self._tokens = None

    def tokens(self) -> list[str]:
        """The words of the whole text (read once; dropped once encoded)."""
        if self._tokens is None:
            self._tokens = wordlm.tokenize(charlm.load_text(self.options["text"]))
            if len(self._tokens) < 3:
                raise ValueError(f"--text {self.options['text']}: {len(self._tokens)} words are too few to model")
        return self._tokens

    @property
    def vocab(self) -> wordlm.WordLMVocabulary:
        if self._vocab is None:
            tokens = self.tokens()
            self._vocab = wordlm.WordLMVocabulary.build(tokens[: int(self.options["frac"] * len(tokens))],
                                                        self.options["vocab_size"])
        return self._vocab

    def restore(self, state):
        if "vocab" in state:
            self._vocab = wordlm.WordLMVocabulary.from_dict(state["vocab"])

    def splits(self):
        if self._ids is None:
            self._ids = charlm.split(self.vocab.encode(self.tokens()), self.options["frac"])
            self._tokens = None
        return self._ids

    def encode(self, text):
        return self.vocab.encode(wordlm.tokenize(text))

    def decode(self, ids, after=""):
        return wordlm.detokenize(self.vocab.decode(ids), after)

    @property
    def default_primer(self) -> str:
        return "\n"  # <eol>: the start of a line

    def evaluate(self, model):
        nats = self.validation_nats(model)
        return {"val_loss": nats, "val_ppl": wordlm.perplexity(nats)}

    def report(self, model):
        train, val = self.splits()
        V = len(self.vocab)
        out = self.evaluate(model)
        out.update(unigram_ppl=wordlm.perplexity(charlm.unigram_nats(train, val, V)), vocab_size=V,
                   train_words=int(len(train)), val_words=int(len(val)), val_unk=float(np.mean(val == 0)))
        out["sample"] = self.sample(model, primer=self.default_primer, length=self.options["sample_length"],
                                    temperature=0.8, seed=0)
        return out

    def describe(self, report):
        return [f"validation: perplexity {report['val_ppl']:.2f} ({report['val_loss']:.4f} nats/word; "
                f"{report['val_words']:,} words, {report['val_unk']:.1%} of them <unk>; unigram perplexity "
                f"{report['unigram_ppl']:.2f}, uniform {report['vocab_size']:,})",
                "sample (temperature 0.8):", report["sample"]]


# -------------------------------------------------------------------- sentiment
@register
class Sentiment(Recipe):
    name = "sentiment"
    data_options = ("data",)
    summary = "sentence sentiment (many-to-one, word ids, loss at the last word) vs bag-of-words logistic regression"
    OPTIONS = {"data": None, "test_frac": 0.2, "val_frac": 0.1, "split_seed": 0, "min_count": 2, "l2": 1e-3}
    # Chosen by mean validation accuracy over seeds 0-2 among 18 settings (docs/results.md).
    train_defaults = {"steps": 3000, "batch_size": 16, "lr": 1e-2, "optimizer": "adam", "clip": 5.0,
                      "eval_every": 100, "patience": 8}
    model_defaults = {"hidden_size": 32, "cell": "gru"}
    monitor = ("val_acc", "max")

    def setup(self):
        data = self.options["data"]
        if data is None:
            data = [default_data("data", "sentiment", f"{n}_labelled.txt") for n in ("amazon_cells", "imdb", "yelp")]
        elif isinstance(data, (str, os.PathLike)):
            data = [os.fspath(data)]
        self.options["data"] = [os.fspath(p) for p in data]
        self._loaded = None
        self._vocab = None

    def load(self):
        """Sentences tokenised, labels, and the seeded split: (tokens, labels, train, val, test)."""
        if self._loaded is None:
            o = self.options
            sentences, labels = sentiment.load(o["data"])
            tokens = [sentiment.tokenize(s) for s in sentences]
            for i, t in enumerate(tokens):
                if not t:
                    raise ValueError(f"sentence {i + 1} of {o['data']} has no words: {sentences[i]!r}")
            train_all, test = sentiment.train_test_split(labels, o["test_frac"], o["split_seed"])
            fit, val = sentiment.train_test_split(labels[train_all], o["val_frac"], o["split_seed"])
            self._loaded = (tokens, labels, train_all[fit], train_all[val], test)
        return self._loaded

    @property
    def vocab(self) -> sentiment.WordVocabulary:
        if self._vocab is None:
            tokens, _, train, _, _ = self.load()
            self._vocab = sentiment.WordVocabulary.build([tokens[i] for i in train], self.options["min_count"])
        return self._vocab

    def state(self):
        return {"vocab": self.vocab.to_dict()}

    def restore(self, state):
        if "vocab" in state:
            self._vocab = sentiment.WordVocabulary.from_dict(state["vocab"])

    def io(self):
        return {"input_size": len(self.vocab), "output_size": 1, "output": "sigmoid"}

    def encode(self, idx):
        tokens, labels, *_ = self.load()
        x, lengths, y = sentiment.encode_batch(self.vocab, [tokens[i] for i in idx], labels[idx])
        return TaskBatch(x, y, mask="last", lengths=lengths)

    def stream(self, batch_size, rng):
        train = self.load()[2]
        return EpochStream(len(train), batch_size, rng, lambda idx: self.encode(train[idx]))

    def _scores(self, model, idx):
        b = self.encode(idx)
        y_hat = model.forward(b.x, lengths=b.lengths).y_hat
        p = y_hat[b.lengths - 1, np.arange(len(idx))]  # the prediction after the last word
        return model.loss(b.x, b.y, "last", lengths=b.lengths), sentiment.accuracy(p, b.y)

    def evaluate(self, model):
        loss, acc = self._scores(model, self.load()[3])
        return {"val_loss": loss, "val_acc": acc}

    def report(self, model):
        tokens, labels, train, val, test = self.load()
        loss, acc = self._scores(model, test)
        bow = lambda idx: sentiment.bag_of_words(self.vocab, [tokens[i] for i in idx])  # noqa: E731
        lr = sentiment.LogisticRegression(self.options["l2"]).fit(bow(train), labels[train])
        base = sentiment.accuracy(lr.predict_proba(bow(test)), labels[test][:, None].astype(float))
        return {"test_acc": acc, "test_loss": loss, "baseline_bow_logreg_acc": base,
                "majority_acc": float(max(labels[test].mean(), 1 - labels[test].mean())),
                "train": int(len(train)), "val": int(len(val)), "test": int(len(test)), "vocab_size": len(self.vocab)}

    def describe(self, report):
        return [f"held-out accuracy on {report['test']} sentences: RNN {percent(report['test_acc'])}, "
                f"bag-of-words logistic regression {percent(report['baseline_bow_logreg_acc'])}, "
                f"majority class {percent(report['majority_acc'])} "
                f"(trained on {report['train']}, model picked on {report['val']} validation sentences)"]

    def diagnostic_batch(self):
        b = self.encode(self.load()[3][:16])
        return b.x, b.y, "last", b.lengths


def logits(net: RNN, x, h0=None):
    """(o (T, B, K), h_n): the head's logits o_t = h_t Vᵀ + c (F4) and the final states."""
    trace = net.run(make_inputs(net, x, h0, None))
    return net.logits(trace.top), public_state(trace.state_n)


EVAL_LOGITS = 1 << 22  # logits per evaluation chunk (16 MiB in float32): a large vocabulary shortens T


def nll_sum(o, y) -> float:
    """Σ −log softmax(o)[y] over every position: o (T, B, K) in the model's dtype (no float64
    copy of the logits), y (T, B) ids; summed in float64."""
    logp = log_softmax(o)
    return float(-np.take_along_axis(logp, y[..., None], axis=-1).sum(dtype=np.float64))
