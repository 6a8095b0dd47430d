"""The cost of a data-parallel step over N machines: compute plus the gradient's reduction.

    α, β       latency (s) and inverse bandwidth (s/byte) of one message: t(S) = α + β·S, fitted
               to measured times (``fit_alpha_beta``: α from the small messages, β by least
               squares through the large ones)
    S          the reduced buffer: 8 bytes × (1 + number of parameters), float64 (P1 of
               src/bptt/distributed.py: the loss and every gradient in one buffer)
    bptt's reduction (P1, deterministic): rank 0 gathers the N buffers and adds them in rank
               order, then broadcasts the sum. Rank 0's link carries the N − 1 incoming buffers
               one after another; MPICH's broadcast of a large buffer is a scatter + allgather
               (≈ 2 S per link), of a small one a binomial tree (⌈log2 N⌉ messages):
                   T_p1(N) = (N − 1)(α + β S) + min(⌈log2 N⌉ (α + β S), 2 ⌈log2 N⌉ α + 2 β S)
    ring allreduce (Horovod's, for comparison; its summation order depends on the chunking):
                   T_ring(N) = 2 (N − 1) (α + β S / N)
    efficiency  with b sequences per machine (the global batch grows with N: weak scaling) and
               C the measured compute time of one step of b sequences on one machine, with no
               overlap of compute and communication:
                   E(N) = C / (C + T(N))
"""
from __future__ import annotations

import math

import numpy as np


def fit_alpha_beta(sizes, times, small: int = 1024, large: int = 256 * 1024) -> tuple[float, float]:
    """(α, β) of t = α + β·S from measured (S bytes, t seconds): α the mean time of the
    messages of at most ``small`` bytes (where β·S is negligible), β the least-squares slope of
    t − α = β·S through the messages of at least ``large`` bytes (a plain least-squares line
    over sizes spanning 10⁷ lets the large ones set α, even below 0)."""
    S = np.asarray(sizes, dtype=np.float64)
    t = np.asarray(times, dtype=np.float64)
    if S.shape != t.shape or not (S <= small).any() or not (S >= large).any():
        raise ValueError(f"sizes and times: measurements of the same length, some ≤ {small} and some ≥ {large} bytes")
    alpha = float(t[S <= small].mean())
    big = S >= large
    beta = float((S[big] * (t[big] - alpha)).sum() / (S[big] ** 2).sum())
    return alpha, beta


def buffer_bytes(n_params: int) -> int:
    """S: the fused float64 buffer of one step (the loss, then every gradient)."""
    return 8 * (1 + int(n_params))


def t_p1(n: int, S: float, alpha: float, beta: float) -> float:
    """bptt's ordered reduction over n machines: gather to rank 0, then broadcast (docstring)."""
    if n < 2:
        return 0.0
    levels = math.ceil(math.log2(n))
    bcast = min(levels * (alpha + beta * S), 2 * levels * alpha + 2 * beta * S)
    return (n - 1) * (alpha + beta * S) + bcast


def t_ring(n: int, S: float, alpha: float, beta: float) -> float:
    """A ring allreduce over n machines (reduce-scatter + allgather)."""
    return 0.0 if n < 2 else 2 * (n - 1) * (alpha + beta * S / n)


def efficiency(compute_s: float, comm_s: float) -> float:
    """E = C / (C + T): the share of a step spent computing."""
    return compute_s / (compute_s + comm_s)


# Interconnects, as ASSUMED (α, bandwidth): line rates from their standards and vendor data
# sheets, latencies typical of MPI over them (not measured here).
INTERCONNECTS = {
    "1 GbE (TCP)": (50e-6, 125e6),  # IEEE 802.3ab 1 Gb/s; ~50 µs MPI latency over TCP
    "10 GbE (TCP)": (20e-6, 1.25e9),  # IEEE 802.3ae 10 Gb/s
    "25 GbE (TCP)": (15e-6, 3.125e9),  # IEEE 802.3by 25 Gb/s
    "100 Gb/s InfiniBand EDR": (1.0e-6, 12.5e9),  # IBTA EDR 4x: 100 Gb/s; ~1 µs MPI latency
    "200 Gb/s InfiniBand HDR": (0.6e-6, 25e9),  # NVIDIA ConnectX-6 data sheet: 200 Gb/s, 0.6 µs
}


def predict(compute_s: float, n_params: int, machines=(2, 4, 8, 16, 32, 64), links=None) -> list[dict]:
    """E(N) of bptt's reduction and of a ring allreduce, per interconnect and machine count."""
    S = buffer_bytes(n_params)
    rows = []
    for name, (alpha, bandwidth) in (links or INTERCONNECTS).items():
        beta = 1.0 / bandwidth
        for n in machines:
            p1, ring = t_p1(n, S, alpha, beta), t_ring(n, S, alpha, beta)
            rows.append({"link": name, "machines": n, "comm_p1_s": p1, "comm_ring_s": ring,
                         "efficiency_p1": efficiency(compute_s, p1), "efficiency_ring": efficiency(compute_s, ring)})
    return rows
