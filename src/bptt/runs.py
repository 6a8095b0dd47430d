"""The run directory of ``bptt train`` and the trainer's checkpoints.

A run directory (``--out``, default ``runs/<task>-<YYYYmmdd-HHMMSS>``) holds

    metrics.jsonl    one JSON object per evaluation: step, elapsed_s, lr, train_loss and
                     grad_norm (means since the previous evaluation, gradient norm before
                     clipping), tokens_per_s, and the task's validation metrics (val_*)
    summary.json     status, steps, wall time, the best monitored value and its step, the final
                     report of the task (test metrics and baselines) and the exact
                     configuration: {"task": …, "model": …, "train": …}
    checkpoint.npz   the best model so far (by the task's monitored validation metric)
    last.npz         the latest state (every evaluation, the end of the run, Ctrl-C)
    loss.png         training and validation curves
    .lock            the PID of the process writing the run; flock'ed while it runs (one writer
                     at a time, RunDir.lock), left behind harmlessly when it ends

Both ``.npz`` files are complete training states written by ``bptt.checkpoint.save``
(atomic, checksummed, versioned, loaded with allow_pickle=False):

    param/<name>     the model's parameters (net.params)
    optim/<key>      the optimizer's state buffers (scalars step and lr are in the metadata)
    stream/<key>     the data stream's arrays (e.g. an epoch's permutation)
    state/h          the hidden state carried between chunks (stateful tasks); state/c an LSTM's cell state
    metadata         kind "bptt.train", task, task_options, task_state (e.g. the vocabulary),
                     model_class and model (its config), train (TrainConfig), step, elapsed,
                     optim, schedule, stream, best, bad_evals and rng (the data RNG's state)

so ``bptt sample``/``eval``/``diagnose`` rebuild the task and the model from the file alone.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np

from . import checkpoint, files, memory, recipes
from .files import atomic_write

KIND = "bptt.train"
GROUPS = ("param", "optim", "stream", "state")


def default_run_dir(task: str) -> Path:
    """``runs/<task>-<YYYYmmdd-HHMMSS>`` (with ``-2``, ``-3``… if that exists already)."""
    base = Path("runs") / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


RUN_FILES = ("metrics.jsonl", "summary.json", "checkpoint.npz", "last.npz", "loss.png")  # a run writes these


class RunDir:
    """The files of one run (see the module docstring)."""

    def __init__(self, path):
        self.path = Path(path)
        self._lock = None  # the open .lock file while this process holds the directory

    # ---------------------------------------------------------------- one writer at a time
    def lock(self) -> "RunDir":
        """Hold the run directory for this process: an exclusive ``flock`` on ``.lock`` (the
        file keeps the holder's PID). A second writer (another ``bptt train --out`` or
        ``--resume`` of the same directory) is refused with a ValueError naming the directory
        and the PID. The kernel releases the lock when the holder exits, killed or not, so a
        dead run never blocks its directory. Idempotent; ``unlock`` releases it."""
        if self._lock is not None or os.name != "posix":
            return self
        import fcntl

        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.path / ".lock", flags, 0o644)
        except OSError as exc:
            hint = "" if self.path.is_dir() else "; make a new run directory with RunDir.create(path)"
            raise ValueError(f"cannot lock run directory {self.path}: {exc.strerror} ({self.path / '.lock'}){hint}") \
                from None
        f = os.fdopen(fd, "r+")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = f.read(32).strip() or "unknown"
            f.close()
            raise ValueError(f"run directory {self.path} is in use by another bptt process (PID {holder}); "
                             "wait for it to end or choose another --out") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._lock = f
        return self

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases the flock
            self._lock = None

    @classmethod
    def create(cls, path) -> "RunDir":
        """A new run directory; refuses one that already holds a run."""
        if isinstance(path, str) and not path.strip():
            raise ValueError(f"--out must name a folder, got {path!r}")
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise ValueError(f"--out {path} exists and is not a directory")
        if path.is_dir():
            run = cls(path).lock()  # before looking: a live run's files are not yet all there
        else:
            run = None
        try:
            return cls._create(path, run)
        except BaseException:
            if run is not None:
                run.unlock()
            raise

    @classmethod
    def _create(cls, path, run):
        if (path / "last.npz").exists():
            raise ValueError(f"{path} already holds a run; continue it with --resume {path} or choose another --out")
        found = [f for f in ("metrics.jsonl", "summary.json") if (path / f).exists()]
        if found:  # never overwritten: a user's log is kept even when no checkpoint was reached
            raise ValueError(f"{path} holds {' and '.join(found)} of a run that stopped before its first "
                             "checkpoint, so it cannot be resumed; choose another --out (or remove them)")
        path.mkdir(parents=True, exist_ok=True)
        return run if run is not None else cls(path).lock()

    @classmethod
    def for_resume(cls, path, writer: bool = True) -> tuple["RunDir", Path]:
        """(run directory, checkpoint file) for ``--resume PATH`` (a directory: its last.npz).
        ``writer=False`` (the ranks other than 0 under MPI): the paths only, no lock, nothing
        removed."""
        path = Path(path)
        ckpt = path / "last.npz" if path.is_dir() else path
        if not ckpt.exists():
            hint = " (the run stopped before its first checkpoint: start it again with a new --out)" \
                if path.is_dir() and (path / "metrics.jsonl").exists() else ""
            raise FileNotFoundError(f"nothing to resume: {ckpt} does not exist{hint}")
        if not writer:
            return cls(ckpt.parent), ckpt
        run = cls(ckpt.parent).lock()  # a live run's temporary files are its own: never removed
        links = [n for n in RUN_FILES if (ckpt.parent / n).is_symlink()] + ([ckpt.name] if ckpt.is_symlink() else [])
        if links:
            run.unlock()
            raise ValueError(f"run directory {ckpt.parent}: {', '.join(sorted(set(links)))} is a symbolic link; a run "
                             "reads and writes only its own regular files (put the file itself there)")
        for name in RUN_FILES:
            for stale in ckpt.parent.glob(f".{name}.*.tmp"):  # a killed run's unfinished write
                stale.unlink(missing_ok=True)
        return run, ckpt

    # ---------------------------------------------------------------- metrics.jsonl
    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def append_metrics(self, row: dict) -> None:
        """One row at the end of metrics.jsonl, never through a link (O_NOFOLLOW)."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.metrics_path, flags, 0o644)
        except OSError as exc:
            raise ValueError(f"cannot append to {self.metrics_path}: {exc.strerror}") from None
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(json.dumps(_clean(row)) + "\n")

    def read_metrics(self, upto: int | None = None) -> list[dict]:
        """The rows of metrics.jsonl; with ``upto``, rows after that step are dropped from the
        file too (a resumed run rewrites the evaluations it is about to repeat)."""
        if not self.metrics_path.exists():
            return []
        path = self.metrics_path
        data = files.read_bytes(path)
        lines = data.split(b"\n")
        torn = lines[-1] != b""  # no final newline: a kill mid-append left part of the last row
        rows, previous = [], -1
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                if torn and number == len(lines):
                    break  # dropped (and rewritten away below): the next append starts a clean line
                raise ValueError(f"{path}, line {number}: not a JSON object ({exc}); expected one row per line") from None
            step = row.get("step") if isinstance(row, dict) else None
            if not _count(step) or step <= previous:
                raise ValueError(f"{path}, line {number}: expected an object with an integer 'step' greater than "
                                 f"the previous row's ({previous}), got {str(row)[:60]}")
            previous = step
            rows.append(row)
        keep = rows if upto is None else [r for r in rows if r["step"] <= upto]
        if upto is not None and (torn or len(keep) < len(rows)):
            atomic_write(path, "".join(json.dumps(r) + "\n" for r in keep))
        return keep

    # ---------------------------------------------------------------- summary, plot
    def finished_step(self) -> int | None:
        """The step at which summary.json says the run finished (done, early stop, time limit);
        None when it has no summary or an interrupted, diverged or unreadable one."""
        try:
            s = json.loads(files.read_bytes(self.path / "summary.json", 1 << 20))
        except (OSError, ValueError):
            return None
        if not isinstance(s, dict) or s.get("status") not in ("done", "early_stop", "time_limit"):
            return None
        return s.get("steps") if isinstance(s.get("steps"), int) else None

    def write_summary(self, summary: dict) -> None:
        atomic_write(self.path / "summary.json", json.dumps(_clean(summary), indent=2) + "\n")

    def plot(self, task: str) -> Path | None:
        """loss.png from metrics.jsonl, titled with the ``task`` and the run's folder name; None
        (and no file) without rows."""
        from . import plots  # here, not at the top: `import bptt` does not import matplotlib

        rows = self.read_metrics()
        if not rows:
            return None
        plots.training_curves(rows, self.path / "loss.png", title=f"{task}: {self.path.resolve().name}")
        return self.path / "loss.png"


