r"""Encoder–decoder: many-to-many delayed (seed 001, "language translation").

An encoder RNN reads the source ids s_1 … s_S; its final state initialises a decoder RNN that
emits the target. Notation of the design table, with a prefix per network (elman.py F1–F4):

    encoder   h^e_t = f(s_t U_eᵀ + h^e_{t−1} W_eᵀ + b_e),  h^e_0 = 0,   t = 1 … len_b   (F1–F3)
    bridge    h^d_0 = h^e_{len_b}   (bidirectional: [h^e_fwd; h^e_rev] per layer)     (S1)
    decoder   h^d_t = f(y_{t−1} U_dᵀ + h^d_{t−1} W_dᵀ + b_d),  ŷ_t = softmax(h^d_t Vᵀ + c)
              y_0 = <sos>; training feeds the true y_{t−1} (teacher forcing), inference
              feeds back its own prediction (argmax, or a sample at a temperature)
    loss      L = (1/B) Σ_b Σ_{t ≤ dec_len_b} −log ŷ_{t, y_t}  (losses.py L1, L2)

Backward. The decoder is an ordinary RNN with a given h_0, so its BPTT (B1–B8) returns its own
gradients and, from (B7), ∂L/∂h^d_0. The encoder's loss enters ONLY through its final state:

    ∂L/∂h^e_{len_b} = ∂L/∂h^d_0   (split per direction: the transpose of S1)          (S2)

so the encoder runs (B1)–(B7) with G_t = 0 at every step and ∂L/∂h_T = (S2). Frozen steps
past a source's end (F3) pass that gradient straight back to the state at its last valid step.

Parameters are ONE flat dict with prefixed names, the encoder's and decoder's names of model.py:
    enc.U (H, S_vocab), enc.W (H, H), enc.b (H,)   [+ enc.U2 …, enc.U_rev …]
    dec.U (H_d, T_vocab), dec.W (H_d, H_d), dec.b (H_d,), dec.V (T_vocab, H_d), dec.c (T_vocab,)
with H_d = dirs·H (the bidirectional encoder's two final states are concatenated, S1; no extra
parameters). The encoder has no output head. Optimizers and checkpoints work on ``params`` as
on an RNN's; ``loss_and_grad`` returns gradients with the same keys.

Arrays are time-major like the rest of the library: ids (T, B), lengths (B,).

Example (the shapes a trainer uses)::

    model = Seq2Seq(src_vocab_size=40, tgt_vocab_size=15, hidden_size=128, seed=0)
    dec_in, dec_out, dec_len = teacher_forcing(tgt_ids, tgt_lengths, sos=1, eos=2)
    loss, grads = model.loss_and_grad(src_ids, src_lengths, dec_in, dec_out, dec_len)
    opt.step(grads)                                   # opt = Adam(model.params, ...)
    ids = model.translate(src_ids, src_lengths, max_len=12, sos=1, eos=2)   # list of id lists

With the dates task (bptt.tasks.dates), a batch's first five fields are exactly the arguments of
``loss_and_grad``, and ``translate_texts`` goes from strings to strings::

    vocab = dates.vocabulary()
    model = Seq2Seq(len(vocab), len(vocab), 128, seed=0)
    batch = dates.encode_pairs(vocab, dates.sample(rng, 64))
    loss, grads = model.loss_and_grad(*batch[:5])     # source, source_lengths, decoder_input,
                                                      # decoder_target, target_lengths
    translate_texts(model, ["3rd of March 1999"], vocab)          # ['1999-03-03'] once trained
"""
from __future__ import annotations

import contextlib
import numbers

import numpy as np

from . import _validate as v
from . import cells, tasks
from .batch import Inputs, make_inputs
from .losses import softmax
from .model import RNN, _float_dtype
from .outputs import Gradients, public_state
from .tasks import exact_match

__all__ = ["Seq2Seq", "teacher_forcing", "pad_batch", "exact_match", "translate_texts"]

ENC, DEC = "enc.", "dec."
CELL_OPTIONS = ("forget_bias", "reset_after")  # the cells' options a Seq2Seq takes (no LSTM proj_size)


