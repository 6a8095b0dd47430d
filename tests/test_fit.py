"""bptt.fit on the user's own arrays: every data shape, validation, the run directory, exact resume."""
import json

import numpy as np
import pytest

import bptt


def running_sum_data(n=256, seed=0):
    """Variable-length float sequences; the target at each step: is the running sum positive?"""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 9, n)
    xs = [rng.standard_normal((L, 1)) for L in lengths]
    ys = [(np.cumsum(x[:, 0]) > 0).astype(np.int64) for x in xs]
    return xs, ys, lengths


def test_fit_learns_from_lists_of_variable_length_sequences():
    xs, ys, _ = running_sum_data()
    net = bptt.RNN(1, 8, 2, seed=0)
    r = bptt.fit(net, xs, ys, validation=0.25, steps=300, batch_size=16, eval_every=100, lr=1e-2,
                 progress=False)
    assert r.status == "done" and r.model is net and [row["step"] for row in r.history] == [100, 200, 300]
    assert r.history[-1]["val_loss"] < r.history[0]["val_loss"]
    assert r.history[-1]["val_acc"] > 0.95  # 0.989 measured; predicting the majority class gives ~0.5
    assert r.summary["best"]["metric"] == "val_loss"


def test_fit_many_to_one_regression_takes_targets_of_shape_N():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 40, 2))
    y = x[:, :, 0].sum(axis=0)  # (N,): one target per sequence
    net = bptt.RNN(2, 8, 1, output="identity", seed=0)
    r = bptt.fit(net, x, y, mask="last", steps=200, batch_size=20, eval_every=200, lr=2e-2, progress=False)
    assert r.history[-1]["data_loss"] < 0.5 * float(np.mean(y ** 2) / 2)  # well below predicting 0


def test_fit_padded_arrays_with_lengths_and_a_validation_tuple():
    xs, ys, lengths = running_sum_data()
    x = np.zeros((8, 256, 1))
    y = np.zeros((8, 256), dtype=np.int64)
    for n, (a, b) in enumerate(zip(xs, ys)):
        x[:len(a), n], y[:len(b), n] = a, b
    net = bptt.RNN(1, 8, 2, seed=0)
    r = bptt.fit(net, x[:, :192], y[:, :192], lengths=lengths[:192], validation=(x[:, 192:], y[:, 192:], lengths[192:]),
                 steps=100, batch_size=16, eval_every=50, progress=False)
    assert r.status == "done" and "val_acc" in r.history[-1]


def test_fit_writes_the_run_directory_and_resumes_bit_for_bit(tmp_path):
    xs, ys, _ = running_sum_data()
    kwargs = dict(validation=0.25, batch_size=16, eval_every=20, lr=3e-2, progress=False, plot=False)
    straight = bptt.RNN(1, 8, 2, seed=0, dtype=np.float64)
    bptt.fit(straight, xs, ys, steps=60, out=tmp_path / "a", **kwargs)
    paused = bptt.RNN(1, 8, 2, seed=0, dtype=np.float64)
    bptt.fit(paused, xs, ys, steps=20, out=tmp_path / "b", **kwargs)
    resumed = bptt.RNN(1, 8, 2, seed=0, dtype=np.float64)
    r = bptt.fit(resumed, xs, ys, steps=60, resume=tmp_path / "b", **kwargs)
    assert r.summary["steps"] == 60
    for k in straight.params:
        assert np.array_equal(straight.params[k], resumed.params[k]), k
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [20, 40, 60]
    assert {"summary.json", "checkpoint.npz", "last.npz"} <= {p.name for p in (tmp_path / "b").iterdir()}


def test_resume_with_other_arrays_is_refused(tmp_path):
    xs, ys, _ = running_sum_data()
    net = bptt.RNN(1, 8, 2, seed=0)
    bptt.fit(net, xs, ys, steps=10, eval_every=10, out=tmp_path / "r", progress=False, plot=False)
    xs[0] = xs[0] + 1
    with pytest.raises(ValueError, match="other data"):
        bptt.fit(bptt.RNN(1, 8, 2, seed=0), xs, ys, steps=20, resume=tmp_path / "r", progress=False)
    with pytest.raises(ValueError, match="config"):
        bptt.fit(bptt.RNN(1, 9, 2, seed=0), running_sum_data()[0], ys, steps=20, resume=tmp_path / "r",
                 progress=False)


def test_fit_trains_a_seq2seq_on_lists_of_ids():
    rng = np.random.default_rng(0)
    src = [list(rng.integers(3, 8, rng.integers(2, 5))) for _ in range(64)]
    tgt = [s[::-1] for s in src]  # reverse the sequence
    model = bptt.Seq2Seq(8, 8, 16, seed=0)
    r = bptt.fit(model, src, tgt, sos=1, eos=2, validation=0.25, steps=60, batch_size=16, eval_every=30,
                 lr=1e-2, progress=False)
    assert r.status == "done" and r.history[-1]["val_loss"] < r.history[0]["val_loss"]


def test_fit_names_the_bad_argument():
    xs, ys, _ = running_sum_data()
    net = bptt.RNN(1, 8, 2)
    with pytest.raises(ValueError, match="y"):
        bptt.fit(net, np.zeros((5, 4, 1)), np.zeros((5, 3), dtype=int), steps=1)
    with pytest.raises(ValueError, match="x"):
        bptt.fit(net, np.zeros((5, 4, 2)), np.zeros((5, 4), dtype=int), steps=1)
    with pytest.raises(ValueError, match="validation"):
        bptt.fit(net, xs, ys, validation=1.5, steps=1)
    with pytest.raises(ValueError, match="sos= and eos="):
        bptt.fit(bptt.Seq2Seq(4, 4, 3), [[1]], [[2]], steps=1)
    with pytest.raises(TypeError, match="model"):
        bptt.fit("net", xs, ys)


def test_many_to_one_with_one_regression_output_takes_targets_of_shape_B():
    rng = np.random.default_rng(0)
    net = bptt.RNN(2, 3, 1, output="identity", seed=0, dtype=np.float64)
    x, y = rng.standard_normal((4, 5, 2)), rng.standard_normal(5)
    loss, grads = net.loss_and_grad(x, y, mask="last")
    loss2, grads2 = net.loss_and_grad(x, y[:, None], mask="last")
    assert loss == loss2 and all(np.array_equal(grads[k], grads2[k]) for k in grads)
