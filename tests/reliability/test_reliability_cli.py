"""The command line on bad input: exit status 2 and ONE line ``bptt: error: …`` on stderr, no
traceback, for unknown tasks and options, bad values, missing or malformed data files, and
damaged or hostile checkpoints (a valid checksum over metadata that lies). In process
(``bptt.cli.main``, fast) plus two real subprocesses for the end-to-end exit status.
"""
from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import numpy as np
import pytest

from bptt import checkpoint  # noqa: E402
from bptt.cli import main  # noqa: E402
from bptt import recipes  # noqa: E402
from bptt.train import train  # noqa: E402

TINY = ["--steps", "20", "--eval-every", "10", "--hidden", "4", "--batch-size", "4", "--no-progress"]

@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with one good tiny run and damaged/hostile variants of its last.npz."""
    d = tmp_path_factory.mktemp("cli")
    train("addition", out=d / "good", task_options={"test_bits": [8]}, steps=20, eval_every=10,
          batch_size=4, progress=False, model_options={"hidden_size": 4})
    arrays, meta = checkpoint.load(d / "good" / "last.npz")
    meta = {k: v for k, v in meta.items() if k not in ("format_version", "created", "sha256")}

    def variant(name, arrays_=None, drop=(), **changes):
        m = {k: v for k, v in {**meta, **changes}.items() if k not in drop}
        checkpoint.save(d / name, arrays if arrays_ is None else arrays_, m)

    data = (d / "good" / "last.npz").read_bytes()
    (d / "truncated.npz").write_bytes(data[: len(data) // 2])
    (d / "resume_me").mkdir()
    (d / "resume_me" / "last.npz").write_bytes(data[:-100])
    (d / "text.npz").write_text("not a checkpoint\n")
    variant("wrong_shape.npz", {**arrays, "param/W": np.zeros((3, 3), np.float32)})
    variant("nan_param.npz", {**arrays, "param/W": np.full_like(arrays["param/W"], np.nan)})
    variant("complex_param.npz", {k: v.astype(complex) if k.startswith("param/") else v for k, v in arrays.items()})
    variant("no_params.npz", {})
    variant("unknown_task.npz", task="evil")
    variant("model_class.npz", model_class="os.system")
    variant("unknown_option.npz", task_options={**meta["task_options"], "evil": 1})
    variant("bad_model.npz", model={**meta["model"], "hidden_size": -1})
    variant("other_kind.npz", kind="other")
    variant("bad_rng.npz", rng={"bit_generator": "os.system"})
    variant("bad_optim.npz", {**arrays, "optim/m.W": np.full_like(arrays["optim/m.W"], np.inf)})
    for key in ("task", "model", "step", "rng", "best"):
        variant(f"no_{key}.npz", drop=(key,))
    variant("step_negative.npz", step=-5)
    variant("best_list.npz", best=[])
    variant("options_list.npz", task_options=[1])
    variant("train_list.npz", train=[1])
    checkpoint.save(d / "foreign.npz", {"x": np.zeros(2)}, {"anything": 1})
    (d / "bad_sentiment.txt").write_text("good\t1\nbad movie\n")
    (d / "bad.csv").write_text("month,v\n1,2\n2,abc\n")
    (d / "empty.txt").write_text("")
    (d / "latin1.txt").write_bytes("naïve café\n".encode("latin-1"))
    return d


CASES = {
    # argv (relative to the work folder), fragments of the error line
    "unknown task": pytest.param(["train", "nosuchtask"], ["nosuchtask"]),
    "unknown option": pytest.param(["train", "addition", "--frobnicate"], ["--frobnicate"]),
    "non-integer --steps": pytest.param(["train", "addition", "--steps", "abc"], ["--steps"]),
    "--steps 0": (["train", "addition", "--steps", "0"], ["steps"]),
    "--lr -1": (["train", "addition", "--lr", "-1"], ["lr"]),
    "--lr nan": (["train", "addition", "--lr", "nan"], ["lr"]),
    "--lr inf": (["train", "addition", "--lr", "inf"], ["lr"]),
    "--batch-size 0": (["train", "addition", "--batch-size", "0"], ["batch_size"]),
    "--hidden 0": (["train", "addition", "--hidden", "0"], ["hidden_size"]),
    "--clip -1": (["train", "addition", "--clip", "-1"], ["clip"]),
    "--seed -1": (["train", "addition", "--seed", "-1"], ["seed"]),
    "--warmup ≥ --steps": (["train", "addition", "--warmup", "5", "--steps", "3"], ["warmup"]),
    "option of another task": (["train", "addition", "--text", "x.txt"], ["--text", "charlm"]),
    "charlm without --text": (["train", "charlm"], ["--text"]),
    "missing text file": (["train", "charlm", "--text", "nope.txt", *TINY], ["nope.txt"]),
    "empty text file": (["train", "charlm", "--text", "empty.txt", *TINY], ["empty.txt", "empty"]),
    "Latin-1 text file": (["train", "charlm", "--text", "latin1.txt", *TINY], ["latin1.txt, line 1", "UTF-8"]),
    "directory as text file": (["train", "charlm", "--text", ".", *TINY], ["directory"]),
    "sentiment line without a tab": (["train", "sentiment", "--data", "bad_sentiment.txt", *TINY],
                                     ["bad_sentiment.txt, line 2", "tab"]),
    "timeseries non-numeric cell": (["train", "timeseries", "--data", "bad.csv", *TINY], ["bad.csv, line 3"]),
    "resume: nothing there": (["train", "--resume", "nowhere"], ["nowhere"]),
    "resume: truncated last.npz": (["train", "--resume", "resume_me"], ["resume_me/last.npz", "corrupted"]),
    "resume: changing --lr": (["train", "--resume", "good", "--lr", "1"], ["lr"]),
    "resume: --steps below the checkpoint": (["train", "--resume", "good", "--steps", "5"], ["steps"]),
    "resume: wrong-shape parameters": (["train", "--resume", "wrong_shape.npz"], ["params['W']", "shape"]),
    "resume: infinite optimizer buffer": (["train", "--resume", "bad_optim.npz", "--steps", "40"], ["m.W"]),
    "resume: hostile RNG state": (["train", "--resume", "bad_rng.npz", "--steps", "40"], ["RNG state"]),
    "eval: truncated": (["eval", "truncated.npz"], ["truncated.npz", "corrupted"]),
    "eval: text file": (["eval", "text.npz"], ["text.npz", "not an .npz"]),
    "eval: missing": (["eval", "nope.npz"], ["nope.npz"]),
    "eval: wrong-shape parameters": (["eval", "wrong_shape.npz"], ["params['W']"]),
    "eval: NaN parameters": (["eval", "nan_param.npz"], ["params['W']", "NaN"]),
    "eval: complex parameters": (["eval", "complex_param.npz"], ["params['U']"]),
    "eval: no parameters": (["eval", "no_params.npz"], ["params"]),
    "eval: unknown task": (["eval", "unknown_task.npz"], ["evil"]),
    "eval: model_class os.system": (["eval", "model_class.npz"], ["os.system"]),
    "eval: unknown task option": (["eval", "unknown_option.npz"], ["evil"]),
    "eval: invalid model config": (["eval", "bad_model.npz"], ["hidden_size"]),
    "eval: not a training checkpoint": (["eval", "other_kind.npz"], ["other_kind.npz", "bptt train"]),
    "eval: a bptt checkpoint without kind": (["eval", "foreign.npz"], ["foreign.npz"]),
    "sample: not a charlm checkpoint": (["sample", "good/last.npz"], ["charlm"]),
    "translate: not a dates checkpoint": (["translate", "good/last.npz", "1 May 2000"], ["dates"]),
    "diagnose: truncated": (["diagnose", "truncated.npz"], ["truncated.npz"]),
    "gradcheck --hidden 0": (["gradcheck", "--hidden", "0"], ["--hidden"]),
    "gradcheck --steps 0": pytest.param(["gradcheck", "--steps", "0"], ["steps"]),
    "diagnose --radius -1": (["diagnose", "--radius", "-1"], ["radius"]),
    **{f"eval: metadata without {k!r}": pytest.param(["eval", f"no_{k}.npz"], [f"no_{k}.npz"])
       for k in ("task", "model", "step")},
    **{f"resume: metadata without {k!r}": pytest.param(["train", "--resume", f"no_{k}.npz", "--steps", "40"],
                                                       [f"no_{k}.npz"]) for k in ("rng", "best")},
    **{f"resume: metadata with a bad {k!r}": pytest.param(["train", "--resume", f"{k}.npz", "--steps", "40"],
                                                          [f"{k}.npz", k.split("_")[0]])
       for k in ("step_negative", "best_list", "options_list", "train_list")},
}


def _case(value):
    return value if isinstance(value, type(pytest.param(0))) else pytest.param(*value)


@pytest.mark.parametrize("argv, fragments", [_case(v) for v in CASES.values()], ids=list(CASES))
def test_bad_input_exits_2_with_one_line(work, argv, fragments, monkeypatch):
    monkeypatch.chdir(work)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        status = main(argv)
    lines = err.getvalue().strip().splitlines()
    assert status == 2, (status, lines)
    assert len(lines) == 1 and lines[0].startswith("bptt: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("argv", [["eval", "truncated.npz"], ["train", "sentiment", "--data", "bad_sentiment.txt"]])
def test_real_process_exit_status_and_no_traceback(work, argv):
    r = subprocess.run([sys.executable, "-m", "bptt", *argv], cwd=work, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("bptt: error: ")
