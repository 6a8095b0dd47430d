"""benchmarks/costmodel.py: the arithmetic of the distributed cost model (no timing)."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import costmodel  # noqa: E402


def test_fit_recovers_alpha_and_beta_of_exact_times():
    alpha, beta = 30e-6, 1 / 2e9
    sizes = [8 * 4**k for k in range(12)]
    a, b = costmodel.fit_alpha_beta(sizes, [alpha + beta * s for s in sizes])
    small = [s for s in sizes if s <= 1024]  # 8, 32, 128, 512 bytes: α plus their mean β·S
    assert a == pytest.approx(alpha + beta * sum(small) / len(small), rel=1e-12)
    assert b == pytest.approx(beta, rel=1e-3)
    with pytest.raises(ValueError, match="some ≤ 1024"):
        costmodel.fit_alpha_beta([2048, 4096], [1.0, 2.0])


def test_reduction_times_by_hand():
    S, a, b = 8e6, 1e-5, 1e-9  # 8 MB, 10 µs, 1 GB/s
    assert costmodel.t_p1(1, S, a, b) == 0.0 and costmodel.t_ring(1, S, a, b) == 0.0
    # 2 machines: one gathered buffer, then a broadcast of one level (tree: a + bS beats 2a + 2bS)
    assert costmodel.t_p1(2, S, a, b) == pytest.approx(2 * (a + b * S))
    # 8 machines: 7 buffers into rank 0; a large broadcast as scatter + allgather, 2·3·a + 2bS
    assert costmodel.t_p1(8, S, a, b) == pytest.approx(7 * (a + b * S) + 6 * a + 2 * b * S)
    assert costmodel.t_ring(8, S, a, b) == pytest.approx(14 * (a + b * S / 8))
    assert costmodel.buffer_bytes(999) == 8000


def test_efficiency_and_prediction_rows():
    assert costmodel.efficiency(3.0, 1.0) == 0.75
    rows = costmodel.predict(0.1, 10**6 - 1, machines=(2, 64), links={"x": (0.0, 8e9)})  # S = 8 MB at 8 GB/s
    assert [r["machines"] for r in rows] == [2, 64]
    assert rows[0]["comm_p1_s"] == pytest.approx(2e-3) and rows[0]["efficiency_p1"] == pytest.approx(0.1 / 0.102)
    assert rows[1]["comm_p1_s"] == pytest.approx(63e-3 + 2e-3)
    assert rows[1]["comm_ring_s"] == pytest.approx(2 * 63 * 1e-3 / 64)
    assert all(0 < r["efficiency_ring"] <= 1 and not math.isnan(r["efficiency_p1"]) for r in rows)


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_docs_tables_are_the_committed_results(cell):
    """docs/distributed.md quotes `distributed.py --report` of the committed result files."""
    import json

    import distributed

    root = Path(__file__).resolve().parents[1]
    result = json.loads((root / "benchmarks" / "results" / f"distributed-{cell}.json").read_text())
    doc = (root / "docs" / "distributed.md").read_text()
    for line in distributed.report(result).splitlines():
        assert line in doc, line
