r"""Data-parallel training over MPI (mpi4py): one model, the batch split across processes.

Launch any training under ``mpiexec -n N`` (``bptt train …`` or a script calling ``bptt.fit`` /
``Trainer``); ``world()`` sees the N processes (ranks) and the trainer does, at every step:

    shard      the global batch of B sequences is split into N contiguous, rank-ordered
               shards (sizes differ by at most one: ``shard_slices``); rank r computes the
               gradient of its shard, SUM-reduced: B_r · ∂L_r/∂θ with L_r its shard's mean loss
    reduce     every rank's sums travel in ONE fused float64 buffer [B_r·L_r, B_r·g_1, …];
               rank 0 gathers the N buffers and adds them in rank order (0, 1, …, N − 1),
               whatever reduction algorithm MPI would have picked, and broadcasts the total;
               every rank divides by B: the mean over the global batch, the same bits on
               every rank                                                             (P1)
    step       the NaN guard, clipping and the optimizer step then run on identical
               numbers on every rank, so the parameters stay bit-identical

Parameters, optimizer state, data order and every RNG come from rank 0 at the start and on
resume (``broadcast``); rank 0 alone prints and writes the run directory. A rank that raises
stops the whole job (``abort_on_error``: MPI_Abort, so no rank waits forever in a collective).

Without mpi4py, or with one process, ``world()`` is a ``World`` of size 1 whose operations are
the identity: the trainer calls them unconditionally and runs unchanged.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager

import numpy as np


class World:
    """One process (size 1): every collective is the identity."""

    rank, size = 0, 1

    def reduce_sum(self, buffer: np.ndarray) -> np.ndarray:
        """Σ over ranks, in rank order, of each rank's float64 ``buffer`` (P1)."""
        return buffer

    def broadcast(self, obj):
        """Rank 0's ``obj`` (any picklable value: arrays, dicts of arrays, JSON) on every rank."""
        return obj

    def gather(self, obj) -> list | None:
        """[obj of rank 0, obj of rank 1, …] on rank 0; None elsewhere."""
        return [obj]

    def barrier(self) -> None:
        pass

    def abort(self, code: int = 1) -> None:
        raise SystemExit(code)


class MPIWorld(World):
    """The processes of ``MPI.COMM_WORLD``."""

    def __init__(self, comm):
        self.comm = comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()

    def reduce_sum(self, buffer):
        buffer = np.ascontiguousarray(buffer, dtype=np.float64)
        parts = np.empty((self.size, buffer.size)) if self.rank == 0 else None
        self.comm.Gather(buffer, parts, root=0)
        total = np.empty_like(buffer)
        if self.rank == 0:
            total[:] = parts[0]
            for r in range(1, self.size):  # a fixed order: the same bits whatever the network
                total += parts[r]
        self.comm.Bcast(total, root=0)
        return total

    def broadcast(self, obj):
        return self.comm.bcast(obj, root=0)

    def gather(self, obj):
        return self.comm.gather(obj, root=0)

    def barrier(self):
        self.comm.Barrier()

    def abort(self, code=1):
        self.comm.Abort(code)


# set by the launchers (MPICH/hydra, Open MPI, PMIx): without one, this process is alone and
# mpi4py is not imported at all (no MPI start-up in ordinary runs)
LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")


def world() -> World:
    """The MPI world when this process was started by mpiexec with mpi4py installed (the
    ``bptt[mpi]`` extra), else a one-process ``World``."""
    if not any(v in os.environ for v in LAUNCHER_VARIABLES):
        return World()
    try:
        from mpi4py import MPI
    except ImportError:
        return World()
    comm = MPI.COMM_WORLD
    return MPIWorld(comm) if comm.Get_size() > 1 else World()


def shard_slices(B: int, size: int) -> list[slice]:
    """Contiguous, rank-ordered shards of B sequences over ``size`` ranks; the first B % size
    ranks take one more. Every rank needs at least one sequence."""
    if B < size:
        raise ValueError(f"batch_size={B} cannot be split over {size} processes: each needs at least "
                         f"one sequence; use a batch size ≥ {size} (ideally a multiple of it)")
    base, extra = divmod(B, size)
    bounds = np.cumsum([0] + [base + (r < extra) for r in range(size)])
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def fused_mean(world: World, loss: float, grads: dict, n: int, total: int) -> tuple[float, dict]:
    """(P1): this rank's mean loss and gradients over its ``n`` sequences -> the means over all
    ``total`` sequences, every rank getting the same bits. ``grads`` keeps its keys, shapes and
    dtypes; one float64 buffer crosses the network."""
    keys = list(grads)
    sizes = [grads[k].size for k in keys]
    buffer = np.empty(1 + sum(sizes))
    buffer[0] = loss * n
    offset = 1
    for k, size in zip(keys, sizes):
        np.multiply(grads[k].reshape(-1), n, out=buffer[offset:offset + size], dtype=np.float64)
        offset += size
    summed = world.reduce_sum(buffer) / total
    out, offset = {}, 1
    for k, size in zip(keys, sizes):
        out[k] = summed[offset:offset + size].reshape(grads[k].shape).astype(grads[k].dtype)
        offset += size
    return float(summed[0]), out


def take_shard(state, sl: slice):
    """Rank r's part of a batch-wide array (L, B, H) or state pair: the sequences ``sl`` (axis 1)."""
    if state is None:
        return None
    return tuple(a[:, sl] for a in state) if isinstance(state, tuple) else state[:, sl]


def gather_shards(world: World, state):
    """The batch-wide state on rank 0 from every rank's shard (axis 1, rank order); None elsewhere.
    A collective: every rank calls it."""
    parts = world.gather(state)
    if parts is None or parts[0] is None:
        return None
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p, axis=1) for p in zip(*parts))
    return np.concatenate(parts, axis=1)


@contextmanager
def abort_on_error(world: World):
    """Any exception on one rank ends every rank (MPI_Abort) after printing it with the rank:
    a collective never waits for a rank that has died."""
    try:
        yield
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 — every failure must end the whole job
        if world.size == 1:
            raise
        print(f"bptt: rank {world.rank} of {world.size} failed ({type(exc).__name__}: {exc}); "
              "stopping every rank", file=sys.stderr, flush=True)
        world.abort(1)
