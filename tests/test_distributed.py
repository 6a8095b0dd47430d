"""distributed.py: the fused, rank-ordered reduction (P1) under a real `mpiexec -n 2`."""
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bptt import distributed

MPIEXEC = Path(sys.executable).with_name("mpiexec")


def mpi_run(code: str, n: int = 2, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` under ``mpiexec -n n`` with this Python; skip where mpi4py is missing."""
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (the bptt[mpi] extra)")
    exe = str(MPIEXEC) if MPIEXEC.exists() else shutil.which("mpiexec")
    if exe is None:
        pytest.skip("mpiexec not found beside the interpreter or on PATH")
    return subprocess.run([exe, "-n", str(n), sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)


def test_shard_slices_are_contiguous_rank_ordered_and_cover_the_batch():
    assert distributed.shard_slices(10, 3) == [slice(0, 4), slice(4, 7), slice(7, 10)]
    assert distributed.shard_slices(4, 2) == [slice(0, 2), slice(2, 4)]
    with pytest.raises(ValueError, match="batch_size=1"):
        distributed.shard_slices(1, 2)


def test_one_process_world_is_the_identity():
    w = distributed.world()
    grads = {"W": np.arange(6.0).reshape(2, 3)}
    loss, out = distributed.fused_mean(w, 0.5, grads, 4, 4)
    assert (w.rank, w.size) == (0, 1) and loss == 0.5
    np.testing.assert_array_equal(out["W"], grads["W"])


def test_fused_mean_over_two_ranks_equals_the_mean_of_the_whole_batch(tmp_path):
    r = mpi_run("""
        import numpy as np
        from bptt import distributed
        w = distributed.world()
        rng = np.random.default_rng(0)
        g_all = rng.standard_normal((5, 3, 4))          # per-sequence gradients of B = 5
        loss_all = rng.random(5)
        sl = distributed.shard_slices(5, w.size)[w.rank]
        n = sl.stop - sl.start
        loss, g = distributed.fused_mean(w, loss_all[sl].mean(), {"W": g_all[sl].mean(0).astype(np.float32)}, n, 5)
        ref = g_all.mean(0)
        with open(f"TMP/rank{w.rank}.txt", "w") as f:  # ranks' stdout would interleave
            print(w.rank, w.size, g["W"].dtype, abs(loss - loss_all.mean()) < 1e-15,
                  float(np.abs(g["W"] - ref).max()) < 1e-6, g["W"].tobytes().hex(), file=f)
    """.replace("TMP", str(tmp_path)))
    assert r.returncode == 0, r.stderr
    lines = [(tmp_path / f"rank{r}.txt").read_text() for r in range(2)]
    assert [ln.split()[:5] for ln in lines] == [["0", "2", "float32", "True", "True"], ["1", "2", "float32", "True", "True"]]
    assert lines[0].split()[5] == lines[1].split()[5]  # both ranks hold the same bits


def test_an_error_on_one_rank_stops_every_rank():
    r = mpi_run("""
        import time
        from bptt import distributed
        w = distributed.world()
        with distributed.abort_on_error(w):
            if w.rank == 1:
                raise ValueError("shard broken")
            w.barrier()          # rank 0 would wait here forever without the abort
    """, timeout=60)
    assert r.returncode != 0
    assert "rank 1 of 2 failed (ValueError: shard broken)" in r.stderr


TRAIN = """
import numpy as np
from bptt import distributed
from bptt.train import train
w = distributed.world()
r = train(CALL)
np.savez(f"TMP/rank{w.rank}.npz", **r.model.params)
"""


def run_options(task, opts, steps=20, out=None, batch_size=8):
    """bptt.train's keywords for these tests' runs: a tiny float64 model, saved to ``out`` if given."""
    return dict(task=task, save=out is not None, out=None if out is None else str(out), plot=False,
                model_options=dict(hidden_size=6, dtype="float64", seed=0), task_options=opts, steps=steps,
                batch_size=batch_size, eval_every=10, progress=False, minutes=None)


def train_under_mpi(tmp_path, task, opts, steps=20, out=None, resume=None):
    """Train under `mpiexec -n 2` (each rank saves its parameters); the ranks hold the same bits."""
    if resume is not None:  # a resumed run keeps its task, model and options
        call = dict(resume=str(resume), steps=steps, progress=False, plot=False)
    else:
        call = run_options(task, opts, steps, out)
    code = TRAIN.replace("CALL", ", ".join(f"{k}={v!r}" for k, v in call.items())).replace("TMP", str(tmp_path))
    r = mpi_run(code, timeout=300)
    assert r.returncode == 0, r.stderr
    ranks = [dict(np.load(tmp_path / f"rank{k}.npz")) for k in range(2)]
    for k in ranks[0]:  # every rank holds the same bits
        assert np.array_equal(ranks[0][k], ranks[1][k]), k
    return ranks[0]


@pytest.mark.parametrize("task,opts", [("addition", {"test_bits": [16], "test_size": 20}),
                                       ("sentiment", {})], ids=["addition", "sentiment"])
def test_two_ranks_train_the_same_model_as_one_process_on_the_whole_batch(tmp_path, task, opts):
    from bptt.train import train
    mpi = train_under_mpi(tmp_path, task, opts)
    one = train(**run_options(task, opts)).model.params
    for k in one:
        err = np.max(np.abs(mpi[k] - one[k])) / np.max(np.abs(one[k]))
        assert err <= 1e-12, (k, err)
    again = train_under_mpi(tmp_path, task, opts)  # two MPI runs: bit-identical
    for k in mpi:
        assert np.array_equal(mpi[k], again[k]), k


def test_a_stateful_run_resumes_exactly_under_mpi(tmp_path, text_file):
    opts = {"text": text_file, "seq_len": 5}
    straight = train_under_mpi(tmp_path, "charlm", opts, steps=20, out=tmp_path / "a")
    train_under_mpi(tmp_path, "charlm", opts, steps=10, out=tmp_path / "b")
    resumed = train_under_mpi(tmp_path, "charlm", opts, steps=20, resume=tmp_path / "b")
    for k in straight:
        assert np.array_equal(straight[k], resumed[k]), k
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["shards"] == [4, 4]


def test_a_failing_rank_stops_the_job_and_the_last_checkpoint_loads(tmp_path):
    r = mpi_run("""
        from bptt import distributed
        from bptt.train import Trainer, train
        real = Trainer.train_step
        def failing(self):
            if self.world.rank == 1 and self.step == 15:
                raise RuntimeError("disk on fire")
            return real(self)
        Trainer.train_step = failing
        train("addition", out="TMP/run", plot=False, steps=40, batch_size=8, eval_every=10, progress=False,
              model_options=dict(hidden_size=4), task_options=dict(test_bits=[16], test_size=10))
    """.replace("TMP", str(tmp_path)), timeout=120)
    assert r.returncode != 0
    assert "rank 1 of 2 failed (RuntimeError: disk on fire)" in r.stderr
    from bptt import checkpoint
    _, meta = checkpoint.load(tmp_path / "run" / "last.npz")
    assert meta["step"] == 10  # the last complete checkpoint, before the failure


# Resuming with another number of processes changes only the order in which the B per-sequence
# terms of each gradient element are added (one BLAS sum over B, or N shard sums added in rank
# order): a float64 reordering error ≤ (B − 1)·2⁻⁵³ ≈ 1e-15 of the terms' magnitude per step;
# over 20 Adam steps of these tiny models it stays far below the bound asserted here.
RESUMED_RTOL = 1e-12


def assert_same_run(resumed: Path, straight: Path):
    """Two run directories at the same step: the same data position and RNG (bitwise), the same
    parameters, optimizer state and carried state (charlm's h, gathered from the shards) to
    RESUMED_RTOL."""
    from bptt import checkpoint
    (a, meta_a), (b, meta_b) = checkpoint.load(resumed / "last.npz"), checkpoint.load(straight / "last.npz")
    assert meta_a["step"] == meta_b["step"]
    assert (meta_a["rng"], meta_a["stream"]) == (meta_b["rng"], meta_b["stream"])  # the same batches next
    assert sorted(a) == sorted(b) and any(k.startswith("state/h") for k in a)
    for k in a:
        assert a[k].shape == b[k].shape, k
        if a[k].dtype.kind != "f":  # the stream's positions
            assert np.array_equal(a[k], b[k]), k
            continue
        err = np.max(np.abs(a[k] - b[k])) / max(np.max(np.abs(b[k])), 1e-300)
        assert err <= RESUMED_RTOL, (k, err)


def test_a_two_process_run_resumes_on_one_process(tmp_path, text_file):
    from bptt.train import train
    opts = {"text": text_file, "seq_len": 5}
    train(**run_options("charlm", opts, steps=20, out=tmp_path / "straight"))
    train_under_mpi(tmp_path, "charlm", opts, steps=10, out=tmp_path / "paused")
    train(resume=tmp_path / "paused", steps=20, progress=False, plot=False)
    assert_same_run(tmp_path / "paused", tmp_path / "straight")
    summary = json.loads((tmp_path / "paused" / "summary.json").read_text())
    assert summary["world_size"] == 1 and summary["shards"] == [8]


def test_a_one_process_run_resumes_on_two_with_uneven_shards(tmp_path, text_file):
    from bptt.train import train
    opts = {"text": text_file, "seq_len": 5}
    train(**run_options("charlm", opts, steps=20, out=tmp_path / "straight", batch_size=7))
    train(**run_options("charlm", opts, steps=10, out=tmp_path / "paused", batch_size=7))
    train_under_mpi(tmp_path, "charlm", opts, steps=20, resume=tmp_path / "paused")
    assert_same_run(tmp_path / "paused", tmp_path / "straight")
    summary = json.loads((tmp_path / "paused" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["shards"] == [4, 3]  # B = 7 does not divide: 4 + 3


CLI = "import sys; from bptt.cli import main; sys.exit(main(ARGS))"


def test_the_cli_trains_under_mpi_and_refuses_more_processes_than_sequences(tmp_path):
    """`mpiexec -n N bptt train` ends with status 0 on every rank; N > B is one clear error, before any
    file is made (a new run) or changed (a resumed one, which then continues with a valid N)."""
    def cli(n, *args):
        argv = ["train", *args, "--no-progress"]
        return mpi_run(CLI.replace("ARGS", repr(argv)), n=n, timeout=120)
    run = tmp_path / "run"
    tiny = ["addition", "--hidden", "4", "--test-bits", "16", "--steps", "4", "--eval-every", "2"]
    r = cli(2, *tiny, "--batch-size", "1", "--out", str(run))
    assert r.returncode == 2 and "bptt: error: batch_size=1 cannot be split over 2 processes" in r.stderr
    assert not run.exists()
    r = cli(2, *tiny, "--batch-size", "2", "--out", str(run))
    assert r.returncode == 0, r.stderr
    assert f"run directory: {run}" in r.stdout
    before = (run / "last.npz").read_bytes()
    r = cli(3, "--resume", str(run), "--steps", "6")
    assert r.returncode == 2 and "bptt: error: batch_size=2 cannot be split over 3 processes" in r.stderr
    assert (run / "last.npz").read_bytes() == before
    r = cli(2, "--resume", str(run), "--steps", "6")
    assert r.returncode == 0, r.stderr
    assert json.loads((run / "summary.json").read_text())["steps"] == 6