# -------------------------------------------------------------------- checkpoints
def save_state(path, trainer, state=None) -> None:
    """Write the trainer's complete state to ``path`` (see the module docstring); ``state``:
    ``trainer.state()`` already taken (under MPI it is a collective)."""
    groups, meta = trainer.state() if state is None else state
    arrays = checkpoint.with_prefix("param/", trainer.model.params)
    for group in ("optim", "stream", "state"):
        arrays.update(checkpoint.with_prefix(group + "/", groups[group]))
    recipe = trainer.recipe
    meta = {"kind": KIND, "task": recipe.name, "task_options": recipe.options,
            "task_state": recipe.state(), "model_class": type(trainer.model).__name__,
            "model": trainer.model.config, "rng": checkpoint.rng_to_meta(trainer.rng),
            "data_sha256": trainer.data_digests(), **meta}
    checkpoint.save(path, arrays, meta)


def load_state(path, model=None, options=None, recipe=None, into=None, resume=False):
    """Read a trainer checkpoint.

    With ``model``: copy the saved parameters into it and return None. Without: return
    (recipe, model, groups, meta), the recipe and the model rebuilt from the metadata, the
    arrays grouped by prefix (``groups["optim"]`` …) and the metadata. ``options``: task
    options to change (e.g. another text file to evaluate on). ``recipe``: the caller's own
    recipe (bptt.fit's arrays), used if its name and state match the checkpoint's; ``into``:
    the caller's model, loaded if its class and config match."""
    arrays, meta = checkpoint.load(path)
    if meta.get("kind") != KIND:
        raise ValueError(f"{path} is a checkpoint but not one written by `bptt train` (kind {meta.get('kind')!r})")
    _check_meta(path, meta)
    groups = {g: checkpoint.take_prefix(g + "/", arrays) for g in GROUPS}
    if model is not None:
        model.set_params(groups["param"])
        return None
    keys = recipe.data_options if recipe is not None else _data_options(meta["task"])
    _check_data_files(path, meta, options or {}, keys)
    if resume:  # data given again to continue a run must be, byte for byte, what it was trained on
        for key, digests in _data_digests(options or {}, keys).items():
            if (meta.get("data_sha256") or {}).get(key) != digests:
                raise ValueError(f"--{key} {options[key]}: not the data checkpoint {path} was trained on (sha256 "
                                 "differs); a resumed run continues on the same data")
    if recipe is None:  # a checkpoint's options are held to the sizes the CLI's are (memory.py)
        memory.check_task(meta["task"], {**meta["task_options"], **(options or {})}, meta["train"].get("batch_size"),
                          meta["model"])
        recipe = recipes.from_meta({**meta, "task_options": {**meta["task_options"], **(options or {})}})
    elif meta["task"] != recipe.name:
        raise ValueError(f"checkpoint {path} is a run of task {meta['task']!r}, the recipe passed is {recipe.name!r}")
    elif [meta["task_options"], meta["task_state"] or {}] != _as_json([recipe.options, recipe.state() or {}]):
        raise ValueError(f"checkpoint {path} was trained on other data or options (task {meta['task']!r}: its "
                         "options or state() differ, e.g. the sha256 of bptt.fit's arrays): resume it with the "
                         "same recipe options, x, y, lengths and validation")
    if into is None:
        model = recipe.model_from_config(meta["model_class"], meta["model"])
    elif (type(into).__name__, into.config) != (meta["model_class"], meta["model"]):
        raise ValueError(f"checkpoint {path} holds a {meta['model_class']} with config {meta['model']}; "
                         f"the model passed is a {type(into).__name__} with config {into.config}")
    else:
        model = into
    model.set_params(groups["param"])
    return recipe, model, groups, meta


