"""Benchmark shapes, the shared weights and data, and the analytic FLOP count.

Every implementation gets the same float32 weights and the same batch, made here with
NumPy from a fixed seed, in the notation of docs (design.md), for a cell with G gate blocks
(elman G = 1, lstm G = 4 in torch's order i, f, g, o, gru G = 3 in the order r, z, n):

    U (G·H, D)   W (G·H, H)   b (G·H,)   [gru: bn (H,)]   V (K, H)   c (K,)
    x (T, B, D) float32, or (T, B) int64 token ids;   y (T, B) int64 class ids

b is the library's one bias (torch's bias_ih + bias_hh; for the GRU's n block bias_ih alone,
and bn is bias_hh's n block, which sits inside r ⊙ (…): src/bptt/cells/gru.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Shape:
    name: str
    T: int
    B: int
    H: int
    D: int  # input width; for id inputs, the vocabulary size
    K: int  # output classes
    ids: bool = False  # inputs are int64 token ids (T, B) instead of floats (T, B, D)

    def label(self) -> str:
        kind = f"ids V={self.D}" if self.ids else f"D={self.D}"
        k = "" if self.K == self.D else f" K={self.K}"
        return f"T={self.T} B={self.B} H={self.H} {kind}{k}"

    def asdict(self) -> dict:
        return asdict(self)


# The grid of issue 4. K = D for the char-model shapes.
GRID = [
    Shape("tiny", T=25, B=1, H=100, D=65, K=65),
    Shape("char128", T=100, B=32, H=128, D=65, K=65),
    Shape("char512", T=100, B=32, H=512, D=65, K=65),
    Shape("large", T=100, B=128, H=1024, D=256, K=256),
    Shape("long", T=1000, B=8, H=64, D=16, K=16),
    # word model: 10,000-word vocabulary in (ids) and out ...
    Shape("words_ids", T=50, B=64, H=256, D=10_000, K=10_000, ids=True),
    # ... and the same shape with float inputs of width D = H = 256, for "ids cost no more
    # than float inputs of width H".
    Shape("words_float", T=50, B=64, H=256, D=256, K=10_000),
]
BY_NAME = {s.name: s for s in GRID}


CELLS = ("elman", "lstm", "gru")
GATES = {"elman": 1, "lstm": 4, "gru": 3}  # gate blocks G: U, W, b have G·H rows


def step_flops(s: Shape, cell: str = "elman") -> int:
    """Floating-point operations of one training step, counting only the matrix products
    (a multiply-add is 2 FLOPs; elementwise work, softmax and gathers are not counted).

    Forward:   input projection  x Uᵀ        2·T·B·D·H   (0 for id inputs: a gather)
               recurrence        h_{t-1} Wᵀ  2·T·B·H·H
               output            h Vᵀ        2·T·B·H·K
    Backward:  dV = Σ δoᵀ h                  2·T·B·K·H
               dh = δo V                     2·T·B·K·H
               dW = Σ δ_tᵀ h_{t-1}           2·T·B·H·H
               δ_{t-1} ← δ_t W               2·T·B·H·H
               dU = Σ δ_tᵀ x_t               2·T·B·H·D   (0 for ids: a scatter-add)
    (no gradient with respect to x is needed.)

    forward  = 2·T·B·(D·H + H·H + H·K)
    backward = 2·T·B·(D·H + 2·H·H + 2·H·K)   (about twice the forward)
    total    = 2·T·B·(2·D·H + 3·H·H + 3·H·K)

    Gated cells (G gate blocks): the input and recurrent products are G times as wide
    (x Uᵀ: D×G·H, h Wᵀ: H×G·H, and their backward products likewise), so
    total = 2·T·B·(2·G·D·H + 3·G·H·H + 3·H·K).
    """
    T, B, H, K = s.T, s.B, s.H, s.K
    D = 0 if s.ids else s.D
    G = GATES[cell]
    forward = 2 * T * B * (G * D * H + G * H * H + H * K)
    backward = 2 * T * B * (G * D * H + 2 * G * H * H + 2 * H * K)
    return forward + backward


def make_weights(s: Shape, seed: int = 0, cell: str = "elman") -> dict[str, np.ndarray]:
    """torch's default initialisation, U(-1/√H, 1/√H) for the RNN, U(-1/√H, 1/√H) for the
    Linear(H, K) too (its fan-in is H), from a NumPy generator. (For elman the draws are the
    same as before the cells existed.)"""
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(s.H)
    G = GATES[cell]

    def u(*shape):
        return rng.uniform(-k, k, size=shape).astype(np.float32)

    w = {"U": u(G * s.H, s.D), "W": u(G * s.H, s.H), "b": u(G * s.H), "V": u(s.K, s.H), "c": u(s.K)}
    if cell == "gru":
        w["bn"] = u(s.H)
    return w


def make_data(s: Shape, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if s.ids:
        x = rng.integers(0, s.D, size=(s.T, s.B), dtype=np.int64)
    else:
        x = rng.standard_normal((s.T, s.B, s.D), dtype=np.float32)
    y = rng.integers(0, s.K, size=(s.T, s.B), dtype=np.int64)
    return x, y


PARAM_NAMES = ("U", "W", "b", "V", "c")


def param_names(cell: str = "elman") -> tuple[str, ...]:
    return PARAM_NAMES + (("bn",) if cell == "gru" else ())
LEARNING_RATE = 1e-4  # for --update; small so hundreds of steps stay finite
