"""Errors at the boundary (_validate.py and its callers): every public entry point — the RNN
constructor, forward, loss, loss_and_grad, gradcheck, set_params — rejects bad input with a
ValueError/TypeError whose message names the argument, before any NumPy warning or NaN.

Every test here runs with warnings as errors and np.errstate(all="raise") (autouse fixture),
so a bad input that slipped through to NumPy would surface as a different exception.
"""
import warnings

import numpy as np
import pytest

import bptt

T, B, D, H, K = 5, 2, 3, 4, 3


@pytest.fixture(autouse=True)
def strict():
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        yield


def nets():
    return {
        "ce": bptt.RNN(D, H, K, seed=0, dtype=np.float64),
        "mse": bptt.RNN(D, H, K, output="identity", seed=0, dtype=np.float64),
        "bce": bptt.RNN(D, H, K, output="sigmoid", seed=0, dtype=np.float64),
        "bi2": bptt.RNN(D, H, K, num_layers=2, bidirectional=True, seed=0, dtype=np.float64),
    }


NETS = nets()
RNG = np.random.default_rng(0)
X = RNG.standard_normal((T, B, D))
Y = {"ce": RNG.integers(0, K, size=(T, B)), "mse": RNG.standard_normal((T, B, K)),
     "bce": RNG.uniform(0, 1, size=(T, B, K)), "bi2": RNG.integers(0, K, size=(T, B))}


def with_nan(a, value=np.nan):
    a = np.array(a, dtype=np.float64)
    a.flat[1] = value
    return a