class Seq2Seq:
    """Encoder RNN → decoder RNN over token ids, trained with teacher forcing and explicit BPTT.

    src_vocab_size / tgt_vocab_size: the encoder's input and the decoder's input/output vocab;
    hidden_size H (the decoder's is dirs·H); num_layers (both networks); bidirectional
    (the encoder); cell the encoder's cell (bptt.cells), decoder_cell the decoder's (None: the
    same); the bridge (S1) carries every part of the state, so both must have the same parts
    (an LSTM's (h, c) reaches an LSTM decoder; Elman and GRU both carry h); activation,
    forget_bias, reset_after (the cells' options, for both networks), init, seed, dtype as for
    ``RNN``."""

    def __init__(self, src_vocab_size, tgt_vocab_size, hidden_size, *, num_layers=1,
                 bidirectional=False, cell="elman", decoder_cell=None, activation="tanh",
                 init="uniform", seed=None, dtype=np.float32, forget_bias=None, reset_after=None):
        if isinstance(seed, bool) or (seed is not None and not isinstance(seed, numbers.Integral)):
            raise TypeError(f"seed must be None or an integer, got {seed!r}")
        enc_seed, dec_seed = (None, None) if seed is None else (
            int(s) for s in np.random.SeedSequence(int(seed)).generate_state(2))
        common = dict(activation=activation, num_layers=num_layers, init=init, dtype=dtype)
        options = {"forget_bias": forget_bias, "reset_after": reset_after}
        decoder_cell = cell if decoder_cell is None else decoder_cell
        # The encoder's head (output_size=1) is never used: only run/backprop, which read the layers.
        with _arguments(input_size="src_vocab_size"):
            self.encoder = RNN(src_vocab_size, hidden_size, 1, cell=cell, bidirectional=bidirectional,
                               seed=enc_seed, **common, **cells.options_for(cell, options))
        dirs = self.encoder.num_directions
        with _arguments(input_size="tgt_vocab_size", cell="decoder_cell"):
            self.decoder = RNN(tgt_vocab_size, dirs * hidden_size, tgt_vocab_size, output="softmax",
                               cell=decoder_cell, seed=dec_seed, **common,
                               **cells.options_for(decoder_cell, options))
        enc_parts, dec_parts = (len(n.cell.state_sizes(1)) for n in (self.encoder, self.decoder))
        if enc_parts != dec_parts:
            raise ValueError(f"the bridge carries the encoder's whole state into the decoder: cell="
                             f"{self.encoder.cell.name!r} has {enc_parts} state part(s), decoder_cell="
                             f"{self.decoder.cell.name!r} {dec_parts}; pick cells with the same parts of state")
        self.seed = None if seed is None else int(seed)
        self.dtype = _float_dtype(dtype)
        self._enc_names = [k for k in self.encoder.params if k not in ("V", "c")]
        self._dec_names = list(self.decoder.params)
        self.params = {ENC + k: self.encoder.params[k] for k in self._enc_names}
        self.params.update({DEC + k: self.decoder.params[k] for k in self._dec_names})

    # ---------------------------------------------------------------- configuration
    @property
    def src_vocab_size(self) -> int:
        return self.encoder.input_size

    @property
    def tgt_vocab_size(self) -> int:
        return self.decoder.input_size

    @property
    def hidden_size(self) -> int:
        return self.encoder.hidden_size

    @property
    def num_layers(self) -> int:
        return self.encoder.num_layers

    @property
    def bidirectional(self) -> bool:
        return self.encoder.bidirectional

    @property
    def config(self) -> dict:
        """The architecture, JSON-able; ``Seq2Seq.from_config(config)`` rebuilds it."""
        return {
            "src_vocab_size": self.src_vocab_size, "tgt_vocab_size": self.tgt_vocab_size,
            "hidden_size": self.hidden_size, "num_layers": self.num_layers,
            "bidirectional": self.bidirectional, "cell": self.encoder.cell.name,
            "decoder_cell": self.decoder.cell.name, "activation": self.encoder.activation,
            "init": self.encoder.init, "seed": self.seed, "dtype": np.dtype(self.dtype).name,
            **{k: v for net in (self.decoder, self.encoder) for k, v in net.cell.options.items()
               if k in CELL_OPTIONS},
        }

    @classmethod
    def from_config(cls, config: dict) -> "Seq2Seq":
        if not isinstance(config, dict):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        config = dict(config)
        try:
            args = [config.pop(k) for k in ("src_vocab_size", "tgt_vocab_size", "hidden_size")]
        except KeyError as exc:
            raise ValueError(f"config is missing {exc.args[0]!r}") from None
        return cls(*args, **config)

    @property
    def weight_names(self) -> list:
        """The parameters weight decay applies to: both networks' matrices (RNN.weight_names)."""
        self._sync()
        return [ENC + k for k in self.encoder.weight_names if k in self._enc_names] + \
               [DEC + k for k in self.decoder.weight_names]

    def param_shapes(self) -> dict:
        """{name: shape} for every parameter, encoder first."""
        enc, dec = self.encoder.param_shapes(), self.decoder.param_shapes()
        shapes = {ENC + k: enc[k] for k in self._enc_names}
        shapes.update({DEC + k: dec[k] for k in self._dec_names})
        return shapes

    def set_params(self, params: dict) -> None:
        """Replace every parameter by a copy of ``params`` (same names and shapes, finite)."""
        self.params = v.param_dict(params, self.param_shapes(), self.dtype)

    def astype(self, dtype) -> "Seq2Seq":
        """A copy of this model with parameters in ``dtype`` (float32 or float64)."""
        other = Seq2Seq.from_config({**self.config, "dtype": dtype})
        other.params = {k: a.astype(other.dtype) for k, a in self.params.items()}
        return other

    def _sync(self) -> None:
        """Point the two RNNs at the arrays of ``self.params`` (the one source of truth, which an
        optimizer updates in place or a checkpoint loader may replace wholesale)."""
        p = self.params
        self.encoder.params = {k: p[ENC + k] for k in self._enc_names}
        self.decoder.params = {k: p[DEC + k] for k in self._dec_names}

    # ---------------------------------------------------------------- the bridge (S1, S2)
    def _bridge(self, state_n: tuple) -> tuple:
        """Encoder final state tuple, each part (L·dirs, B, H) -> the decoder's initial state,
        each part (L, B, dirs·H), eq. (S1) (an LSTM's h and c alike)."""
        L, dirs = self.num_layers, self.encoder.num_directions
        out = []
        for part in state_n:
            _, B, H = part.shape
            out.append(np.ascontiguousarray(part.reshape(L, dirs, B, H).transpose(0, 2, 1, 3)).reshape(L, B, dirs * H))
        return tuple(out)

    def _bridge_backward(self, dstate0: tuple) -> tuple:
        """∂L/∂(decoder state_0), each part (L, B, dirs·H) -> ∂L/∂(encoder state_n), each part
        (L·dirs, B, H), eq. (S2)."""
        L, dirs, H = self.num_layers, self.encoder.num_directions, self.hidden_size
        out = []
        for part in dstate0:
            B = part.shape[1]
            out.append(np.ascontiguousarray(part.reshape(L, B, dirs, H).transpose(0, 2, 1, 3)).reshape(L * dirs, B, H))
        return tuple(out)

    # ---------------------------------------------------------------- passes
    def _encode(self, src_ids, src_lengths):
        with _arguments(x="src_ids", lengths="src_lengths"):
            inp = make_inputs(self.encoder, src_ids, None, src_lengths)
        if inp.x.ndim != 2:
            raise ValueError(f"src_ids must be integer token ids of shape (T, B), got shape {inp.x.shape}")
        return inp, self.encoder.run(inp)

    def encode(self, src_ids, src_lengths=None) -> np.ndarray:
        """The decoder's initial state h^d_0 (L, B, dirs·H) for source ids (T, B), eq. (S1)."""
        self._sync()
        return public_state(self._bridge(self._encode(src_ids, src_lengths)[1].state_n))

    def loss(self, src_ids, src_lengths, dec_in_ids, dec_target_ids, dec_lengths=None) -> float:
        """L (see the module docstring) without gradients; arguments as ``loss_and_grad``."""
        self._sync()
        inp, trace = self._encode(src_ids, src_lengths)
        self._check_batch(inp, dec_in_ids)
        with _arguments(**_DEC_ARGS):
            return self.decoder.loss(dec_in_ids, dec_target_ids, h0=public_state(self._bridge(trace.state_n)),
                                     lengths=dec_lengths)

    def loss_and_grad(self, src_ids, src_lengths, dec_in_ids, dec_target_ids, dec_lengths=None):
        """(L, ∂L/∂θ) with the keys of ``params``, by BPTT through decoder then encoder (S2).

        src_ids (S, B) ints < src_vocab_size, src_lengths (B,) in [1, S] or None (all S);
        dec_in_ids (T, B) the decoder's inputs (<sos> y_1 … y_{n}), dec_target_ids (T, B) its
        targets (y_1 … y_n <eos>), dec_lengths (B,) in [1, T] or None: steps past a length carry
        no loss (their ids may be any valid id, e.g. <pad>). See ``teacher_forcing``."""
        self._sync()
        inp, trace = self._encode(src_ids, src_lengths)
        self._check_batch(inp, dec_in_ids)
        with _arguments(**_DEC_ARGS):
            loss, dg = self.decoder.loss_and_grad(dec_in_ids, dec_target_ids, h0=public_state(self._bridge(trace.state_n)),
                                                  lengths=dec_lengths)
        no_top = np.zeros_like(trace.top)  # the encoder has no loss of its own: G_t = 0
        dstate0 = dg.dh0 if isinstance(dg.dh0, tuple) else (dg.dh0,)
        eg = self.encoder.backprop(trace, no_top, dstate_n=self._bridge_backward(dstate0))  # (S2)
        grads = Gradients((ENC + k, eg[k]) for k in self._enc_names)
        grads.update((DEC + k, dg[k]) for k in self._dec_names)
        grads.dh0 = public_state(eg.dh0)  # ∂L/∂h^e_0 (the encoder starts from zeros; kept for checks)
        return loss, grads

    def _check_batch(self, inp: Inputs, dec_in_ids) -> None:
        shape = np.shape(dec_in_ids)
        if len(shape) != 2 or shape[1] != inp.B:
            raise ValueError(f"dec_in_ids must have shape (T, {inp.B}) (B of src_ids), got {shape}")

    def translate(self, src_ids, src_lengths, max_len, sos, eos, temperature=None, rng=None):
        """Decode every source sequence, feeding back the decoder's own predictions.

        src_ids (S, B), src_lengths (B,) or None; max_len ≥ 1 the most tokens emitted per
        sequence; sos, eos ids. temperature None: greedy (argmax); a float > 0: sample from
        softmax(o_t / temperature) with ``rng`` (a Generator, an int seed or None).
        Returns B lists of ids, each without <sos> and without the <eos> that ended it."""
        max_len = v.positive_int("max_len", max_len)
        K = self.tgt_vocab_size
        sos, eos = (_token_id(n, t, K) for n, t in (("sos", sos), ("eos", eos)))
        if temperature is not None:
            if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) \
                    or not np.isfinite(temperature) or temperature <= 0:
                raise ValueError(f"temperature must be None (greedy) or a float > 0, got {temperature!r}")
            rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._sync()
        state = self._bridge(self._encode(src_ids, src_lengths)[1].state_n)
        B = state[0].shape[1]
        tok = np.full(B, sos, dtype=np.int64)
        emitted = []
        done = np.zeros(B, dtype=bool)
        for _ in range(max_len):
            # one decoder step (T = 1) through the core's forward on validated inputs, (F1)–(F4)
            trace = self.decoder.run(Inputs(tok[None], state, None, None))
            state = trace.state_n
            o = self.decoder.logits(trace.top[0])  # (F4)
            if temperature is None:
                tok = o.argmax(axis=1)
            else:
                p = softmax(o.astype(np.float64) / temperature)
                u = rng.random((B, 1))
                tok = np.minimum((p.cumsum(axis=1) < u).sum(axis=1), K - 1)  # inverse CDF
            emitted.append(tok)
            done |= tok == eos
            if done.all():
                break
        out = []
        for seq in np.stack(emitted, axis=1).tolist():  # (B, steps)
            out.append(seq[: seq.index(eos)] if eos in seq else seq)
        return out


