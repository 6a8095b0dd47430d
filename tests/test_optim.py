"""Optimizers, clipping and schedules of bptt.optim, checked against torch (the oracle)."""

import io
import math
import tracemalloc

import numpy as np
import pytest
import torch

import bptt
from bptt.optim import (SGD, Adagrad, Adam, CosineLR, RMSprop, StepLR, clip_grad_norm,
                        clip_grad_value, global_norm)

SHAPES = {"U": (5, 3), "W": (5, 5), "b": (5,), "V": (4, 5), "c": (4,), "U2": (5, 5)}
N_STEPS = 6


def make_params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}


def make_grads(seed=1, n=N_STEPS, dtype=np.float64):
    rng = np.random.default_rng(seed)
    seq = [{k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()} for _ in range(n)]
    seq[0]["b"][:2] = 0.0  # exact zeros exercise eps
    return seq


def assert_rel(actual, expected, tol=1e-12):
    """max |actual − expected| <= tol · max |expected| (relative to the array's scale)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert np.max(np.abs(actual - expected)) <= tol * np.max(np.abs(expected))


# (ours, our kwargs, torch class, torch kwargs, {our buffer: torch state key})
CASES = {
    "sgd": (SGD, dict(lr=0.1), torch.optim.SGD, dict(lr=0.1), {}),
    "sgd-momentum": (SGD, dict(lr=0.1, momentum=0.9), torch.optim.SGD,
                     dict(lr=0.1, momentum=0.9), {"buf": "momentum_buffer"}),
    "sgd-nesterov-wd": (SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
                        torch.optim.SGD,
                        dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
                        {"buf": "momentum_buffer"}),
    "sgd-wd": (SGD, dict(lr=0.1, weight_decay=0.1), torch.optim.SGD,
               dict(lr=0.1, weight_decay=0.1), {}),
    "adagrad": (Adagrad, dict(), torch.optim.Adagrad, dict(lr=0.1, eps=1e-8), {"sum": "sum"}),
    "adagrad-eps": (Adagrad, dict(lr=0.3, eps=1e-2), torch.optim.Adagrad,
                    dict(lr=0.3, eps=1e-2), {"sum": "sum"}),
    "rmsprop": (RMSprop, dict(lr=0.01), torch.optim.RMSprop, dict(lr=0.01),
                {"sq": "square_avg"}),
    "rmsprop-momentum": (RMSprop, dict(lr=0.02, alpha=0.9, eps=1e-3, momentum=0.9),
                         torch.optim.RMSprop, dict(lr=0.02, alpha=0.9, eps=1e-3, momentum=0.9),
                         {"sq": "square_avg", "buf": "momentum_buffer"}),
    "adam": (Adam, dict(), torch.optim.Adam, dict(), {"m": "exp_avg", "v": "exp_avg_sq"}),
    "adam-wd": (Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
                torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
                {"m": "exp_avg", "v": "exp_avg_sq"}),
    "adamw": (Adam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
              torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1),
              {"m": "exp_avg", "v": "exp_avg_sq"}),
}


def run_ours(cls, kwargs, params, grad_seq):
    opt = cls(params, **kwargs)
    for g in grad_seq:
        opt.step(g)
    return opt


def run_torch(cls, kwargs, params, grad_seq):
    tensors = {k: torch.tensor(p, requires_grad=True) for k, p in params.items()}
    opt = cls(list(tensors.values()), **kwargs)
    for grads in grad_seq:
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        opt.step()
    return tensors, opt


@pytest.mark.parametrize("case", CASES)
def test_matches_torch_float64(case):
    ours, our_kw, theirs, their_kw, buffer_names = CASES[case]
    params, grad_seq = make_params(), make_grads()
    initial = {k: p.copy() for k, p in params.items()}
    tensors, topt = run_torch(theirs, their_kw, initial, grad_seq)
    refs = dict(params)
    opt = run_ours(ours, our_kw, params, grad_seq)
    assert opt.step_count == N_STEPS
    for k, p in params.items():
        assert p is refs[k] and p.dtype == np.float64          # updated in place
        assert not np.array_equal(p, initial[k])
        assert_rel(p, tensors[k].detach().numpy())
        for ours_name, torch_name in buffer_names.items():
            assert_rel(opt.state[ours_name][k], topt.state[tensors[k]][torch_name].numpy())


@pytest.mark.parametrize("case", CASES)
def test_float32_keeps_dtype_and_tracks_float64(case):
    ours, our_kw, *_ = CASES[case]
    p32, p64 = make_params(dtype=np.float32), make_params()
    run_ours(ours, our_kw, p32, make_grads(dtype=np.float32))
    opt = run_ours(ours, our_kw, p64, make_grads())
    for k in SHAPES:
        assert p32[k].dtype == np.float32
        for arrays in opt.state.values():
            assert arrays[k].dtype == np.float64
        assert_rel(p32[k], p64[k], tol=1e-5)


@pytest.mark.parametrize("case", CASES)
def test_state_dict_roundtrip_through_npz(case):
    ours, our_kw, *_ = CASES[case]
    grad_seq = make_grads(n=6)
    a = make_params()
    opt_a = run_ours(ours, our_kw, a, grad_seq[:3])
    sd = opt_a.state_dict()
    assert all(isinstance(k, str) for k in sd)
    assert all(isinstance(v, (np.ndarray, float, int)) for v in sd.values())
    buf = io.BytesIO()
    np.savez(buf, **sd)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as f:
        loaded = dict(f)

    b = {k: p.copy() for k, p in a.items()}
    opt_b = ours(b, **our_kw)
    opt_b.load_state_dict(loaded)
    assert opt_b.step_count == 3 and opt_b.lr == opt_a.lr
    for g in grad_seq[3:]:
        opt_a.step(g)
        opt_b.step(g)
    for k in SHAPES:
        np.testing.assert_array_equal(a[k], b[k])


def test_state_dict_is_a_copy_and_load_validates():
    params = make_params()
    opt = Adam(params)
    opt.step(make_grads(n=1)[0])
    sd = opt.state_dict()
    assert set(sd) == {"step", "lr"} | {f"{b}.{k}" for b in "mv" for k in SHAPES}
    sd["m.U"][...] = 7.0
    assert not np.any(opt.state["m"]["U"] == 7.0)

    for bad, error, match in [
        ({k: v for k, v in sd.items() if k != "v.W"}, ValueError, r"missing keys \['v.W'\]"),
        ({**sd, "m.X": np.zeros(3)}, ValueError, r"unknown keys \['m.X'\]"),
        ({**sd, "m.W": np.zeros((5, 4))}, ValueError, r"state_dict\['m.W'\] has shape \(5, 4\), expected \(5, 5\)"),
        ({**sd, "step": 1.5}, TypeError, r"state_dict\['step'\]"),
        ({**sd, "lr": -1.0}, ValueError, r"state_dict\['lr'\]"),
    ]:
        before = opt.state_dict()
        with pytest.raises(error, match=match):
            opt.load_state_dict(bad)
        after = opt.state_dict()                              # nothing half-loaded
        assert all(np.array_equal(before[k], after[k]) for k in before)


def test_step_allocates_nothing_parameter_sized():
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((500, 500)), "b": rng.standard_normal(500)}
    grads = {k: rng.standard_normal(p.shape) for k, p in params.items()}
    nbytes = params["W"].nbytes
    for cls, kw in [(SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
                    (Adagrad, {}), (RMSprop, dict(lr=0.01, momentum=0.9)),
                    (Adam, dict(weight_decay=0.1)),
                    (Adam, dict(weight_decay=0.1, decoupled_weight_decay=True))]:
        opt = cls(params, **kw)
        opt.step(grads)
        tracemalloc.start()
        try:
            opt.step(grads)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < nbytes / 10, (cls.__name__, peak)


@pytest.mark.parametrize("make, error, match", [
    (lambda p: SGD(p, lr=0.0), ValueError, r"lr must be a real number in \(0.0, inf\), got 0.0"),
    (lambda p: SGD(p, lr=-0.1), ValueError, "lr"),
    (lambda p: SGD(p, lr=float("nan")), ValueError, "lr"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.5), ValueError, "momentum"),
    (lambda p: SGD(p, lr=0.1, nesterov=True), ValueError, "nesterov"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
    (lambda p: Adagrad(p, lr=-1), ValueError, "lr"),
    (lambda p: Adagrad(p, eps=0), ValueError, "eps"),
    (lambda p: RMSprop(p, lr=0), ValueError, "lr"),
    (lambda p: RMSprop(p, lr=0.1, alpha=1.0), ValueError, "alpha"),
    (lambda p: Adam(p, lr=0), ValueError, "lr"),
    (lambda p: Adam(p, betas=(1.0, 0.999)), ValueError, r"betas\[0\]"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), ValueError, r"betas\[1\]"),
    (lambda p: Adam(p, betas=0.9), TypeError, "betas"),
    (lambda p: Adam({**p, "W": p["W"].astype(int)}), TypeError, r"params\['W'\]"),
    (lambda p: Adam({**p, "b": np.array([np.nan, 1.0])}), ValueError, r"params\['b'\] contains NaN"),
    (lambda p: Adam({}), ValueError, "params"),
])
def test_bad_hyperparameters(make, error, match):
    with pytest.raises(error, match=match):
        make(make_params())


@pytest.mark.parametrize("edit, error, match", [
    (lambda g: g.pop("W"), ValueError, r"grads: missing keys \['W'\]"),
    (lambda g: g.update(X=np.zeros(2)), ValueError, r"grads: .*unknown keys \['X'\]"),
    (lambda g: g.update(W=np.zeros((5, 4))), ValueError, r"grads\['W'\] has shape \(5, 4\), expected \(5, 5\)"),
    (lambda g: g["V"].__setitem__((1, 2), np.nan), ValueError, r"grads\['V'\] contains NaN or inf"),
    (lambda g: g["c"].__setitem__(0, -np.inf), ValueError, r"grads\['c'\] contains NaN or inf"),
    (lambda g: g.update(b=[0.0] * 5), TypeError, r"grads\['b'\] must be a floating-point numpy array"),
])
def test_bad_grads_raise_and_change_nothing(edit, error, match):
    params = make_params()
    before = {k: p.copy() for k, p in params.items()}
    opt = Adam(params)
    grads = make_grads(n=1)[0]
    edit(grads)
    with pytest.raises(error, match=match):
        opt.step(grads)
    assert opt.step_count == 0
    for k in SHAPES:
        np.testing.assert_array_equal(params[k], before[k])
        assert not opt.state["m"][k].any()


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_clip_grad_norm_matches_torch(max_norm):
    grads = make_grads(n=1)[0]
    tensors = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g)
    expected = torch.nn.utils.clip_grad_norm_(tensors, max_norm).item()
    refs = dict(grads)
    total = clip_grad_norm(grads, max_norm)
    assert isinstance(total, float)
    assert total == pytest.approx(expected, rel=1e-12)
    for (k, g), t in zip(grads.items(), tensors):
        assert g is refs[k]
        assert_rel(g, t.grad.numpy())
    if max_norm < total:
        new_norm = math.sqrt(sum(np.sum(g * g) for g in grads.values()))
        assert new_norm == pytest.approx(max_norm, rel=1e-6)


def float64_norm(grads):
    """The global norm of ``grads`` from their float64 values, without scaling."""
    return math.sqrt(sum(float(np.sum(np.asarray(g, np.float64) ** 2)) for g in grads.values()))


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e19), (np.float64, 1e200)])
def test_clip_grad_norm_where_the_sum_of_squares_overflows(dtype, scale):
    """Σ g² overflows the dtype (float32: 1e38, float64: 1e308); the norm must not, and the
    clipped gradients have norm max_norm, not 0 (issue 15.4)."""
    grads = make_grads(n=1, dtype=dtype)[0]
    for g in grads.values():
        g *= scale
    wide = {k: g.astype(np.float64) for k, g in grads.items()}
    if dtype == np.float64:  # float64_norm would overflow too: take the scale out by hand
        exact = scale * float64_norm({k: g / scale for k, g in wide.items()})
    else:
        exact = float64_norm(wide)
    assert global_norm(grads) == pytest.approx(exact, rel=1e-12)
    assert clip_grad_norm(grads, 5.0) == pytest.approx(exact, rel=1e-12)
    for k, g in grads.items():
        assert g.dtype == dtype
        assert_rel(g, wide[k] * (5.0 / exact), tol=1e-6 if dtype == np.float32 else 1e-12)
    assert float64_norm(grads) == pytest.approx(5.0, rel=1e-6)


def test_clip_grad_norm_of_an_exploding_float32_relu_net():
    """relu, W = 1.5·I, T = 100, float32: the gradient reaches ~1e19, finite, but its sum of
    squares is not; clipping used to scale every gradient by max_norm / inf = 0."""
    net = bptt.RNN(2, 4, 2, activation="relu", dtype=np.float32, seed=0)
    net.params["W"][:] = 1.5 * np.eye(4, dtype=np.float32)
    rng = np.random.default_rng(0)
    x = np.abs(rng.standard_normal((100, 3, 2))).astype(np.float32)
    _, grads = net.loss_and_grad(x, rng.integers(0, 2, size=(100, 3)))
    grads = dict(grads)
    assert all(np.isfinite(g).all() for g in grads.values()) and np.abs(grads["W"]).max() > 1e19
    exact = float64_norm(grads)
    assert clip_grad_norm(grads, 1.0) == pytest.approx(exact, rel=1e-6)
    assert float64_norm(grads) == pytest.approx(1.0, rel=1e-5)


def test_global_norm_of_special_values():
    assert global_norm({}) == 0.0 and global_norm({"b": np.zeros(3, np.float32)}) == 0.0
    assert global_norm({"W": np.array([1.0, np.inf]), "b": np.ones(2)}) == math.inf
    assert math.isnan(global_norm({"W": np.array([np.nan, np.inf]), "b": np.ones(2)}))
    assert global_norm({"W": np.full(4, 1e308)}) == math.inf  # 2e308: beyond float64


def test_clip_grad_value_matches_torch():
    grads = make_grads(n=1, dtype=np.float32)[0]
    tensors = [torch.zeros(s, requires_grad=True) for s in SHAPES.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(tensors, 0.7)
    clip_grad_value(grads, 0.7)
    for g, t in zip(grads.values(), tensors):
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, t.grad.numpy())


def test_clipping_rejects_bad_input():
    grads = make_grads(n=1)[0]
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm(grads, 0.0)
    with pytest.raises(ValueError, match="clip"):
        clip_grad_value(grads, -1.0)
    grads["U"][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"grads\['U'\] contains NaN"):
        clip_grad_norm(grads, 1.0)
    with pytest.raises(ValueError, match=r"grads\['U'\] contains NaN"):
        clip_grad_value(grads, 1.0)


def lr_sequence(opt_lr, sched, n):
    lrs = []
    for _ in range(n):
        lrs.append(opt_lr())
        sched.step()
    return lrs


def torch_lrs(make_sched, base_lr, n):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = make_sched(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_step_lr_matches_torch():
    opt = SGD(make_params(), lr=0.3)
    ours = lr_sequence(lambda: opt.lr, StepLR(opt, step_size=4, gamma=0.5), 30)
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, 4, 0.5), 0.3, 30)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("min_lr", [0.0, 0.01])
def test_cosine_lr_matches_torch(min_lr):
    opt = Adam(make_params(), lr=0.1)
    ours = lr_sequence(lambda: opt.lr, CosineLR(opt, total_steps=40, min_lr=min_lr), 41)
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=40, eta_min=min_lr), 0.1, 41)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert ours[-1] == min_lr


def test_cosine_lr_warmup_matches_torch_and_stays_at_min():
    opt = Adam(make_params(), lr=0.1)
    sched = CosineLR(opt, total_steps=30, min_lr=0.001, warmup=5)
    ours = lr_sequence(lambda: opt.lr, sched, 31)

    def torch_sched(o):
        lin = torch.optim.lr_scheduler.LinearLR(o, start_factor=1 / 5, total_iters=4)
        cos = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=25, eta_min=0.001)
        return torch.optim.lr_scheduler.SequentialLR(o, [lin, cos], milestones=[5])

    np.testing.assert_allclose(ours, torch_lrs(torch_sched, 0.1, 31), rtol=1e-12)
    assert ours[:5] == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.1])
    assert ours[5] == 0.1
    assert lr_sequence(lambda: opt.lr, sched, 5) == [0.001] * 5


def test_schedule_state_dict_resumes_exact_sequence():
    a = Adam(make_params(), lr=0.1)
    sa = CosineLR(a, total_steps=50, min_lr=0.0, warmup=3)
    lr_sequence(lambda: a.lr, sa, 17)
    sd = {k: np.asarray(v) for k, v in sa.state_dict().items()}   # as np.load returns them

    b = Adam(make_params(), lr=0.1)
    sb = CosineLR(b, total_steps=50, min_lr=0.0, warmup=3)
    sb.load_state_dict(sd)
    assert b.lr == a.lr
    assert lr_sequence(lambda: b.lr, sb, 40) == lr_sequence(lambda: a.lr, sa, 40)
    with pytest.raises(ValueError, match="last_step"):
        sb.load_state_dict({"last_step": -1, "base_lr": 0.1})


@pytest.mark.parametrize("make, error, match", [
    (lambda o: StepLR(o, step_size=0), ValueError, "step_size"),
    (lambda o: StepLR(o, step_size=2.5), TypeError, "step_size"),
    (lambda o: StepLR(o, step_size=2, gamma=0), ValueError, "gamma"),
    (lambda o: CosineLR(o, total_steps=0), ValueError, "total_steps"),
    (lambda o: CosineLR(o, total_steps=10, warmup=10), ValueError, "warmup"),
    (lambda o: CosineLR(o, total_steps=10, min_lr=-1e-3), ValueError, "min_lr"),
    (lambda o: CosineLR(o, total_steps=10, min_lr=1.0), ValueError, "min_lr"),
])
def test_bad_schedule_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make(SGD(make_params(), lr=0.1))


# ------------------------------------------------------------------ weight decay on the weights only
def test_weight_decay_skips_the_names_outside_decay():
    p = {"W": np.ones((2, 2)), "b": np.ones(2)}
    opt = Adam(p, lr=0.1, weight_decay=0.5, decoupled_weight_decay=True, decay=["W"])
    opt.step({"W": np.zeros((2, 2)), "b": np.zeros(2)})
    np.testing.assert_array_equal(p["W"], np.full((2, 2), 1 - 0.1 * 0.5))  # decayed, no gradient step
    np.testing.assert_array_equal(p["b"], np.ones(2))  # untouched
    sgd = SGD({"W": np.ones((2, 2)), "b": np.ones(2)}, lr=0.1, weight_decay=0.5, decay=["W"])
    sgd.step({"W": np.zeros((2, 2)), "b": np.zeros(2)})
    np.testing.assert_array_equal(sgd.params["b"], np.ones(2))
    np.testing.assert_array_equal(sgd.params["W"], np.full((2, 2), 1 - 0.1 * 0.5))
    with pytest.raises(ValueError, match="decay names parameters"):
        SGD({"W": np.ones(2)}, lr=0.1, decay=["V"])


def test_the_trainer_decays_weights_not_biases_or_initial_states():
    from bptt.train import TrainConfig, make_optimizer
    net = bptt.RNN(3, 4, 2, cell="lstm", learn_h0=True, embedding_size=3)
    assert net.weight_names == ["U", "W", "E", "V"]
    opt = make_optimizer(TrainConfig(optimizer="adamw", weight_decay=0.1), net.params, net.weight_names)
    assert opt.decoupled_weight_decay and opt.decay == {"U", "W", "E", "V"}
    with pytest.raises(ValueError, match="weight_decay=0.1 needs optimizer"):
        TrainConfig(optimizer="rmsprop", weight_decay=0.1)
    s2s = bptt.Seq2Seq(5, 6, 4, cell="gru")
    assert s2s.weight_names == ["enc.U", "enc.W", "dec.U", "dec.W", "dec.V"]