# (id, net kind, {argument: bad value}, exception, message regex). Arguments not given are valid.
BAD = [
    # x: rank, shape, dtype, content
    ("x-rank-1", "ce", dict(x=np.zeros(3)), ValueError, r"x must be float inputs of shape \(T, B, 3\)"),
    ("x-rank-4", "ce", dict(x=X[None]), ValueError, r"x must be float inputs"),
    ("x-float-rank-2", "ce", dict(x=X[..., 0]), ValueError, r"x must be float inputs .* or integer token ids"),
    ("x-wrong-D", "ce", dict(x=X[..., :2]), ValueError, r"x must have shape \(any, any, 3\)"),
    ("x-T0", "ce", dict(x=np.zeros((0, B, D))), ValueError, r"x must have shape"),
    ("x-B0", "ce", dict(x=np.zeros((T, 0, D))), ValueError, r"x must have shape"),
    ("x-ids-T0", "ce", dict(x=np.zeros((0, B), dtype=int)), ValueError, r"x \(token ids\) must have shape"),
    ("x-ragged", "ce", dict(x=[[[0.0, 1.0, 2.0]], [[0.0, 1.0]]]), ValueError, r"x must be a rectangular array"),
    ("x-string", "ce", dict(x="abc"), TypeError, r"x must be a numeric array"),
    ("x-strings", "ce", dict(x=np.full((T, B, D), "a")), TypeError, r"x must be a numeric array"),
    ("x-None", "ce", dict(x=None), TypeError, r"x must be a numeric array"),
    ("x-complex", "ce", dict(x=X.astype(complex)), ValueError, r"x must be float inputs"),
    ("x-nan", "ce", dict(x=with_nan(X)), ValueError, r"x contains NaN or inf"),
    ("x-inf", "ce", dict(x=with_nan(X, np.inf)), ValueError, r"x contains NaN or inf"),
    ("x-ids-out-of-range", "ce", dict(x=np.full((T, B), D)), ValueError, r"x \(token ids\) must hold values in \[0, 2\], found 3"),
    ("x-ids-negative", "ce", dict(x=np.full((T, B), -1)), ValueError, r"x \(token ids\) must hold values in \[0, 2\], found -1"),
    # h0
    ("h0-missing-layer-axis", "ce", dict(h0=np.zeros((B, H))), ValueError, r"h0 must have shape \(1, 2, 4\)"),
    ("h0-wrong-stack", "bi2", dict(h0=np.zeros((2, B, H))), ValueError, r"h0 must have shape \(4, 2, 4\)"),
    ("h0-nan", "ce", dict(h0=with_nan(np.zeros((1, B, H)))), ValueError, r"h0 contains NaN or inf"),
    ("h0-inf", "ce", dict(h0=with_nan(np.zeros((1, B, H)), -np.inf)), ValueError, r"h0 contains NaN or inf"),
    ("h0-string", "ce", dict(h0="zeros"), TypeError, r"h0 must be a numeric array"),
    ("h0-complex", "ce", dict(h0=np.zeros((1, B, H), complex)), TypeError, r"h0 must be a real float array"),
    # lengths
    ("lengths-0", "ce", dict(lengths=[0, 5]), ValueError, r"lengths must hold values in \[1, 5\], found 0"),
    ("lengths-above-T", "ce", dict(lengths=[6, 5]), ValueError, r"lengths must hold values in \[1, 5\], found 6"),
    ("lengths-negative", "ce", dict(lengths=[-1, 5]), ValueError, r"lengths must hold values in \[1, 5\]"),
    ("lengths-wrong-count", "ce", dict(lengths=[5, 5, 5]), ValueError, r"lengths must have shape \(2,\)"),
    ("lengths-scalar", "ce", dict(lengths=5), ValueError, r"lengths must have shape \(2,\)"),
    ("lengths-float", "ce", dict(lengths=[5.0, 4.0]), TypeError, r"lengths must be an integer array"),
    ("lengths-bool", "ce", dict(lengths=[True, True]), TypeError, r"lengths must be an integer array"),
    ("lengths-string", "ce", dict(lengths="55"), TypeError, r"lengths must be a numeric array"),
    # y
    ("y-class-out-of-range", "ce", dict(y=np.full((T, B), K)), ValueError, r"y \(class ids\) must hold values in \[0, 2\], found 3"),
    ("y-class-negative", "ce", dict(y=np.full((T, B), -1)), ValueError, r"y \(class ids\) must hold values in \[0, 2\], found -1"),
    ("y-class-float", "ce", dict(y=Y["ce"].astype(float)), TypeError, r"y \(class ids\) must be an integer array"),
    ("y-class-wrong-shape", "ce", dict(y=Y["ce"][:, :1]), ValueError, r"y \(class ids\) must have shape \(5, 2\)"),
    ("y-class-ragged", "ce", dict(y=[[0, 1], [0]]), ValueError, r"y \(class ids\) must be a rectangular array"),
    ("y-None", "ce", dict(y=None), TypeError, r"y \(class ids\) must be a numeric array"),
    ("y-mse-nan", "mse", dict(y=with_nan(Y["mse"])), ValueError, r"y contains NaN or inf"),
    ("y-mse-inf", "mse", dict(y=with_nan(Y["mse"], np.inf)), ValueError, r"y contains NaN or inf"),
    ("y-mse-wrong-K", "mse", dict(y=Y["mse"][..., :2]), ValueError, r"y must have shape \(5, 2, 3\)"),
    ("y-mse-string", "mse", dict(y="y"), TypeError, r"y must be a numeric array"),
    ("y-bce-above-1", "bce", dict(y=Y["bce"] + 1), ValueError, r"y must hold probabilities in \[0, 1\]"),
    ("y-bce-negative", "bce", dict(y=-Y["bce"]), ValueError, r"y must hold probabilities in \[0, 1\]"),
    ("y-many-to-one-shape", "ce", dict(mask="last"), ValueError, r"y \(class ids\) must have shape \(2,\)"),
    # mask
    ("mask-negative", "ce", dict(mask=-np.ones((T, B))), ValueError, r"mask must be non-negative"),
    ("mask-nan", "ce", dict(mask=with_nan(np.ones((T, B)))), ValueError, r"mask contains NaN or inf"),
    ("mask-inf", "ce", dict(mask=with_nan(np.ones((T, B)), np.inf)), ValueError, r"mask contains NaN or inf"),
    ("mask-wrong-shape", "ce", dict(mask=np.ones((B, T))), ValueError, r"mask must have shape \(5, 2\)"),
    ("mask-scalar", "ce", dict(mask=1.0), ValueError, r"mask must have shape \(5, 2\)"),
    ("mask-unknown-string", "ce", dict(mask="first"), ValueError, r"mask must be None, 'last' or an array"),
    ("mask-strings", "ce", dict(mask=np.full((T, B), "1")), TypeError, r"mask must be a numeric array"),
    ("mask-complex", "ce", dict(mask=np.ones((T, B), complex)), TypeError, r"mask must be a real float array"),
]
INPUT_ONLY = {"x", "h0", "lengths"}


def call(entry, kind, args):
    net = NETS[kind]
    a = dict(x=X, y=Y[kind], mask=None, h0=None, lengths=None)
    a.update(args)
    if entry == "forward":
        return net.forward(a["x"], a["h0"], a["lengths"])
    if entry == "loss":
        return net.loss(**a)
    if entry == "loss_and_grad":
        return net.loss_and_grad(**a)
    return bptt.gradcheck(net, **a)


ENTRIES = ("forward", "loss", "loss_and_grad", "gradcheck")


def _entries_taking(args):
    """forward takes no targets or mask: a bad y or mask is a case for the other three only."""
    return [e for e in ENTRIES if e != "forward" or set(args) <= INPUT_ONLY]


@pytest.mark.parametrize("entry,kind,args,exc,match", [
    pytest.param(entry, *b[1:], id=f"{b[0]}-{entry}") for b in BAD for entry in _entries_taking(b[2])])
