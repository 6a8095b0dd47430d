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


def train_under_mpi(tmp_path, task, opts, steps=20, out=None, resume=None):
    """Train under `mpiexec -n 2` (each rank saves its parameters); the ranks hold the same bits."""
    if resume is not None:  # a resumed run keeps its task, model and options
        call = dict(resume=str(resume), steps=steps, progress=False)
    else:
        call = dict(task=task, save=out is not None, out=None if out is None else str(out), plot=False,
                    model_options=dict(hidden_size=6, dtype="float64", seed=0), task_options=opts, steps=steps,
                    batch_size=8, eval_every=10, progress=False, minutes=None)
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
    one = train(task, save=False, plot=False, model_options=dict(hidden_size=6, dtype="float64", seed=0),
                task_options=opts, steps=20, batch_size=8, eval_every=10, progress=False, minutes=None).model.params
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
