"""benchmarks/carry_runs.py: the longest run of carry-passing positions (a_i ≠ b_i), counted by
hand on small cases, and the command's report."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import carry_runs  # noqa: E402


def test_longest_runs_by_hand():
    a = np.array([[1, 0, 1, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]])   # (B=2, T=7)
    b = np.array([[0, 1, 1, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 1]])   # passes: 1101110 and 0000001
    x = np.stack([a.T, b.T], axis=-1)                                 # (T, B, 2)
    assert carry_runs.longest_runs(x).tolist() == [3, 1]


def test_report_names_each_size(capsys):
    carry_runs.main(["--bits", "4", "--sums", "50", "--test-bits", "20"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("training, ≤4-bit numbers: longest run ") and int(out[0].split()[5].rstrip(";")) <= 4
    assert out[1].startswith("test, 20-bit numbers: longest run per sum: median ")
