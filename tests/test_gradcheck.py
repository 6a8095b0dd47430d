"""Finite differences (bptt.gradcheck, float64) against the hand-written BPTT gradient.

Every gradient must agree to ≤ 1e-7 in gradcheck's norm, max|a − n| / max(max|a|, max|n|) per
parameter. The factors (activation × head × mapping × structure) are covered pairwise, not as a
full product: activation × head, mapping × head (the activation rotating, so every mapping
meets every activation too), and layers × direction × input kind with h0, lengths and float
masks on. Sizes stay tiny (T ≤ 6, B ≤ 3, H ≤ 4). For relu, the case builder moves to the next
seed until every pre-activation is ≥ 1e-4 from the kink, and the test asserts it.
"""
import numpy as np
import pytest

import bptt
from bptt import gradients

pytestmark = pytest.mark.usefixtures("both_loops")  # NumPy and compiled loops

ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")
HEADS = ("softmax+ce", "sigmoid+bce", "identity+mse", "softmax+mse", "sigmoid+mse", "tanh+mse", "relu+mse")
MAPPINGS = ("many-to-many", "many-to-one", "one-to-many", "variable-lengths")
TOL = 1e-7
KINK = 1e-4  # as in conftest: no relu pre-activation closer than this to 0
# The central-difference step. Its error is ~ε²·|L'''|/6 (truncation) + ~u·|L|/ε (round-off,
# u ≈ 1.1e-16), smallest near ε ≈ (3u)^(1/3) ≈ 1e-5, gradcheck's default. At ε = 1e-6 the
# round-off alone reaches 7e-8 of the gradient on sigmoid networks, whose ∂L/∂W is ~1e-3·L:
# too close to the 1e-7 tolerance for a test. At ε = 1e-5 the worst case below is ~2e-9.
EPS = 1e-5


def check(case, eps=EPS):
    """bptt.gradcheck on every parameter; every error ≤ TOL."""
    report = bptt.gradcheck(case.net, *case.args, eps=eps)
    assert set(report) == set(case.net.params)
    bad = {k: e for k, e in report.items() if not e <= TOL}
    assert not bad, f"gradcheck errors above {TOL}: {bad}"
    return report


def _fd_inputs(case, which, eps=EPS):
    """Central differences of the loss with respect to h0 or x (float inputs)."""
    x, y, mask, h0, lengths = case.args
    arrays = {"x": np.array(x, dtype=np.float64), "h0": np.array(h0, dtype=np.float64)}
    a = arrays[which]
    flat = a.reshape(-1)
    out = np.empty(flat.size)
    for i in range(flat.size):
        saved = flat[i]
        vals = []
        for step in (eps, -eps):
            flat[i] = saved + step
            vals.append(case.net.loss(arrays["x"], y, mask, arrays["h0"], lengths))
        flat[i] = saved
        out[i] = (vals[0] - vals[1]) / (2 * eps)
    return out.reshape(a.shape)


def assert_kink_free(case, torch_loop):
    if "relu" in (case.net.activation, case.net.head.output):
        ref = torch_loop(case.net, *case.args)
        assert min(ref["min_abs_z"] if case.net.activation == "relu" else np.inf,
                   ref["min_abs_o"] if case.net.head.output == "relu" else np.inf) >= KINK


# ------------------------------------------------------------------ activation × head
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_x_head(activation, head, kink_free_case, torch_loop):
    case = kink_free_case(activation=activation, head=head, T=5, B=2, D=3, H=4, K=3, h0=True)
    assert_kink_free(case, torch_loop)
    check(case)


# --------------------------------------------------------------------- mapping × head
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("mapping", MAPPINGS)
def test_mapping_x_head(mapping, head, kink_free_case, torch_loop):
    # the activation rotates so that each mapping also meets each of the four activations
    activation = ACTIVATIONS[(HEADS.index(head) + MAPPINGS.index(mapping)) % 4]
    case = kink_free_case(activation=activation, head=head, mapping=mapping, T=5, B=3, H=3, h0=True)
    if mapping == "many-to-one":
        assert case.mask == "last"
    if mapping == "variable-lengths":
        assert case.lengths.min() < 5
    assert_kink_free(case, torch_loop)
    check(case)


# ------------------------------------------------ layers × direction × input kind
STRUCTURES = [  # (layers, bidirectional, ids, activation, head)
    (1, False, False, "tanh", "softmax+ce"),
    (1, True, False, "relu", "sigmoid+bce"),
    (2, False, False, "sigmoid", "identity+mse"),
    (2, True, False, "identity", "softmax+mse"),
    (3, False, False, "tanh", "sigmoid+mse"),
    (3, True, False, "relu", "tanh+mse"),
    (1, False, True, "sigmoid", "relu+mse"),
    (1, True, True, "identity", "softmax+ce"),
    (2, False, True, "relu", "sigmoid+bce"),
    (2, True, True, "tanh", "identity+mse"),
    (3, False, True, "identity", "softmax+mse"),
    (3, True, True, "tanh", "softmax+ce"),
]


