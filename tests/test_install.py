"""`pip install .` with no extras, as a new user installs it: the installed `bptt` command, run in
a subprocess from a folder outside the repository, trains (with its progress bar and loss.png),
diagnoses, and says in one line where a task's default data is missing; `import bptt` imports
numpy and nothing heavier."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    """(bin folder, work folder) of a fresh venv holding the package installed without extras from
    a copy of the source (pip builds in the source tree: the checkout stays untouched)."""
    root = tmp_path_factory.mktemp("core")
    src = root / "src-copy"
    for name in ("pyproject.toml", "README.md"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "venv", root / "venv"], check=True, timeout=300)
    bin_ = root / "venv" / "bin"
    pip = subprocess.run([bin_ / "pip", "install", "-q", src], capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr
    work = root / "work"
    work.mkdir()
    return bin_, work


def bptt(core, *argv, env_extra=None):
    bin_, work = core
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BPTT_DATA")}
    env.update(env_extra or {})
    return subprocess.run([bin_ / "bptt", *map(str, argv)], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)


def test_core_install_trains_with_bar_and_curves(core):
    p = bptt(core, "train", "--steps", 40, "--eval-every", 20, "--hidden", 4, "--test-bits", 16, "--out", "run")
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "%|" in p.stderr  # tqdm's bar
    run = core[1] / "run"
    assert (run / "loss.png").stat().st_size > 0
    assert p.stdout.strip().splitlines()[-1].endswith("(metrics.jsonl, summary.json, checkpoint.npz, last.npz, "
                                                      "loss.png)")


def test_core_install_diagnoses(core):
    p = bptt(core, "diagnose", "--hidden", 8, "--steps", 20, "--out", "diag")
    assert p.returncode == 0, p.stderr
    assert (core[1] / "diag" / "summary.txt").exists()


def test_core_install_names_missing_default_data(core):
    p = bptt(core, "train", "sentiment", "--steps", 2, "--out", "s")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.startswith("bptt: error: ") and "--data PATH" in p.stderr and "$BPTT_DATA" in p.stderr
    data = REPO.parent / "shared" / "data"
    if not (data / "sentiment").is_dir():
        pytest.skip(f"the shared data folder {data} is not here")
    p = bptt(core, "train", "sentiment", "--steps", 2, "--out", "s", env_extra={"BPTT_DATA": str(data)})
    assert p.returncode == 0, p.stderr


def test_import_bptt_needs_numpy_only(core):
    bin_, work = core
    code = ("import sys, bptt; heavy = {'matplotlib', 'tqdm', 'torch', 'numba', 'mpi4py'} & set(sys.modules); "
            "assert not heavy, heavy")
    p = subprocess.run([bin_ / "python", "-c", code], cwd=work, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
