"""What a recipe's ``stream`` yields: ``TaskBatch`` minibatches, drawn at random (``Stream``),
by epochs over a fixed set (``EpochStream``) or as consecutive chunks of long tracks
(``ChunkStream``). Each stream saves its position for an exact resume."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class TaskBatch:
    """One minibatch of a task, before the model validates it (``bptt.batch.Batch``):
    x (T, B, D) floats or (T, B) ids, y, mask (None, "last", (T, B)), lengths (B,) or None;
    reset: a stateful stream starts over here (h_0 = 0); extra: task-specific arrays
    (seq2seq's decoder inputs); n_tokens: time steps × sequences, for throughput."""

    x: np.ndarray
    y: np.ndarray
    mask: object = None
    lengths: np.ndarray | None = None
    reset: bool = False
    extra: dict = field(default_factory=dict)

    def shard(self, sl: slice) -> "TaskBatch":
        """The sequences ``sl`` of this batch (a rank's shard, distributed.py): time-major arrays
        are cut on axis 1, per-sequence ones ((B,), and y for mask="last") on axis 0."""
        def cut(a, per_sequence=False):
            return a if a is None or isinstance(a, str) else a[sl] if per_sequence or a.ndim == 1 else a[:, sl]
        last = isinstance(self.mask, str)
        return TaskBatch(cut(self.x), cut(self.y, last), cut(self.mask), cut(self.lengths), self.reset,
                         {k: cut(a) for k, a in self.extra.items()})

    @property
    def n_sequences(self) -> int:
        return self.x.shape[1]

    @property
    def n_tokens(self) -> int:
        if self.lengths is not None:
            return int(np.sum(self.lengths))
        return int(self.x.shape[0] * self.x.shape[1])


class Stream:
    """Minibatches drawn with the trainer's Generator ``rng`` (saved in checkpoints); a stream
    keeps any other position in ``state_dict() -> (arrays, meta)``."""

    def __init__(self, draw, rng):
        self.draw, self.rng = draw, rng

    def next(self) -> TaskBatch:
        return self.draw(self.rng)

    def state_dict(self):
        return {}, {}

    def load_state_dict(self, arrays, meta):
        pass


class EpochStream(Stream):
    """Epochs over n examples: a fresh permutation from ``rng`` each epoch, batches in order;
    ``fetch(indices) -> TaskBatch``. The position and the current permutation are saved."""

    def __init__(self, n, batch_size, rng, fetch):
        self.n, self.batch_size, self.rng, self.fetch = n, batch_size, rng, fetch
        self.perm, self.pos, self.epoch = None, 0, 0

    def next(self) -> TaskBatch:
        if self.perm is None or self.pos >= self.n:
            self.perm, self.pos = self.rng.permutation(self.n), 0
            self.epoch += 1
        idx = self.perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return self.fetch(idx)

    def state_dict(self):
        return ({} if self.perm is None else {"perm": self.perm}), {"pos": self.pos, "epoch": self.epoch}

    def load_state_dict(self, arrays, meta):
        self.perm = arrays.get("perm")
        self.pos, self.epoch = int(meta["pos"]), int(meta["epoch"])


class ChunkStream(Stream):
    """Consecutive chunks of B parallel tracks (charlm.StreamBatcher), epoch after epoch.
    ``reset`` is set on the first chunk of each epoch: the end of a track does not lead into
    its beginning, so the carried state starts over from zeros there."""

    def __init__(self, batcher):
        self.batcher, self.chunk, self.epoch = batcher, 0, 1

    def next(self) -> TaskBatch:
        if self.chunk >= len(self.batcher):
            self.chunk, self.epoch = 0, self.epoch + 1
        T = self.batcher.seq_len
        start = self.chunk * T
        self.chunk += 1
        return TaskBatch(self.batcher.x[start:start + T], self.batcher.y[start:start + T], reset=self.chunk == 1)

    def state_dict(self):
        return {}, {"chunk": self.chunk, "epoch": self.epoch}

    def load_state_dict(self, arrays, meta):
        self.chunk, self.epoch = int(meta["chunk"]), int(meta["epoch"])