_DEC_ARGS = dict(x="dec_in_ids", y="dec_target_ids", lengths="dec_lengths")


@contextlib.contextmanager
def _arguments(**names):
    """Prefix an inner RNN's validation error with the Seq2Seq argument it is about:
    "x (token ids) must …" -> "src_ids: x (token ids) must …" for ``x="src_ids"``."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        inner = next((n for n in names if str(exc).startswith(n + " ")), None)
        if inner is None:
            raise
        raise type(exc)(f"{names[inner]}: {exc}") from None


def _token_id(name, value, K) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer token id, got {value!r}")
    if not 0 <= value < K:
        raise ValueError(f"{name} must be a token id in [0, {K - 1}], got {value}")
    return int(value)


# -------------------------------------------------------------------- batches and metrics
def pad_batch(seqs, pad=0) -> tuple[np.ndarray, np.ndarray]:
    """Lists of ids -> (ids (T, B) int64 time-major, padded with ``pad``; lengths (B,)).

    T is the longest length; every sequence needs at least one id (``bptt.tasks.pad``)."""
    return tasks.pad(list(seqs), pad, "seqs")


def teacher_forcing(tgt_ids, tgt_lengths, sos, eos, pad=0):
    """Decoder inputs and targets from target ids WITHOUT <sos>/<eos>.

    tgt_ids (T, B) ints, tgt_lengths (B,) in [0, T] (0: an empty target). Returns
    dec_in (T+1, B) = <sos> y_1 … y_n, dec_target (T+1, B) = y_1 … y_n <eos>, and
    dec_lengths = tgt_lengths + 1; both padded with ``pad``. (Targets that already carry
    <sos> … <eos> need only ``ids[:-1], ids[1:], lengths − 1``.)"""
    tgt = v.int_array(tgt_ids, "tgt_ids", (None, None), high=np.iinfo(np.int64).max)
    T, B = tgt.shape
    lengths = v.int_array(tgt_lengths, "tgt_lengths", (B,), high=T + 1)
    valid = np.arange(T)[:, None] < lengths[None, :]
    dec_in = np.full((T + 1, B), pad, dtype=np.int64)
    dec_in[0] = sos
    dec_in[1:][valid] = tgt[valid]
    dec_target = np.full((T + 1, B), pad, dtype=np.int64)
    dec_target[:-1][valid] = tgt[valid]
    dec_target[lengths, np.arange(B)] = eos
    return dec_in, dec_target, lengths + 1


def translate_texts(model: Seq2Seq, texts, vocab, tgt_vocab=None, *, max_len=100, temperature=None,
                    rng=None, sos="<sos>", eos="<eos>", pad="<pad>") -> list[str]:
    """Strings in, strings out: each text is encoded with ``vocab.encode`` (no markers added, as
    the encoder was trained), translated by ``model.translate``, and decoded with
    ``tgt_vocab.decode`` (default: the same vocabulary) up to, without, <eos>.

    vocab: anything with ``encode(str) -> ids``, ``decode(ids) -> str`` and ``id(token)``, e.g.
    ``bptt.tasks.dates.vocabulary()``. sos/eos are looked up in the target vocabulary, pad in
    the source one. temperature/rng as in ``Seq2Seq.translate``."""
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a Seq2Seq, got {type(model).__name__}")
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts or not all(isinstance(t, str) and t for t in texts):
        raise ValueError("texts must be a non-empty string or a non-empty list of non-empty strings")
    tgt_vocab = vocab if tgt_vocab is None else tgt_vocab
    src, lengths = pad_batch([vocab.encode(t) for t in texts], pad=vocab.id(pad))
    out = model.translate(src, lengths, max_len, tgt_vocab.id(sos), tgt_vocab.id(eos), temperature, rng)
    return [tgt_vocab.decode(np.array(ids, dtype=np.int64)) for ids in out]