def test_bad_argument_is_rejected_naming_it(entry, kind, args, exc, match):
    with pytest.raises(exc, match=match):
        call(entry, kind, args)


@pytest.mark.parametrize("entry", ["loss", "loss_and_grad", "gradcheck"])
def test_the_valid_calls_of_the_table_pass(entry):
    """The table's baseline is valid, so each error above comes from its one bad argument."""
    for kind in NETS:
        call(entry, kind, {})
        call(entry, kind, dict(lengths=[5, 2], h0=np.zeros((NETS[kind].num_layers * NETS[kind].num_directions, B, H)),
                               mask=np.ones((T, B))))


# ------------------------------------------------------------------- options
def test_unknown_method():
    with pytest.raises(ValueError, match=r"method must be one of .*'bptt'.*; got 'bptt2'"):
        NETS["ce"].loss_and_grad(X, Y["ce"], method="bptt2")
    with pytest.raises(ValueError, match=r"method must be one of"):
        bptt.gradcheck(NETS["ce"], X, Y["ce"], method="BPTT")


def test_unknown_option_of_a_method_is_named():
    with pytest.raises(ValueError, match="method='bptt' takes no options; got k1"):
        NETS["ce"].loss_and_grad(X, Y["ce"], k1=3)


def test_input_grad_needs_float_inputs():
    with pytest.raises(ValueError, match="input_grad=True needs float inputs"):
        NETS["ce"].loss_and_grad(np.zeros((T, B), dtype=int), Y["ce"], input_grad=True)


# ------------------------------------------------------------------- the constructor
CTOR = [
    ("activation-typo", dict(activation="tahn"), ValueError, r"activation must be one of 'tanh', 'relu', 'sigmoid', 'identity'; got 'tahn'"),
    ("activation-None", dict(activation=None), ValueError, r"activation must be one of"),
    ("output-typo", dict(output="softmx"), ValueError, r"output must be one of .*; got 'softmx'"),
    ("loss-typo", dict(loss="ce"), ValueError, r"loss must be None or one of .*; got 'ce'"),
    ("init-unknown", dict(init="he"), ValueError, r"init must be one of 'uniform', 'xavier', 'orthogonal', 'identity'; got 'he'"),
    ("dtype-float16", dict(dtype=np.float16), TypeError, r"dtype must be float32 or float64, got float16"),
    ("dtype-int", dict(dtype=int), TypeError, r"dtype must be float32 or float64"),
    ("dtype-string-typo", dict(dtype="float33"), TypeError, r"dtype must be float32 or float64"),
    ("identity+cross_entropy", dict(output="identity", loss="cross_entropy"), ValueError, r"loss='cross_entropy' needs output in \('softmax',\), got output='identity'"),
    ("sigmoid+cross_entropy", dict(output="sigmoid", loss="cross_entropy"), ValueError, r"loss='cross_entropy' needs output"),
    ("softmax+bce", dict(output="softmax", loss="bce"), ValueError, r"loss='bce' needs output in \('sigmoid',\)"),
    ("input_size-0", dict(input_size=0), ValueError, r"input_size must be an integer ≥ 1, got 0"),
    ("hidden_size-negative", dict(hidden_size=-2), ValueError, r"hidden_size must be an integer ≥ 1"),
    ("output_size-float", dict(output_size=2.5), TypeError, r"output_size must be an integer ≥ 1, got float 2.5"),
    ("input_size-bool", dict(input_size=True), TypeError, r"input_size must be an integer"),
    ("hidden_size-string", dict(hidden_size="4"), TypeError, r"hidden_size must be an integer"),
    ("num_layers-0", dict(num_layers=0), ValueError, r"num_layers must be an integer ≥ 1"),
    ("num_layers-float", dict(num_layers=2.0), TypeError, r"num_layers must be an integer"),
    ("bidirectional-int", dict(bidirectional=1), TypeError, r"bidirectional must be True or False"),
    ("bidirectional-string", dict(bidirectional="yes"), TypeError, r"bidirectional must be True or False"),
    ("seed-string", dict(seed="1"), TypeError, r"seed must be None or an integer"),
    ("seed-float", dict(seed=1.5), TypeError, r"seed must be None or an integer"),
    ("seed-bool", dict(seed=True), TypeError, r"seed must be None or an integer"),
    ("seed-negative", dict(seed=-1), ValueError, r"seed"),
]


@pytest.mark.parametrize("kwargs,exc,match", [pytest.param(*c[1:], id=c[0]) for c in CTOR])
def test_constructor_rejects_bad_options_naming_them(kwargs, exc, match):
    base = dict(input_size=D, hidden_size=H, output_size=K)
    base.update(kwargs)
    sizes = [base.pop(k) for k in ("input_size", "hidden_size", "output_size")]
    with pytest.raises(exc, match=match):
        bptt.RNN(*sizes, **base)


