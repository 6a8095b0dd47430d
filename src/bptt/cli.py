"""The ``bptt`` command: argument parsing and calls into the library, nothing else.

    bptt train [TASK] [options]        train (default task: addition, under a minute)
    bptt train --resume RUN_DIR        continue an interrupted run exactly
    bptt sample CHECKPOINT             generate text from a charlm or wordlm checkpoint
    bptt eval CHECKPOINT               the task's test metrics and baselines for a checkpoint
    bptt translate CHECKPOINT TEXT     a dates (seq2seq) checkpoint: "3rd of March 1999" -> 1999-03-03
    bptt gradcheck                     float64 finite differences vs BPTT on a small random model
    bptt diagnose CHECKPOINT | --cell --init --activation --hidden    vanishing/exploding gradients

Exit status: 0 success; 1 a failed gradient check or a diverged run; 2 bad input (one line
``bptt: error: …`` on stderr); 130 Ctrl-C during training (after saving last.npz).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import warnings
from pathlib import Path

S = argparse.SUPPRESS

# CLI flag -> (option name of the recipe, type, nargs, help). The tasks that accept each are
# read from the recipes' OPTIONS.
TASK_FLAGS = {
    "--bits": ("bits", int, None, "addition: largest operand size in training (32); digits: number size (6)"),
    "--test-bits": ("test_bits", int, "+", "addition: operand sizes to test (16 64 256 1000)"),
    "--length": ("length", int, None, "parity: training stream length (30)"),
    "--test-length": ("test_length", int, None, "parity: test stream length (1000)"),
    "--text": ("text", str, None, "charlm, wordlm: UTF-8 text file to model (first 90%% train, last 10%% validation)"),
    "--seq-len": ("seq_len", int, None, "charlm, wordlm: chunk length T; the gradient is truncated at chunk boundaries"),
    "--vocab-size": ("vocab_size", int, None, "wordlm: the most frequent words kept, with <unk> and <eol> (10000)"),
    "--data": ("data", str, "+", "sentiment: sentence<TAB>label files; timeseries: a date,value CSV file"),
    "--window": ("window", int, None, "timeseries: training window length"),
    "--difference": ("difference", bool, None, "timeseries: model first differences (a series with a trend)"),
    "--season": ("season", int, None, "timeseries: model the differences over P steps too (a pattern repeating "
                                      "every P steps: 12 for monthly data); reports the seasonal-naive baseline"),
}
TRAIN_FLAGS = ("steps", "minutes", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "clip", "clip_value",
               "schedule", "warmup", "eval_every", "patience", "seed", "progress")
MODEL_FLAGS = ("hidden_size", "num_layers", "activation", "init", "bidirectional", "dtype", "cell", "proj_size",
               "forget_bias", "reset_after", "embedding_size", "tie_weights", "learn_h0", "dropout", "variational")


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line like every other error (subcommands inherit it)."""

    def error(self, message):
        self.exit(2, f"bptt: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import cells, recipes
    from .train import OPTIMIZERS, SCHEDULES

    p = _Parser(
        prog="bptt", description="Recurrent networks trained with explicit Backpropagation Through Time (NumPy).",
        epilog="Start with `bptt train`: it teaches a small RNN binary addition on ≤32-bit numbers in seconds "
               "and shows that it adds 1000-bit numbers. `bptt COMMAND --help` for each command.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    tasks = "\n".join(f"  {n:<11}{recipes.REGISTRY[n].summary}" for n in recipes.names())
    t = sub.add_parser(
        "train", help="train a task (default: addition)", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"Train an RNN on a task and write a run directory.\n\ntasks:\n{tasks}",
        epilog="The run directory (--out, default runs/<task>-<time>) holds metrics.jsonl, summary.json, "
               "checkpoint.npz (best), last.npz and loss.png.\nExamples:\n"
               "  bptt train\n  bptt train charlm --text input.txt --minutes 10\n"
               "  bptt train sentiment\n  bptt train --resume runs/charlm-20250101-120000 --steps 20000")
    t.add_argument("task", nargs="?", choices=recipes.names(), metavar="TASK", help="one of the tasks above (default: addition)")
    g = t.add_argument_group("task options (each applies to the tasks named)")
    for flag, (dest, typ, nargs, help_) in TASK_FLAGS.items():
        if typ is bool:
            g.add_argument(flag, dest="task_" + dest, action="store_true", default=S, help=help_)
        else:
            g.add_argument(flag, dest="task_" + dest, type=typ, nargs=nargs, default=S, help=help_,
                           metavar=dest.upper() if typ is int else "PATH")
    g = t.add_argument_group("model (defaults depend on the task)")
    g.add_argument("--hidden", dest="hidden_size", type=int, default=S, metavar="H", help="hidden units")
    g.add_argument("--layers", dest="num_layers", type=int, default=S, metavar="L", help="stacked layers (1)")
    g.add_argument("--activation", default=S, choices=("tanh", "relu", "sigmoid", "identity"), help="hidden f (tanh)")
    g.add_argument("--init", default=S, choices=("uniform", "xavier", "orthogonal", "identity"), help="initialisation (uniform)")
    g.add_argument("--bidirectional", action="store_true", default=S, help="add a reverse direction")
    g.add_argument("--dtype", default=S, choices=("float32", "float64"), help="parameter dtype (float32)")
    g.add_argument("--cell", default=S, choices=tuple(cells.CELLS), help="recurrent cell (elman)")
    g.add_argument("--proj-size", dest="proj_size", type=int, default=S, metavar="P", help="lstm: h_t = W_hr(o ⊙ tanh c_t) of width P")
    g.add_argument("--forget-bias", dest="forget_bias", type=float, default=S, help="lstm: initial forget-gate bias (e.g. 1.0)")
    g.add_argument("--reset-before", dest="reset_after", action="store_false", default=S,
                   help="gru: Cho et al.'s reset before the recurrent product (torch's is after)")
    g.add_argument("--embedding", dest="embedding_size", type=int, default=S, metavar="D", help="token ids go through an embedding of width D")
    g.add_argument("--tie-weights", dest="tie_weights", action="store_true", default=S, help="the head's V is the embedding")
    g.add_argument("--learn-h0", dest="learn_h0", action="store_true", default=S, help="a trainable initial state")
    g.add_argument("--dropout", type=float, default=S, metavar="P", help="dropout on every layer's and the head's input")
    g.add_argument("--variational", action="store_true", default=S, help="one dropout mask per sequence")
    g = t.add_argument_group("training (defaults depend on the task; see summary.json)")
    g.add_argument("--steps", type=int, default=S, help="optimizer steps in total")
    g.add_argument("--minutes", type=float, default=S, help="wall-time budget (training + evaluation)")
    g.add_argument("--batch-size", type=int, default=S, metavar="B")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=S)
    g.add_argument("--lr", type=float, default=S, help="learning rate")
    g.add_argument("--momentum", type=float, default=S, help="for momentum/nesterov (0.9)")
    g.add_argument("--weight-decay", dest="weight_decay", type=float, default=S,
                   help="on the weights, not biases: L2 (sgd, momentum, nesterov, adam) or decoupled (adamw)")
    g.add_argument("--clip", type=float, default=S, help="max global gradient norm; 0 turns clipping off (5)")
    g.add_argument("--clip-value", type=float, default=S, help="clamp each gradient entry to ±this")
    g.add_argument("--schedule", choices=SCHEDULES, default=S, help="learning-rate schedule (constant)")
    g.add_argument("--warmup", type=int, default=S, help="linear warm-up steps (cosine schedule)")
    g.add_argument("--eval-every", type=int, default=S, metavar="N", help="steps between evaluations")
    g.add_argument("--patience", type=int, default=S, help="stop after N evaluations without improvement")
    g.add_argument("--seed", type=int, default=S, help="seed of the initialisation and the data order (0)")
    g.add_argument("--no-progress", dest="progress", action="store_false", default=S, help="no progress bar")
    g.add_argument("--threads", type=int, default=1,
                   help="BLAS threads (1: small RNNs are no faster with more, and much slower on a busy machine)")
    g = t.add_argument_group("run directory")
    g.add_argument("--out", default=S, help="run directory (default runs/<task>-<time>)")
    g.add_argument("--resume", default=S, metavar="RUN", help="continue RUN (a run directory or a .npz) exactly; "
                   "only --steps --minutes --patience --eval-every --no-progress may change")

    s = sub.add_parser("sample", help="generate text from a charlm or wordlm checkpoint")
    s.add_argument("checkpoint", help="a run directory (its best checkpoint) or a .npz")
    s.add_argument("--primer", default=None, help="text the model reads first (default: a newline, or the "
                   "first character of the vocabulary if the text had none)")
    s.add_argument("--length", type=int, default=500, help="characters to generate (500)")
    s.add_argument("--temperature", type=float, default=0.8, help="softmax temperature: <1 safer, >1 wilder (0.8)")
    s.add_argument("--seed", type=int, default=None, help="sampling seed (default: random)")

    e = sub.add_parser("eval", help="test metrics (and baselines) of a checkpoint")
    e.add_argument("checkpoint", help="a run directory (its best checkpoint) or a .npz")
    e.add_argument("--text", default=None, help="charlm, wordlm: evaluate on this text instead of the training file")
    e.add_argument("--data", nargs="+", default=None, help="sentiment/timeseries: other data files")
    e.add_argument("--json", action="store_true", help="print the report as JSON")

    from .tasks import dates

    example = datetime.date(2026, 11, 22)
    tr = sub.add_parser(
        "translate", help="translate dates with a dates (seq2seq) checkpoint",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Translate dates written by people into ISO dates with a trained dates checkpoint. Each date\n"
                    "is read first (any case): one that is not a date of these formats, or not a real day of\n"
                    "1900-2099, is named on stderr and skipped (exit status 2); the others are translated\n"
                    "by the model and printed as 'DATE<tab>ISO', with the right answer after it when\n"
                    "the model is wrong.\n\nformats (for 22 November 2026):\n"
                    + "\n".join(f"  {dates.format_date(example, f)}" for f in dates.FORMATS))
    tr.add_argument("checkpoint", help="a run directory (its best checkpoint) or a .npz")
    tr.add_argument("text", nargs="+", help='one or more dates, e.g. "3rd of March 1999"')

    gc = sub.add_parser("gradcheck", help="float64 finite-difference check of BPTT on a small random model")
    gc.add_argument("--hidden", type=int, default=5)
    gc.add_argument("--input-size", type=int, default=3)
    gc.add_argument("--output-size", type=int, default=4)
    gc.add_argument("--steps", type=int, default=6, help="sequence length T (6)")
    gc.add_argument("--batch", type=int, default=3, help="sequences B (3)")
    gc.add_argument("--layers", type=int, default=1)
    gc.add_argument("--bidirectional", action="store_true")
    gc.add_argument("--cell", default="elman", choices=tuple(cells.CELLS))
    gc.add_argument("--activation", default="tanh", choices=("tanh", "relu", "sigmoid", "identity"))
    gc.add_argument("--output", default="softmax", choices=("softmax", "sigmoid", "identity"))
    gc.add_argument("--seed", type=int, default=0)
    gc.add_argument("--tol", type=float, default=1e-7, help="largest acceptable relative error (1e-7)")

    d = sub.add_parser("diagnose", help="vanishing/exploding gradient report of a checkpoint or a random model",
                       description="With CHECKPOINT: the trained model on a validation batch of its task. "
                                   "Without: a random float64 RNN (--cell --init --activation --hidden) on random data.")
    d.add_argument("checkpoint", nargs="?")
    d.add_argument("--cell", default="elman", choices=("elman", "lstm", "gru"), help="random model: the cell (elman)")
    d.add_argument("--init", default="uniform", choices=("uniform", "xavier", "orthogonal", "identity"))
    d.add_argument("--activation", default="tanh", choices=("tanh", "relu", "sigmoid", "identity"))
    d.add_argument("--hidden", type=int, default=32)
    d.add_argument("--steps", type=int, default=50, help="random model: sequence length (50)")
    d.add_argument("--batch", type=int, default=16, help="random model: sequences (16)")
    d.add_argument("--radius", type=float, default=None, help="random model: rescale W to this spectral radius")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--horizon", type=int, default=20, help="lag the summary extrapolates to (20)")
    d.add_argument("--out", default=None, help="folder for the figures (default: next to the checkpoint, or runs/)")
    return p


# -------------------------------------------------------------------- commands
def _addition_intro(task_opts: dict, model_opts: dict) -> str:
    """What `bptt train` (no task named) is about to do, with the sizes it will use."""
    from . import recipes
    recipe = recipes.REGISTRY["addition"]
    hidden = model_opts.get("hidden_size", recipe.model_defaults["hidden_size"])
    bits, tests = (task_opts.get(k, recipe.OPTIONS[k]) for k in ("bits", "test_bits"))
    *first, last = [f"{n}-" for n in tests]
    sizes = f"{', '.join(first)} and {last}" if first else last
    return (f"bptt: training a {hidden}-unit RNN to add binary numbers, on numbers of at most {bits} bits, "
            f"then testing it on {sizes}bit numbers")


def cmd_train(a) -> int:
    from . import recipes
    from .train import train

    given = vars(a)
    task_opts = {k[5:]: v for k, v in given.items() if k.startswith("task_")}
    model_opts = {k: v for k, v in given.items() if k in MODEL_FLAGS}
    train_opts = {k: v for k, v in given.items() if k in TRAIN_FLAGS}
    if train_opts.get("clip") == 0:
        train_opts["clip"] = None
    if "resume" in given:
        if a.task or set(task_opts) - {"text", "data"} or model_opts or "out" in given:
            raise ValueError("--resume continues a run with its saved task, model and directory; give only --steps, "
                             "--minutes, --patience, --eval-every, --no-progress, or its data again (--text, --data)")
        result = train(resume=given["resume"], task_options=task_opts, **train_opts)
    else:
        task = a.task or recipes.DEFAULT_TASK
        accepted = recipes.REGISTRY[task].OPTIONS
        for flag, (dest, *_) in TASK_FLAGS.items():
            if dest in task_opts and dest not in accepted:
                users = [n for n in recipes.names() if dest in recipes.REGISTRY[n].OPTIONS]
                raise ValueError(f"{flag} is not an option of task {task} (it is for: {', '.join(users)})")
        if task == "addition" and not a.task:
            print(_addition_intro(task_opts, model_opts), flush=True)
        result = train(task, out=given.get("out"), task_options=task_opts, model_options=model_opts, **train_opts)
    s = result.summary
    status = {"diverged": 1, "interrupted": 130}.get(result.status, 0)
    if result.run_dir is None:  # under `mpiexec -n N`, a rank other than 0: rank 0 reports
        return status
    if result.status == "diverged":
        print(f"bptt: {s['error']}", file=sys.stderr)
        print(f"run directory: {result.run_dir.path}", file=sys.stderr)
        return status
    if result.status == "interrupted":
        print(f"bptt: stopped at step {s['steps']}; last.npz saved. Continue exactly with:\n"
              f"  bptt train --resume {result.run_dir.path}", file=sys.stderr)
        return status
    for line in result.recipe.describe(s["final"]):
        print(line)
    best = s["best"]
    how = {"done": "", "early_stop": " (early stop)", "time_limit": " (time limit)"}[result.status]
    print(f"{s['steps']} steps in {s['wall_time_s']:.1f} s{how}; best {best['metric']} = "
          f"{_num(best['value'])} at step {best['step']}")
    from .runs import RUN_FILES

    written = [n for n in RUN_FILES if (result.run_dir.path / n).exists()]
    print(f"run directory: {result.run_dir.path}  ({', '.join(written)})")
    return 0


def _load(path, **overrides):
    """The checkpoint at ``path``: a .npz, or a run directory (its best model, checkpoint.npz)."""
    from .runs import load_state

    path = Path(path)
    if path.is_dir():
        if not (path / "checkpoint.npz").exists():
            raise ValueError(f"{path} is a directory without a checkpoint.npz: give a run directory or a .npz")
        path = path / "checkpoint.npz"
    return load_state(path, options={k: v for k, v in overrides.items() if v is not None})


def cmd_sample(a) -> int:
    recipe, model, _, _ = _load(a.checkpoint)
    if not hasattr(recipe, "sample"):
        raise ValueError(f"sample needs a charlm or wordlm checkpoint; {a.checkpoint} is a {recipe.name} model")
    primer = recipe.default_primer if a.primer is None else a.primer
    text = recipe.sample(model, primer=primer, length=a.length, temperature=a.temperature, seed=a.seed)
    sys.stdout.write(primer + text + ("" if text.endswith("\n") else "\n"))
    return 0


def cmd_eval(a) -> int:
    recipe, model, _, meta = _load(a.checkpoint, text=a.text, data=a.data)
    report = recipe.report(model)
    if a.json:
        print(json.dumps({"task": recipe.name, "step": meta["step"], **report}, indent=2))
    else:
        print(f"{recipe.name} checkpoint at step {meta['step']}:")
        for line in recipe.describe(report):
            print(line)
    return 0


def cmd_translate(a) -> int:
    from .tasks import dates

    recipe, model, _, _ = _load(a.checkpoint)
    if not hasattr(recipe, "translate"):
        raise ValueError(f"translate needs a dates checkpoint; {a.checkpoint} is a {recipe.name} model")
    read = {}  # argument number -> (date, format)
    for i, text in enumerate(a.text, 1):
        try:
            read[i] = dates.read(text)
        except ValueError as exc:
            print(f"bptt: error: date {i} ({text!r}): {exc}", file=sys.stderr)
    outs = recipe.translate(model, [dates.format_date(*df) for df in read.values()]) if read else []
    for (i, (date, _)), out in zip(read.items(), outs):
        right = "" if out == date.isoformat() else f"\t(wrong: {date.isoformat()})"
        print(f"{a.text[i - 1]}\t{out}{right}")
    return 0 if len(read) == len(a.text) else 2


def cmd_gradcheck(a) -> int:
    import numpy as np

    from . import RNN, gradcheck
    from . import _validate as v
    from . import memory

    v.real("--tol", a.tol, 0.0, low_open=True)
    for flag in ("steps", "batch", "hidden", "input_size", "output_size", "layers"):  # numpy's words otherwise
        if getattr(a, flag) < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be an integer ≥ 1, got {getattr(a, flag)}")
    width = a.hidden + a.input_size + a.output_size  # the parameters, their gradient and the checker's copies
    memory.check(f"gradcheck --hidden {a.hidden}", 4 * 8 * a.layers * 2 * float(a.hidden) * width,
                 "choose a smaller --hidden (or --input-size, --output-size)")
    memory.check(f"gradcheck --steps {a.steps} --batch {a.batch}", 64 * float(a.steps) * a.batch * width * a.layers * 2,
                 "choose a smaller --steps or --batch")
    net = RNN(a.input_size, a.hidden, a.output_size, cell=a.cell, activation=a.activation, output=a.output,
              num_layers=a.layers, bidirectional=a.bidirectional, seed=a.seed, dtype=np.float64)
    rng = np.random.default_rng(a.seed + 1)
    x = rng.standard_normal((a.steps, a.batch, a.input_size))
    if a.output == "softmax":
        y = rng.integers(0, a.output_size, size=(a.steps, a.batch))
    else:
        y = rng.random((a.steps, a.batch, a.output_size))
    lengths = rng.integers(1, a.steps + 1, size=a.batch)
    lengths[0] = a.steps
    eps = 1e-5  # gradcheck's default step (gradcheck.py says why); printed below as used
    report = gradcheck(net, x, y, lengths=lengths, eps=eps)
    print(f"{a.cell if a.cell != 'elman' else a.activation} RNN, D={a.input_size} H={a.hidden} K={a.output_size}, layers={a.layers}"
          f"{', bidirectional' if a.bidirectional else ''}, {a.output} head; T={a.steps}, B={a.batch}, "
          f"lengths {lengths.tolist()}; float64 central differences, eps={eps:g}")
    print("parameter  shape        max relative error")
    for name, err in report.items():
        print(f"{name:<10} {str(net.params[name].shape):<12} {err:.2e}")
    worst = max(report.values())
    ok = worst <= a.tol
    print(f"{'ok' if ok else 'FAILED'}: largest error {worst:.2e} {'≤' if ok else '>'} {a.tol:g}")
    return 0 if ok else 1


def cmd_diagnose(a) -> int:
    from . import diagnose_report as diagnostics

    if a.checkpoint is None:
        from . import memory

        for flag in ("hidden", "steps", "batch"):
            if getattr(a, flag) < 1:
                raise ValueError(f"--{flag} must be an integer ≥ 1, got {getattr(a, flag)}")
        # W and its per-lag Jacobians (H × H for each of the --steps lags), the passes
        memory.check(f"diagnose --hidden {a.hidden} --steps {a.steps}", 8.0 * a.hidden * a.hidden * (a.steps + 4)
                     + 64.0 * a.steps * a.batch * a.hidden, "choose a smaller --hidden or --steps")
        name = a.activation if a.cell == "elman" else a.cell
        out = a.out or f"runs/diagnose-{a.init}-{name}-H{a.hidden}"
        text = diagnostics.run_diagnose(out, init=a.init, activation=a.activation, hidden=a.hidden, steps=a.steps,
                                        batch=a.batch, radius=a.radius, seed=a.seed, horizon=a.horizon,
                                        cell=a.cell)
    else:
        recipe, model, _, meta = _load(a.checkpoint)
        if not hasattr(model, "forward"):
            raise ValueError(f"diagnose analyses a single RNN; {a.checkpoint} holds a {type(model).__name__}")
        x, y, mask, lengths = recipe.diagnostic_batch()
        run = Path(a.checkpoint) if Path(a.checkpoint).is_dir() else Path(a.checkpoint).parent
        out = a.out or str(run / "diagnose")  # inside the run directory
        text = diagnostics.diagnose(model, x, y, out, mask=mask, lengths=lengths, horizon=a.horizon,
                                    title=f"{recipe.name} checkpoint, step {meta['step']}: "
                                          + diagnostics.describe(model, x.shape[0], x.shape[1]))
    print(text, end="")
    print(f"figures in {out}")
    return 0


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "translate": cmd_translate,
            "gradcheck": cmd_gradcheck, "diagnose": cmd_diagnose}


def main(argv=None) -> int:
    """Run the command line ``argv`` (default sys.argv[1:]); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or argparse's own one-line usage error (status 2)
        return exc.code if isinstance(exc.code, int) else 0
    from . import distributed
    from .train import set_blas_threads

    if distributed.world().rank:  # under `mpiexec -n N`, rank 0 alone prints (every rank trains)
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 — for the process's life
    try:
        with warnings.catch_warnings():  # a warning is one line too: `bptt: warning: …`
            warnings.showwarning = _warning
            set_blas_threads(getattr(args, "threads", 1))
            return COMMANDS[args.command](args)
    except (ValueError, TypeError) as exc:
        return _error(str(exc))
    except MemoryError:  # an estimate missed: still one line, never a traceback
        return _error(f"out of memory in `bptt {args.command}`; choose smaller sizes")
    except OSError as exc:
        return _error(f"{exc.strerror}: {exc.filename}" if exc.filename and exc.strerror else str(exc))


def _warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"bptt: warning: {message}", file=sys.stderr)


def _error(message: str) -> int:
    print(f"bptt: error: {message}", file=sys.stderr)
    return 2


def _num(v):
    return "n/a" if v is None else f"{v:.4g}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
