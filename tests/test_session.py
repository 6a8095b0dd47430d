"""session.py: the BLAS thread count and the progress bar (the rest of the module is exercised by test_train)."""
import ctypes

import numpy as np
import pytest

import bptt


def _openblas_threads():
    """OpenBLAS's own count, read back through its getter (None if NumPy's BLAS is not OpenBLAS)."""
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower()})
    for path in paths:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads"):
            if hasattr(lib, name):
                return getattr(lib, name)()
    return None


def test_set_blas_threads_sets_what_openblas_reports():
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded
    before = _openblas_threads()
    if before is None:
        pytest.skip("NumPy's BLAS here is not OpenBLAS")
    try:
        assert bptt.set_blas_threads(1) is True
        assert _openblas_threads() == 1
    finally:
        bptt.set_blas_threads(before)
    assert _openblas_threads() == before


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError),
                                        (True, TypeError), (None, TypeError), (100_000, ValueError)])
def test_set_blas_threads_rejects_what_is_not_a_positive_integer_up_to_the_cores(bad, error):
    import os

    with pytest.raises(error, match=rf"threads must be an integer in \[1, {os.cpu_count()}\], got"):
        bptt.set_blas_threads(bad)


@pytest.mark.parametrize("steps, minutes, at, done", [
    (100, None, (50, 9999.0), 500),  # steps only: the share of the steps
    (100, 10.0, (50, 60.0), 500),  # both budgets: the one nearer its end
    (100, 10.0, (10, 300.0), 500),
    (1_000_000, 10.0, (40_000, 600.0), 1000),  # charlm's defaults, ended by its minutes
    (400, 10.0, (400, 24.0), 1000),  # `--steps 400` ends a charlm run at 100%, not 4%
])
def test_the_bar_follows_whichever_budget_ends_the_run(steps, minutes, at, done):
    from bptt.session import Bar

    config = bptt.TrainConfig(steps=steps, minutes=minutes, progress=False)
    assert Bar(config, 0, 0.0, "t").done(*at) == done


def test_a_steps_charlm_run_ends_its_bar_at_100_percent(capsys, tmp_path, text_file):
    from bptt import cli

    code = cli.main(["train", "charlm", "--text", text_file, "--steps", "12", "--eval-every", "6", "--batch-size", "4",
                     "--seq-len", "5", "--hidden", "8", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "100%" in err and "step 12/12" in err.replace("\r", "\n")