def test_constructor_accepts_numpy_integers_and_dtype_names():
    net = bptt.RNN(np.int64(3), np.int32(4), np.uint8(2), num_layers=np.int64(2), seed=np.int64(5), dtype="float64")
    assert (net.input_size, net.hidden_size, net.output_size, net.num_layers) == (3, 4, 2, 2)
    assert net.dtype is np.float64 and isinstance(net.input_size, int)


# ------------------------------------------------------------------- gradcheck's own options
GRADCHECK = [
    ("eps-0", dict(eps=0.0), ValueError, r"eps must be a float in \(0, 1\)"),
    ("eps-1", dict(eps=1.0), ValueError, r"eps must be a float in \(0, 1\)"),
    ("eps-negative", dict(eps=-1e-6), ValueError, r"eps must be a float"),
    ("eps-int", dict(eps=1), ValueError, r"eps must be a float"),
    ("eps-string", dict(eps="1e-6"), ValueError, r"eps must be a float"),
    ("max_entries-0", dict(max_entries=0), ValueError, r"max_entries must be an integer ≥ 1"),
    ("max_entries-negative", dict(max_entries=-1), ValueError, r"max_entries must be an integer ≥ 1"),
    ("max_entries-string", dict(max_entries="3"), TypeError, r"max_entries must be an integer"),
    ("max_entries-float", dict(max_entries=2.5), TypeError, r"max_entries must be an integer"),
    ("seed-string", dict(max_entries=2, seed="a"), TypeError, r"seed must be"),
    ("seed-float", dict(max_entries=2, seed=0.5), TypeError, r"seed must be"),
]


@pytest.mark.parametrize("kwargs,exc,match", [pytest.param(*g[1:], id=g[0]) for g in GRADCHECK])
def test_gradcheck_rejects_bad_options_naming_them(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        bptt.gradcheck(NETS["ce"], X, Y["ce"], **kwargs)


def test_gradcheck_needs_a_float64_model():
    with pytest.raises(TypeError, match=r"gradcheck needs a float64 model; pass net.astype"):
        bptt.gradcheck(NETS["ce"].astype(np.float32), X, Y["ce"])


@pytest.mark.parametrize("net", [None, "net", {"U": np.zeros((H, D))}], ids=["None", "string", "dict"])
def test_gradcheck_needs_a_model(net):
    with pytest.raises(TypeError, match=r"net must be"):
        bptt.gradcheck(net, X, Y["ce"])


# ------------------------------------------------------------------- set_params
def test_set_params_rejects_wrong_keys_shapes_and_values():
    net = bptt.RNN(D, H, K, seed=0, dtype=np.float64)
    good = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match=r"params must be a dict with keys \['U', 'V', 'W', 'b', 'c'\]"):
        net.set_params({k: v for k, v in good.items() if k != "c"})
    with pytest.raises(ValueError, match=r"params must be a dict"):
        net.set_params([1, 2])
    with pytest.raises(ValueError, match=r"params\['W'\] must have shape \(4, 4\)"):
        net.set_params({**good, "W": np.zeros((4, 3))})
    with pytest.raises(ValueError, match=r"params\['b'\] contains NaN or inf"):
        net.set_params({**good, "b": with_nan(good["b"])})
    with pytest.raises(TypeError, match=r"params\['V'\] must be a numeric array"):
        net.set_params({**good, "V": "V"})
    assert all(np.array_equal(net.params[k], good[k]) for k in good)  # untouched by the failures


# ------------------------------------------------------------------- valid edges stay clean
@pytest.mark.parametrize("kind", list(NETS))
def test_valid_edge_inputs_give_finite_results_without_warnings(kind):
    """Under errstate(all="raise") and warnings-as-errors: T = 1, B = 1, a zero mask, a mask of
    one step, every length 1, token ids, float32 — finite loss and gradients."""
    net = NETS[kind]
    y1 = Y[kind][:1, :1]
    for args in [dict(x=X[:1, :1], y=y1), dict(x=X, y=Y[kind], mask=np.zeros((T, B))),
                 dict(x=X, y=Y[kind], mask=np.eye(T, B)), dict(x=X, y=Y[kind], lengths=[1, 1])]:
        loss, g = net.loss_and_grad(**args)
        assert np.isfinite(loss) and all(np.all(np.isfinite(a)) for a in g.values()) and np.all(np.isfinite(g.dh0))
    loss, g = net.astype(np.float32).loss_and_grad(np.zeros((T, B), dtype=np.int64), Y[kind])
    assert np.isfinite(loss) and all(np.all(np.isfinite(a)) for a in g.values())
