"""Bad input at every public entry point that exists in the core: one clear error each.

Each row is (callable, expected exception type, fragments the message must hold); the check is
``conftest.raise_clearly``: the exact type, the argument's name in a one-line message, no
warning on the way, the same exception under ``np.errstate(all="raise")``. The task loaders
and data files are in test_reliability_tasks.py; checkpoint files in test_reliability_files.py.
"""
from __future__ import annotations

import numpy as np
import pytest

import bptt
from bptt import optim
from bptt.checkpoint import save
from bptt.seq2seq import Seq2Seq, exact_match, pad_batch, teacher_forcing

from reliability_helpers import raise_clearly

V, TE = ValueError, TypeError
T, B, D, H, K = 4, 2, 3, 4, 5


def net(**kw):
    return bptt.RNN(D, H, K, seed=0, dtype=np.float64, **kw)


def net32(**kw):
    return bptt.RNN(D, H, K, seed=0, **kw)


def x_ok():
    return np.zeros((T, B, D))


def y_ok():
    return np.zeros((T, B), dtype=np.int64)


def s2s():
    return Seq2Seq(5, 6, 4, seed=0)


SRC, DEC_IN = np.zeros((3, B), dtype=np.int64), np.ones((2, B), dtype=np.int64)

CASES = {
    # ------------------------------------------------------------- RNN(...)
    "RNN input_size 0": (lambda: bptt.RNN(0, H, K), V, "input_size"),
    "RNN input_size float": (lambda: bptt.RNN(3.0, H, K), TE, "input_size"),
    "RNN input_size str": (lambda: bptt.RNN("3", H, K), TE, "input_size"),
    "RNN hidden_size -1": (lambda: bptt.RNN(D, -1, K), V, "hidden_size"),
    "RNN hidden_size bool": (lambda: bptt.RNN(D, True, K), TE, "hidden_size"),
    "RNN output_size None": (lambda: bptt.RNN(D, H, None), TE, "output_size"),
    "RNN num_layers 0": (lambda: bptt.RNN(D, H, K, num_layers=0), V, "num_layers"),
    "RNN activation": (lambda: bptt.RNN(D, H, K, activation="gelu"), V, "activation", "tanh"),
    "RNN output": (lambda: bptt.RNN(D, H, K, output="logsoftmax"), V, "output", "softmax"),
    "RNN loss": (lambda: bptt.RNN(D, H, K, loss="hinge"), V, "loss", "mse"),
    "RNN loss/output pair": (lambda: bptt.RNN(D, H, K, output="identity", loss="cross_entropy"), V, "loss", "output"),
    "RNN bce with softmax": (lambda: bptt.RNN(D, H, K, output="softmax", loss="bce"), V, "bce", "sigmoid"),
    "RNN init": (lambda: bptt.RNN(D, H, K, init="he"), V, "init", "orthogonal"),
    "RNN bidirectional int": (lambda: bptt.RNN(D, H, K, bidirectional=1), TE, "bidirectional"),
    "RNN dtype int32": (lambda: bptt.RNN(D, H, K, dtype=np.int32), TE, "dtype", "float32"),
    "RNN dtype float16": (lambda: bptt.RNN(D, H, K, dtype="float16"), TE, "dtype"),
    "RNN dtype junk": (lambda: bptt.RNN(D, H, K, dtype="junk"), TE, "dtype"),
    "RNN seed float": (lambda: bptt.RNN(D, H, K, seed=1.5), TE, "seed"),
    "RNN seed negative": (lambda: bptt.RNN(D, H, K, seed=-1), V, "seed"),
    "RNN unknown option": (lambda: bptt.RNN(D, H, K, hidden=3), TE, "hidden"),
    "RNN.astype int8": (lambda: net().astype(np.int8), TE, "dtype"),
    # ------------------------------------------------------------- x
    "x rank 1": (lambda: net().forward(np.zeros(D)), V, "x", "(T, B, 3)"),
    "x rank 4": (lambda: net().forward(np.zeros((T, B, D, 1))), V, "x", "(T, B, 3)"),
    "x rank 0": (lambda: net().forward(1.0), V, "x"),
    "x float rank 2": (lambda: net().forward(np.zeros((T, B))), V, "x", "token ids"),
    "x wrong D": (lambda: net().forward(np.zeros((T, B, D + 1))), V, "x", "3"),
    "x T=0": (lambda: net().forward(np.zeros((0, B, D))), V, "x", "(0, 2, 3)"),
    "x B=0": (lambda: net().forward(np.zeros((T, 0, D))), V, "x", "(4, 0, 3)"),
    "x ids T=0": (lambda: net().forward(np.zeros((0, B), dtype=np.int64)), V, "x"),
    "x ids B=0": (lambda: net().forward(np.zeros((T, 0), dtype=np.int64)), V, "x"),
    "x empty list": (lambda: net().forward([]), V, "x"),
    "x ragged list": (lambda: net().forward([[[0.0, 0.0, 0.0]], [[0.0, 0.0]]]), V, "x", "rectangular"),
    "x None": (lambda: net().forward(None), TE, "x"),
    "x strings": (lambda: net().forward(np.full((T, B, D), "a")), TE, "x", "dtype"),
    "x object": (lambda: net().forward(np.empty((T, B, D), dtype=object)), TE, "x", "dtype"),
    "x complex": (lambda: net().forward(np.zeros((T, B, D), complex)), V, "x", "complex"),
    "x datetime": (lambda: net().forward(np.zeros((T, B, D), "datetime64[s]")), V, "x", "datetime"),
    "x NaN": (lambda: net().forward(np.full((T, B, D), np.nan)), V, "x", "NaN"),
    "x +inf": (lambda: net().forward(np.full((T, B, D), np.inf)), V, "x", "inf"),
    "x -inf one entry": (lambda: net().forward(np.where(np.arange(D) == 2, -np.inf, x_ok())), V, "x", "inf"),
    "x too big for float32": (lambda: net32().forward(np.full((T, B, D), 1e39)), V, "x", "float32"),
    "x ids out of range": (lambda: net().forward(np.full((T, B), D)), V, "x", "[0, 2]", "3"),
    "x ids negative": (lambda: net().forward(np.full((T, B), -1)), V, "x", "-1"),
    "x ids uint64 huge": (lambda: net().forward(np.full((T, B), 2**63 + 5, dtype=np.uint64)), V, "x", str(2**63 + 5)),
    # ------------------------------------------------------------- h0, lengths
    "h0 wrong B": (lambda: net().forward(x_ok(), h0=np.zeros((1, B + 1, H))), V, "h0", "(1, 2, 4)"),
    "h0 rank 2": (lambda: net().forward(x_ok(), h0=np.zeros((B, H))), V, "h0"),
    "h0 layers": (lambda: net(num_layers=2).forward(x_ok(), h0=np.zeros((1, B, H))), V, "h0", "(2, 2, 4)"),
    "h0 NaN": (lambda: net().forward(x_ok(), h0=np.full((1, B, H), np.nan)), V, "h0", "NaN"),
    "h0 ints ok but str": (lambda: net().forward(x_ok(), h0=np.full((1, B, H), "0")), TE, "h0"),
    "h0 too big for float32": (lambda: net32().forward(x_ok(), h0=np.full((1, B, H), -1e39)), V, "h0", "float32"),
    "lengths 0": (lambda: net().forward(x_ok(), lengths=[0, 1]), V, "lengths", "[1, 4]"),
    "lengths T+1": (lambda: net().forward(x_ok(), lengths=[T + 1, 1]), V, "lengths", "[1, 4]"),
    "lengths negative": (lambda: net().forward(x_ok(), lengths=[-3, 1]), V, "lengths"),
    "lengths float": (lambda: net().forward(x_ok(), lengths=[1.0, 2.0]), TE, "lengths", "integer"),
    "lengths bool": (lambda: net().forward(x_ok(), lengths=[True, True]), TE, "lengths"),
    "lengths wrong B": (lambda: net().forward(x_ok(), lengths=[1, 2, 3]), V, "lengths", "(2,)"),
    "lengths rank 2": (lambda: net().forward(x_ok(), lengths=[[1, 2]]), V, "lengths", "(2,)"),
    "lengths scalar": (lambda: net().forward(x_ok(), lengths=2), V, "lengths"),
    "lengths ragged": (lambda: net().forward(x_ok(), lengths=[[1], [1, 2]]), V, "lengths", "rectangular"),
    "lengths uint64 huge": (lambda: net().forward(x_ok(), lengths=np.array([2**63 + 5, 1], np.uint64)), V, "lengths", str(2**63 + 5)),
    # ------------------------------------------------------------- y, mask
    "y class out of range": (lambda: net().loss(x_ok(), np.full((T, B), K)), V, "y", "[0, 4]"),
    "y class negative": (lambda: net().loss(x_ok(), np.full((T, B), -1)), V, "y", "-1"),
    "y float for ce": (lambda: net().loss(x_ok(), np.zeros((T, B))), TE, "y", "integer"),
    "y wrong shape": (lambda: net().loss(x_ok(), np.zeros((T, B + 1), int)), V, "y", "(4, 2)"),
    "y (T, B) with mask=last": (lambda: net().loss(x_ok(), y_ok(), mask="last"), V, "y", "(2,)"),
    "y None": (lambda: net().loss(x_ok(), None), TE, "y"),
    "y mse wrong K": (lambda: net(output="identity").loss(x_ok(), np.zeros((T, B, K + 1))), V, "y", "(any, any, 5)".replace("any, any", "4, 2")),
    "y mse NaN": (lambda: net(output="identity").loss(x_ok(), np.full((T, B, K), np.nan)), V, "y", "NaN"),
    "y bce above 1": (lambda: net(output="sigmoid").loss(x_ok(), np.full((T, B, K), 2.0)), V, "y", "[0, 1]"),
    "y bce negative": (lambda: net(output="sigmoid").loss(x_ok(), np.full((T, B, K), -0.5)), V, "y", "[0, 1]"),
    "mask unknown string": (lambda: net().loss(x_ok(), y_ok(), mask="first"), V, "mask", "last"),
    "mask negative": (lambda: net().loss(x_ok(), y_ok(), mask=-np.ones((T, B))), V, "mask", "non-negative"),
    "mask NaN": (lambda: net().loss(x_ok(), y_ok(), mask=np.full((T, B), np.nan)), V, "mask", "NaN"),
    "mask wrong shape": (lambda: net().loss(x_ok(), y_ok(), mask=np.ones((T, B + 1))), V, "mask", "(4, 2)"),
    "mask strings": (lambda: net().loss(x_ok(), y_ok(), mask=np.full((T, B), "1")), TE, "mask"),
    # ------------------------------------------------------------- loss_and_grad options
    "method unknown": (lambda: net().loss_and_grad(x_ok(), y_ok(), method="magic"), V, "method", "bptt"),
    "option unknown (bptt)": (lambda: net().loss_and_grad(x_ok(), y_ok(), k9=1), V, "k9"),
    "option unknown (tbptt)": (lambda: net().loss_and_grad(x_ok(), y_ok(), method="tbptt", k1=2, k9=1), V, "k9"),
    "option unknown (rtrl)": (lambda: net().loss_and_grad(x_ok(), y_ok(), method="rtrl", k1=2), V, "k1"),
    "tbptt without k1": (lambda: net().loss_and_grad(x_ok(), y_ok(), method="tbptt"), V, "k1"),
    "tbptt k1 0": (lambda: net().loss_and_grad(x_ok(), y_ok(), method="tbptt", k1=0), V, "k1"),
    "tbptt k2 < k1": (lambda: net().loss_and_grad(x_ok(), y_ok(), method="tbptt", k1=3, k2=2), V, "k2"),
    "tbptt bidirectional": (lambda: net(bidirectional=True).loss_and_grad(x_ok(), y_ok(), method="tbptt", k1=2), V, "bidirectional"),
    "rtrl bidirectional": (lambda: net(bidirectional=True).loss_and_grad(x_ok(), y_ok(), method="rtrl"), V, "bidirectional"),
    "input_grad with ids": (lambda: net().loss_and_grad(np.zeros((T, B), int), y_ok(), input_grad=True), V, "input_grad"),
    # ------------------------------------------------------------- set_params
    "set_params missing key": (lambda: net().set_params({"U": np.zeros((H, D))}), V, "params", "'W'"),
    "set_params not a dict": (lambda: net().set_params([1, 2]), V, "params"),
    "set_params wrong shape": (lambda: net().set_params({**net().params, "W": np.zeros((H, H + 1))}), V, "params['W']", "(4, 4)"),
    "set_params NaN": (lambda: net().set_params({**net().params, "c": np.full(K, np.nan)}), V, "params['c']", "NaN"),
    "set_params strings": (lambda: net().set_params({**net().params, "b": np.full(H, "x")}), TE, "params['b']"),
    # ------------------------------------------------------------- gradcheck
    "gradcheck float32 model": (lambda: bptt.gradcheck(net32(), x_ok(), y_ok()), TE, "float64"),
    "gradcheck eps 0": (lambda: bptt.gradcheck(net(), x_ok(), y_ok(), eps=0.0), V, "eps"),
    "gradcheck eps int": (lambda: bptt.gradcheck(net(), x_ok(), y_ok(), eps=1), V, "eps"),
    "gradcheck max_entries 0": (lambda: bptt.gradcheck(net(), x_ok(), y_ok(), max_entries=0), V, "max_entries"),
    "gradcheck max_entries str": (lambda: bptt.gradcheck(net(), x_ok(), y_ok(), max_entries="5"), TE, "max_entries"),
    "gradcheck bad x": (lambda: bptt.gradcheck(net(), np.zeros((T, B, D + 1)), y_ok()), V, "x"),
    # ------------------------------------------------------------- sequences helpers (public)
    "length_mask lengths 0": (lambda: bptt.length_mask([0, 2], 3), V, "lengths"),
    "length_mask lengths > T": (lambda: bptt.length_mask([4, 2], 3), V, "lengths"),
    "length_mask T 0": (lambda: bptt.length_mask([1], 0), V, "T"),
    "last_step_mask lengths > T": (lambda: bptt.last_step_mask([0, 5], 3), V, "lengths"),
    "last_step_mask float lengths": (lambda: bptt.last_step_mask([1.5], 3), TE, "lengths"),
    "one_to_many T 0": (lambda: bptt.one_to_many(np.zeros((B, D)), 0), V, "T"),
    "one_to_many T negative": (lambda: bptt.one_to_many(np.zeros((B, D)), -1), V, "T"),
    "one_to_many x0 strings": (lambda: bptt.one_to_many(np.array([["a"]]), 2), TE, "x0"),
    "one_to_many x0 rank 1": (lambda: bptt.one_to_many(np.zeros(D), 2), V, "x0"),
    # ------------------------------------------------------------- Seq2Seq
    "Seq2Seq src_vocab 0": (lambda: Seq2Seq(0, 6, 4), V, "src_vocab_size"),
    "Seq2Seq hidden float": (lambda: Seq2Seq(5, 6, 4.0), TE, "hidden_size"),
    "Seq2Seq unknown option": (lambda: Seq2Seq(5, 6, 4, foo=1), TE, "foo"),
    "Seq2Seq src ids out of range": (lambda: s2s().loss(np.full((3, B), 7), None, DEC_IN, DEC_IN), V, "src_ids"),
    "Seq2Seq src floats": (lambda: s2s().loss(np.zeros((3, B, 5)), None, DEC_IN, DEC_IN), V, "src_ids"),
    "Seq2Seq src ragged": (lambda: s2s().loss([[1, 2], [3]], None, DEC_IN, DEC_IN), V, "src_ids"),
    "Seq2Seq src_lengths 0": (lambda: s2s().loss(SRC, [0, 1], DEC_IN, DEC_IN), V, "src_lengths"),
    "Seq2Seq dec_in B mismatch": (lambda: s2s().loss(SRC, None, np.ones((2, B + 1), int), np.ones((2, B + 1), int)), V, "dec_in_ids"),
    "Seq2Seq dec_in out of range": (lambda: s2s().loss(SRC, None, np.full((2, B), 6), DEC_IN), V, "dec_in_ids"),
    "Seq2Seq target out of range": (lambda: s2s().loss(SRC, None, DEC_IN, np.full((2, B), 6)), V, "dec_target_ids"),
    "Seq2Seq target shape": (lambda: s2s().loss(SRC, None, DEC_IN, np.ones((3, B), int)), V, "dec_target_ids"),
    "Seq2Seq dec_lengths T+1": (lambda: s2s().loss(SRC, None, DEC_IN, DEC_IN, [3, 1]), V, "dec_lengths"),
    "Seq2Seq translate max_len 0": (lambda: s2s().translate(SRC, None, 0, 1, 2), V, "max_len"),
    "Seq2Seq translate sos": (lambda: s2s().translate(SRC, None, 3, 9, 2), V, "sos"),
    "Seq2Seq translate eos float": (lambda: s2s().translate(SRC, None, 3, 1, 2.0), TE, "eos"),
    "Seq2Seq translate temperature": (lambda: s2s().translate(SRC, None, 3, 1, 2, temperature=-1.0), V, "temperature"),
    "pad_batch empty": (lambda: pad_batch([]), V, "seqs"),
    "pad_batch empty sequence": (lambda: pad_batch([[1], []]), V, "seqs[1]"),
    "teacher_forcing lengths": (lambda: teacher_forcing(np.zeros((2, B), int), [3, 1], 1, 2), V, "tgt_lengths"),
    "exact_match lengths": (lambda: exact_match([[1]], [[1], [2]]), V, "predicted"),
    # ------------------------------------------------------------- optim
    "SGD lr 0": (lambda: optim.SGD({"U": np.zeros(2)}, 0.0), V, "lr"),
    "Adam lr NaN": (lambda: optim.Adam({"U": np.zeros(2)}, float("nan")), V, "lr"),
    "Adam lr str": (lambda: optim.Adam({"U": np.zeros(2)}, "0.1"), TE, "lr"),
    "Adam params empty": (lambda: optim.Adam({}, 0.1), V, "params"),
    "Adam params int": (lambda: optim.Adam({"U": np.zeros(2, int)}, 0.1), TE, "params['U']"),
    "Adam params NaN": (lambda: optim.Adam({"U": np.array([np.nan])}, 0.1), V, "params['U']"),
    "Adam betas": (lambda: optim.Adam({"U": np.zeros(2)}, 0.1, betas=(1.0, 0.9)), V, "betas"),
    "Adam step NaN grad": (lambda: optim.Adam({"U": np.zeros(2)}, 0.1).step({"U": np.array([np.nan, 0.0])}), V, "grads['U']"),
    "Adam step shape": (lambda: optim.Adam({"U": np.zeros(2)}, 0.1).step({"U": np.zeros(3)}), V, "grads['U']", "(2,)"),
    "Adam step keys": (lambda: optim.Adam({"U": np.zeros(2)}, 0.1).step({"V": np.zeros(2)}), V, "grads", "'V'"),
    "SGD momentum": (lambda: optim.SGD({"U": np.zeros(2)}, 0.1, momentum=-1), V, "momentum"),
    "Adam load_state_dict keys": (lambda: optim.Adam({"U": np.zeros(2)}, 0.1).load_state_dict({"step": 1}), V, "state_dict", "lr"),
    "Adam load_state_dict NaN": (lambda: optim.Adam({"U": np.zeros(2)}, 0.1).load_state_dict(
        {"step": 1, "lr": 0.1, "m.U": np.array([np.nan, 0.0]), "v.U": np.zeros(2)}), V, "m.U"),
    "Adam load_state_dict step -1": (lambda: optim.Adam({"U": np.zeros(2)}, 0.1).load_state_dict(
        {"step": -1, "lr": 0.1, "m.U": np.zeros(2), "v.U": np.zeros(2)}), V, "step"),
    "clip_grad_norm 0": (lambda: optim.clip_grad_norm({"U": np.zeros(2)}, 0.0), V, "max_norm"),
    "clip_grad_norm NaN grad": (lambda: optim.clip_grad_norm({"U": np.array([np.nan])}, 1.0), V, "grads['U']"),
    "clip_grad_value negative": (lambda: optim.clip_grad_value({"U": np.zeros(2)}, -1.0), V, "clip"),
    "StepLR step_size 0": (lambda: optim.StepLR(optim.SGD({"U": np.zeros(2)}, 0.1), 0), V, "step_size"),
    "CosineLR warmup": (lambda: optim.CosineLR(optim.SGD({"U": np.zeros(2)}, 0.1), 10, warmup=10), V, "warmup"),
    # ------------------------------------------------------------- checkpoint.save (load: test_reliability_files.py)
    "save reserved meta": (lambda: save("unused.npz", {}, {"sha256": "0"}), V, "reserved"),
    "save object array": (lambda: save("unused.npz", {"x": np.array([None])}, {}), V, "arrays['x']", "pickle"),
    "save meta set": (lambda: save("unused.npz", {}, {"tags": {1}}), V, "meta"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_clear_error(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # save(...) rows must not leave files anywhere
    fn, exc, *fragments = CASES[name]
    if isinstance(exc, tuple):  # the row accepts either type; take what the first call raises
        try:
            fn()
        except exc as e:
            exc = type(e)
        else:
            pytest.fail("no error")
    raise_clearly(fn, exc, *fragments)
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------- valid edges stay finite
def _edge_cases():
    rng = np.random.default_rng(0)
    yield "T=1 B=1 H=1", bptt.RNN(1, 1, 2, seed=0, dtype=np.float64), rng.standard_normal((1, 1, 1)), np.zeros((1, 1), int), {}
    yield "all lengths 1", net(), rng.standard_normal((T, B, D)), y_ok(), {"lengths": [1, 1]}
    yield "mask all zero", net(), rng.standard_normal((T, B, D)), y_ok(), {"mask": np.zeros((T, B))}
    yield "mask=last with lengths", net(), rng.standard_normal((T, B, D)), np.zeros(B, int), {"mask": "last", "lengths": [1, T]}
    yield "tanh x=±1e30", net(), np.full((T, B, D), 1e30) * np.sign(rng.standard_normal((T, B, D))), y_ok(), {}
    yield "sigmoid x=±1e30", net(activation="sigmoid"), np.full((T, B, D), -1e30), y_ok(), {}
    yield "float32 x=3e38", net32(), np.full((T, B, D), 3e38), y_ok(), {}
    yield "bool x", net(), np.ones((T, B, D), bool), y_ok(), {}
    yield "int ids dtype int8", net(), np.full((T, B), 2, np.int8), y_ok(), {}
    yield "bce y at 0 and 1", net(output="sigmoid"), rng.standard_normal((T, B, D)), (rng.random((T, B, K)) > 0.5) * 1.0, {}
    yield "h0 = ±1e6", net(), rng.standard_normal((T, B, D)), y_ok(), {"h0": np.full((1, B, H), 1e6)}
    yield "2 layers bidirectional", net(num_layers=2, bidirectional=True), rng.standard_normal((T, B, D)), y_ok(), {"lengths": [2, 4]}


EDGES = {name: rest for name, *rest in _edge_cases()}


@pytest.mark.parametrize("name", list(EDGES))
def test_valid_edges_are_finite_and_quiet(name, recwarn):
    """Every floating-point fault raises except underflow: exp(−1e30) = 0 is the right answer
    (NumPy's default ignores it too), while overflow, invalid and divide would be bugs."""
    model, x, y, kw = EDGES[name]
    with np.errstate(all="raise", under="ignore"):
        out = model.forward(x, kw.get("h0"), kw.get("lengths"))
        loss, grads = model.loss_and_grad(x, y, **kw)
    assert all(np.isfinite(a).all() for a in out)
    assert np.isfinite(loss)
    assert all(np.isfinite(g).all() for g in grads.values()) and np.isfinite(grads.dh0).all()
    assert not recwarn.list