@pytest.mark.parametrize(
    "layers,bidirectional,ids,activation,head",
    [pytest.param(*s, id=f"L{s[0]}-{'bi' if s[1] else 'uni'}-{'ids' if s[2] else 'float'}-{s[3]}-{s[4]}")
     for s in STRUCTURES],
)
def test_structure_with_h0_lengths_and_float_mask(layers, bidirectional, ids, activation, head,
                                                  kink_free_case, torch_loop):
    case = kink_free_case(activation=activation, head=head, T=5, B=3, D=3, H=3, K=2, layers=layers,
                          bidirectional=bidirectional, ids=ids, h0=True, lengths=True, mask="float")
    assert case.lengths.min() < 5 and case.h0.shape[0] == layers * (1 + bidirectional)
    assert_kink_free(case, torch_loop)
    check(case)


def test_deep_bidirectional_sigmoid_stack(make_case):
    """Three sigmoid layers attenuate the bottom gradients (σ' ≤ 1/4 per layer): here
    max|∂L/∂W| ≈ 2e-4 against L ≈ 4, so the round-off of a central difference, ~u·L/ε,
    is 2e-6 of the gradient at ε = 1e-6 and 2.6e-7 at ε = 1e-5 — a limit of the check, not
    of the gradient (torch agrees to 1e-15). ε = 1e-4 brings it to 1.7e-8 (truncation stays
    below that), so the 1e-7 tolerance is kept."""
    case = make_case("sigmoid", "softmax+mse", T=4, B=2, H=3, layers=3, bidirectional=True, h0=True)
    _, g = case.net.loss_and_grad(*case.args)
    assert np.abs(g["W"]).max() < 1e-3 < case.net.loss(*case.args)
    check(case, eps=1e-4)


# ------------------------------------------------------------------- named cases
NAMED = {
    "bidirectional-many-to-one-lengths": dict(mapping="many-to-one", bidirectional=True, lengths=True, h0=True),
    "bidirectional-one-to-many-3-layers": dict(mapping="one-to-many", bidirectional=True, layers=3),
    "ids-repeated-scatter-add": dict(ids=True, D=2, T=6, B=3, lengths=True),
    "ids-many-to-one": dict(ids=True, mapping="many-to-one", lengths=True, bidirectional=True),
    "T1-B1-H1": dict(T=1, B=1, H=1, D=1, K=2, h0=True),
    "T1-bidirectional": dict(T=1, B=2, bidirectional=True, layers=2, h0=True),
    "saturated-tanh": dict(scale=3.0, T=6, h0=True),
    "lengths-1-and-T": dict(T=4, B=3, h0=True, bidirectional=True, set_lengths=[1, 4, 1]),
}


@pytest.mark.parametrize("options", [pytest.param(v, id=k) for k, v in NAMED.items()])
def test_named_case(options, make_case):
    options = dict(options)
    lengths = options.pop("set_lengths", None)
    case = make_case("tanh", "softmax+ce", **options)
    if lengths is not None:
        case.lengths = np.array(lengths)
    check(case)


@pytest.mark.parametrize("head", ["softmax+ce", "sigmoid+mse"])
@pytest.mark.parametrize("structure", [dict(), dict(layers=2, bidirectional=True, lengths=True)],
                         ids=["L1", "L2-bi-lengths"])
def test_dh0_and_dx_against_finite_differences(structure, head, make_case, fd_err):
    case = make_case("tanh", head, T=4, B=2, H=3, h0=True, mask="float", **structure)
    _, g = case.net.loss_and_grad(*case.args, input_grad=True)
    assert fd_err(g.dh0, _fd_inputs(case, "h0")) <= TOL
    assert fd_err(g.dx, _fd_inputs(case, "x")) <= TOL


# ------------------------------------------------------------ the checker itself
def test_gradcheck_catches_a_wrong_gradient(make_case, monkeypatch):
    """A method whose ∂L/∂W is 1% off is reported for W only; the check is not vacuous."""
    case = make_case("tanh", "softmax+ce", h0=True)

    def off_by_one_percent(net, batch, **kw):
        loss, g = gradients.METHODS["bptt"](net, batch, **kw)
        g["W"] = g["W"] * 1.01
        return loss, g

    monkeypatch.setitem(gradients.METHODS, "off", off_by_one_percent)
    report = bptt.gradcheck(case.net, *case.args, method="off")
    assert 5e-3 < report["W"] < 2e-2
    assert max(e for k, e in report.items() if k != "W") <= TOL


def test_gradcheck_leaves_parameters_untouched(make_case):
    case = make_case("relu", "sigmoid+bce", h0=True, layers=2)
    before = {k: p.copy() for k, p in case.net.params.items()}
    bptt.gradcheck(case.net, *case.args)
    assert all(np.array_equal(before[k], p) for k, p in case.net.params.items())


def test_gradcheck_max_entries_samples_deterministically(make_case):
    case = make_case("tanh", "softmax+ce", H=4, D=3)
    a = bptt.gradcheck(case.net, *case.args, max_entries=3, seed=7)
    b = bptt.gradcheck(case.net, *case.args, max_entries=3, seed=7)
    assert a == b and max(a.values()) <= TOL