_META = {"task": str, "task_options": dict, "task_state": (dict, type(None)), "model_class": str, "model": dict,
         "train": dict, "step": int, "elapsed": (int, float), "optim": dict, "schedule": (dict, type(None)),
         "stream": dict, "best": dict, "bad_evals": int, "rng": dict}


def check_same_run(run_dir: RunDir, ckpt: Path, meta: dict) -> None:
    """Refuse to resume, into ``run_dir``, a checkpoint of another run (it would merge two runs'
    metrics and overwrite this run's best checkpoint): its task, task options and model must be
    those of the directory's own last.npz or, without one, its summary.json."""
    last = run_dir.path / "last.npz"
    if last.exists() and last.resolve() != ckpt.resolve():
        mine, where = checkpoint.load(last)[1], last
        mine = (mine.get("task"), mine.get("task_options"), mine.get("model"))
    elif not last.exists() and (run_dir.path / "summary.json").is_file():
        where = run_dir.path / "summary.json"
        try:
            s = json.loads(files.read_bytes(where, 1 << 20))
            mine = (s["task"], s["config"]["task"], s["config"]["model"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{where} is not a run summary ({exc!r}); cannot tell which run this directory holds") \
                from None
    else:
        return
    if _as_json(list(mine)) != _as_json([meta["task"], meta["task_options"], meta["model"]]):
        raise ValueError(f"checkpoint {ckpt} is of another run than {run_dir.path} (task {meta['task']!r}; {where.name} "
                         f"says task {mine[0]!r}, its options or model differ): resume it in its own directory")


def _as_json(obj):
    """``obj`` as a checkpoint's metadata holds it (tuples become lists)."""
    return json.loads(json.dumps(obj))


def _data_options(task: str) -> tuple:
    """The options of the built-in ``task`` that name data files (charlm's text; sentiment's and
    timeseries' data); () for a task of your own (its recipe says, when passed)."""
    cls = recipes.REGISTRY.get(task)
    return () if cls is None else cls.data_options


def _data_digests(options: dict, keys) -> dict:
    """{option: [sha256 of each file it names]} for the options ``keys`` (a recipe's data_options)."""
    digests = {}
    for key in keys:
        paths = options.get(key)
        if paths is not None:
            digests[key] = [_sha256(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    return digests


def _sha256(path) -> str:
    """Streamed, of regular files only, at most files.max_data_bytes() (files.sha256)."""
    try:
        return files.sha256(path)
    except OSError as exc:
        raise ValueError(f"cannot read data file {path}: {exc.strerror}") from None


def _check_data_files(path, meta: dict, overrides: dict, keys) -> None:
    """A path stored in a checkpoint is read again only if the file there is, byte for byte,
    the one the run was trained on (its sha256 was saved with the run): a hand-made checkpoint
    cannot make `bptt eval` or `--resume` read any other file. Paths given anew on the command
    line (``overrides``) are the user's own and are not checked; a stored path where no file
    is any more is not read at all (sampling needs only the checkpoint)."""
    stored = {k: meta["task_options"].get(k) for k in keys
              if k not in overrides and meta["task_options"].get(k) is not None}
    stored = {k: p for k, p in stored.items()
              if any(Path(q).exists() for q in ([p] if isinstance(p, str) else p))}
    if not stored:
        return
    expected = meta.get("data_sha256")
    if not isinstance(expected, dict):
        raise ValueError(f"checkpoint {path} names data files but holds no 'data_sha256' to check them by")
    for key, digests in _data_digests(stored, keys).items():
        if expected.get(key) != digests:
            raise ValueError(
                f"checkpoint {path}: the file(s) its --{key} names ({stored[key]}) are not the ones it was "
                f"trained on (sha256 differs); give the data again with --{key} PATH")


def _check_meta(path, meta: dict) -> None:
    """Every metadata key save_state writes, with the type it writes (the checksum proves
    integrity, not that the file came from save_state): one ValueError naming the key."""
    for key, types in _META.items():
        value = meta.get(key)
        if not isinstance(value, types) or isinstance(value, bool) or (types is int and value < 0):
            what = f"no {key!r}" if key not in meta else f"an invalid {key!r} ({value!r:.40})"
            raise ValueError(f"checkpoint {path} has {what} in its metadata")
    if _depth(meta) > MAX_DEPTH:
        raise ValueError(f"checkpoint {path} has metadata nested more than {MAX_DEPTH} levels deep")
    if set(meta["best"]) != {"metric", "mode", "value", "step"}:
        raise ValueError(f"checkpoint {path} has an invalid 'best' in its metadata (expected the keys "
                         "metric, mode, value, step)")

    def bad(field, value, want):
        raise ValueError(f"checkpoint {path} has an invalid {field!r} in its metadata ({value!r:.40}); expected {want}")

    if not math.isfinite(meta["elapsed"]) or meta["elapsed"] < 0:
        bad("elapsed", meta["elapsed"], "a finite number of seconds ≥ 0")
    best = meta["best"]
    if not isinstance(best["metric"], str):
        bad("best.metric", best["metric"], "a metric name")
    if best["mode"] not in ("min", "max"):
        bad("best.mode", best["mode"], "'min' or 'max'")
    if best["value"] is not None and not _finite(best["value"]):
        bad("best.value", best["value"], "a finite number or null")
    if best["step"] is not None and not (_count(best["step"]) and best["step"] <= meta["step"]):
        bad("best.step", best["step"], f"an integer in [0, step={meta['step']}] or null")
    if (best["value"] is None) != (best["step"] is None):
        bad("best", best, "value and step both null or both set")
    window = meta.get("window")
    if not isinstance(window, dict) or set(window) != {"n", "loss", "norm", "tokens", "ema"}:
        bad("window", window, "an object with the keys n, loss, norm, tokens, ema")
    for key in ("n", "tokens"):
        if not _count(window[key]):
            bad(f"window.{key}", window[key], "an integer ≥ 0")
    for key in ("loss", "norm", "ema"):
        if not _finite(window[key]) and not (key == "ema" and window[key] is None):
            bad(f"window.{key}", window[key], "a finite number")
    for key, value in meta["stream"].items():
        if not _count(value):
            bad(f"stream.{key}", value, "an integer ≥ 0")
    rng = meta["rng"]
    if not isinstance(rng.get("bit_generator"), str) or not isinstance(rng.get("state"), dict):
        bad("rng", rng, "an RNG state (bit_generator, state)")


MAX_DEPTH = 32  # what save_state writes is at most 5 levels deep


def _depth(obj) -> int:
    """The nesting depth of JSON data, without recursion (a hostile file may nest deeply)."""
    depth, level = 0, [obj]
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return depth
        level = [v for o in level if isinstance(o, (dict, list)) for v in (o.values() if isinstance(o, dict) else o)]
        level = [v for v in level if isinstance(v, (dict, list))]
    return depth


def _count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_stream(path, stream, arrays: dict, meta: dict) -> None:
    """A checkpoint's stream state against a fresh stream of its recipe: the same keys, and a
    permutation (``perm``) of exactly the stream's examples."""
    fresh_arrays, fresh_meta = stream.state_dict()
    if set(meta) != set(fresh_meta):
        raise ValueError(f"checkpoint {path} has an invalid 'stream' in its metadata ({meta!r:.40}); expected "
                         f"the keys {', '.join(sorted(fresh_meta)) or 'none'}")
    allowed = {"perm"} if hasattr(stream, "perm") else set()
    if set(arrays) - allowed:
        raise ValueError(f"checkpoint {path} has unexpected stream arrays {sorted(set(arrays) - allowed)}")
    if "perm" in arrays:
        perm = arrays["perm"]
        if perm.dtype.kind not in "iu" or perm.shape != (stream.n,) or \
                not np.array_equal(np.sort(perm), np.arange(stream.n)):
            raise ValueError(f"checkpoint {path} has an invalid array 'stream/perm' (dtype {perm.dtype}, shape "
                             f"{perm.shape}); expected a permutation of the {stream.n} training examples")


def _clean(obj):
    """JSON-safe copy: non-finite floats become None, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
