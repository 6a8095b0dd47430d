"""The documents cannot drift from the code: quoted code, cited tests and shell commands are checked.

Three rules, each a function below that returns the list of problems it finds (a test asserts
the list is empty, and that the rule looked at something):

1. **Quoted code** (``code_quotes``). A backticked span is a quote of library code when it is
   (a) in the column headed ``code`` of a table in ``docs/*.md`` (derivation.md's
   equation ↔ code tables): every span there is a quote; or
   (b) anywhere else in ``docs/*.md`` or README.md, ASCII, with ``@``, ``=`` or ``(``, and
   attributed to library code in the form "`Qualified.name`: `code`"; or containing a form only the
   implementation writes (`` @ ``, an augmented assignment ``+= -= *= /=``, ``out=``).
   A quote is then one of: a path (``gradients/unrolled.py``), which must exist under
   ``src/bptt/``; a name (``RNN.head_backward``, ``elman._forward_loop``, ``dh``), which must
   be defined in ``src/`` (``A.b``: ``b`` is a def/class/assignment in module ``A.py`` or in
   ``class A``; a bare name occurs as a word); or code, which must occur in one file of
   ``src/`` with all whitespace removed, ``...`` standing for any text. Mathematics
   (``ŷ ⊙ (v − ⟨ŷ, v⟩)``) belongs outside the code column, or unquoted.
2. **Cited tests** (``cited_tests``). Every ``tests/….py`` (and ``tests/…/``) in README.md,
   ``docs/*.md`` and the ``src/`` sources exists; every ``tests/….py::name[::name]`` names a
   function or class defined in that file; every bare backticked ``test_….py`` is a file
   under ``tests/``.
3. **Shell commands** (``shell_commands``). The commands are the lines of ```bash/```sh/
   ```console blocks (all of them), lines of 4-space indented blocks and backticked spans whose
   program is ``bptt``/``python``/``python3``/``pip`` (or a path ending in one), in README.md
   and ``docs/*.md``. Each must parse from the repository root without running anything long:
   the program is repository-relative (no absolute machine path); ``bptt SUB …`` and
   ``python -m bptt SUB …`` go through ``bptt.cli.build_parser().parse_args``; ``python
   SCRIPT …`` needs the script, and, if it uses argparse, its own parser must accept the
   arguments (run in one subprocess with ``parse_args`` stopped right after parsing);
   ``python -c CODE`` compiles; ``pip install -e '.[EXTRA]'`` names extras of pyproject.toml.
   Every argument that is a path inside the repository (``benchmarks/…``, ``docs/…`` …) or in
   ``../shared/`` exists; a bare ``shared/…`` is an error (the data lives beside the
   repository, in ``../shared/``). Placeholders are not paths: upper-case metavariables
   (CHECKPOINT, RUN), ``[optional]`` parts, ``…`` and globs, and ``runs/…`` (a run directory
   an earlier command writes). ``COMMAND`` stands for every subcommand.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bptt import cli

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MARKDOWN = [ROOT / "README.md", *DOCS]
SRC_FILES = sorted((SRC / "bptt").rglob("*.py"))

SPAN = re.compile(r"`([^`]+)`")
NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
PATH = re.compile(r"^[\w./-]+(\.py|/)$")
IMPLEMENTATION_FORM = re.compile(r" @ |[-+*/]= |\bout=")
ATTRIBUTED = re.compile(r"`([A-Za-z_]\w*(\.\w+)+)`(?: \([^)]*\))?:\s*$")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _table_cells(line: str) -> list[str]:
    """The cells of a markdown table row; a ``|`` inside backticks or escaped does not split."""
    cells, cur, in_code = [], "", False
    body = line.strip()[1:-1] if line.strip().endswith("|") else line.strip()[1:]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur += "|"
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append(cur.strip())
            cur = ""
        else:
            cur += ch
        i += 1
    cells.append(cur.strip())
    return cells


def _without_fences(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the prose: fenced blocks left out."""
    out, fenced = [], False
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.append((n, line))
    return out


# -------------------------------------------------------------------------- rule 1: quoted code
def quoted_excerpts(path: Path, text: str) -> list[tuple[str, str]]:
    """(where, span) of every quote of library code in one markdown file (rule 1)."""
    quotes = []
    lines = _without_fences(text)
    code_col = None
    for k, (n, line) in enumerate(lines):
        where = f"{_rel(path)}:{n}"
        if line.startswith("|"):
            cells = _table_cells(line)
            if code_col is None and "code" in cells and k + 1 < len(lines) and lines[k + 1][1].startswith("| ---"):
                code_col = cells.index("code")  # a header row: this table has a code column
                continue
            if code_col is not None and not set(line) <= set("|- :"):
                quotes += [(where, s) for s in SPAN.findall(cells[code_col])] if code_col < len(cells) else []
                prose = " | ".join(c for i, c in enumerate(cells) if i != code_col)
            else:
                prose = line
        else:
            code_col = None
            prose = line
        for m in SPAN.finditer(prose):
            span = m.group(1)
            if not span.isascii() or not re.search(r"[@=(]", span):
                continue
            if IMPLEMENTATION_FORM.search(span) or ATTRIBUTED.search(prose[: m.start()]):
                quotes.append((where, span))
    return quotes


def _defined_in(text: str, name: str) -> bool:
    return re.search(rf"^\s*(def|class)\s+{name}\b|^\s*{name}\s*[:=]", text, re.M) is not None


def _src_texts() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in SRC_FILES}


def check_quote(span: str, sources: dict[Path, str]) -> str | None:
    """None when ``span`` is in the library, else what is wrong with it."""
    if PATH.match(span) and "/" in span or span.endswith(".py"):
        # a bare file name may live in a subpackage (elman.py is src/bptt/cells/elman.py)
        if not ((SRC / "bptt" / span).exists() or (ROOT / span).exists()
                or ("/" not in span and any((SRC / "bptt").rglob(span)))):
            return f"no such file under src/bptt/: {span}"
        return None
    if NAME.match(span):
        parts = span.split(".")
        if len(parts) == 1:
            return None if any(re.search(rf"\b{span}\b", t) for t in sources.values()) else f"{span} occurs nowhere in src/"
        owner, attr = parts[-2], parts[-1]
        for p, t in sources.items():
            module = p.parent.name if p.name == "__init__.py" else p.stem
            if module == owner and _defined_in(t, attr):
                return None
            m = re.search(rf"^class {owner}\b.*?(?=^\S|\Z)", t, re.M | re.S)
            if m and _defined_in(m.group(0), attr):
                return None
        return f"{span}: no {attr} defined in a module or class {owner} of src/"
    pieces = [_squash(p) for p in re.split(r"\.\.\.|…", span)]
    for t in sources.values():
        flat, at = _squash(t), 0
        for piece in pieces:
            at = flat.find(piece, at)
            if at < 0:
                break
            at += len(piece)
        else:
            return None
    return f"not in any file of src/ (whitespace ignored): {span}"


def code_quotes() -> tuple[int, list[str]]:
    sources = _src_texts()
    quotes = [q for p in MARKDOWN for q in quoted_excerpts(p, p.read_text(encoding="utf-8"))]
    problems = [f"{where}: {err}" for where, span in quotes if (err := check_quote(span, sources))]
    return len(quotes), problems


def test_every_quoted_excerpt_of_library_code_is_in_src():
    n, problems = code_quotes()
    assert n >= 40, f"rule 1 found only {n} quotes: the extraction broke"
    assert problems == []


def test_the_quote_rule_catches_a_stale_excerpt():
    """The rule is not vacuous: a table quoting code that changed, and an attributed quote, fail."""
    doc = ("| equation | code |\n| --- | --- |\n"
           "| (L2) | `Head.value_and_grad`: `d_o = exp(log_p)`; `d_o[n, y_n] -= 1` |\n"
           "| (B3) | `rows.T @ dropout.apply(h[:-1], rmask).reshape(T*B, H)`, `Head.nonexistent`, `elman.py` |\n\n"
           "Prose: `Head.value`: `np.dot(w, per_row)` and `net.loss_and_grad(x, y)`.\n")
    sources = _src_texts()
    found = quoted_excerpts(ROOT / "docs" / "x.md", doc)
    assert [s for _, s in found] == ["Head.value_and_grad", "d_o = exp(log_p)", "d_o[n, y_n] -= 1",
                                     "rows.T @ dropout.apply(h[:-1], rmask).reshape(T*B, H)", "Head.nonexistent", "elman.py",
                                     "np.dot(w, per_row)"]
    bad = [s for _, s in found if check_quote(s, sources)]
    assert bad == ["d_o = exp(log_p)", "d_o[n, y_n] -= 1", "Head.nonexistent", "np.dot(w, per_row)"]
    assert check_quote('np.take(..., out=z_in, mode="clip")', sources) is None  # ... is any text
    assert check_quote('np.take(..., out=z_out, mode="clip")', sources) is not None


# -------------------------------------------------------------------------- rule 2: cited tests
TEST_REF = re.compile(r"tests/[\w/]*?(?:[\w]+\.py(?:::\w+)*|/)(?![\w/])|tests/(?=[`)\s,.])")
BARE_TEST_FILE = re.compile(r"`(test_\w+\.py)`")


def cited_tests() -> tuple[int, list[str]]:
    texts = {p: p.read_text(encoding="utf-8") for p in [*MARKDOWN, *SRC_FILES]}
    seen, problems = 0, []
    test_files = {p.name for p in (ROOT / "tests").rglob("test_*.py")}
    for path, text in texts.items():
        for n, line in enumerate(text.splitlines(), 1):
            for ref in TEST_REF.findall(line):
                seen += 1
                file, *names = ref.split("::")
                target = ROOT / file
                if not target.exists():
                    problems.append(f"{_rel(path)}:{n}: {file} does not exist")
                    continue
                body = target.read_text(encoding="utf-8") if target.is_file() else ""
                for name in names:
                    m = re.search(rf"^(\s*)(def|class) {name}\b", body, re.M)
                    if not m:
                        problems.append(f"{_rel(path)}:{n}: {file} defines no {name}")
                        break
                    body = body[m.start():]  # a method is looked up after its class
            for name in BARE_TEST_FILE.findall(line):
                seen += 1
                if name not in test_files:
                    problems.append(f"{_rel(path)}:{n}: no tests/…/{name}")
    return seen, problems




def test_every_cited_test_exists():
    n, problems = cited_tests()
    assert n >= 25, f"rule 2 found only {n} citations: the extraction broke"
    assert problems == []


# -------------------------------------------------------------------------- rule 3: shell commands
PROGRAMS = ("bptt", "python", "python3", "pip")
SHELL_FENCES = ("```bash", "```sh", "```console")


def _is_command(words: list[str]) -> bool:
    words = [w for w in words if not re.match(r"^\w+=", w)]  # VAR=value prefixes
    return bool(words) and words[0].rsplit("/", 1)[-1] in PROGRAMS


def shell_lines(path: Path, text: str) -> list[tuple[str, str]]:
    """(where, command line) of every shell command in one markdown file (rule 3)."""
    out, fence, pending = [], None, ""
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        where = f"{_rel(path)}:{n}"
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else stripped
            continue
        if fence is not None:
            if fence in SHELL_FENCES and stripped and not stripped.startswith("#"):
                pending = f"{pending}\n{line}" if pending else stripped
                try:
                    shlex.split(pending, comments=True)
                except ValueError:  # an open quote: the command goes on
                    continue
                out.append((where, pending))
                pending = ""
            continue
        if line.startswith("    ") and (n == 1 or not lines[n - 2].strip() or lines[n - 2].startswith("    ")):
            try:
                if _is_command(shlex.split(stripped, comments=True)):
                    out.append((where, stripped))
            except ValueError:
                pass
            continue
        for span in SPAN.findall(line):
            try:
                if _is_command(shlex.split(span)):
                    out.append((where + " (inline)", span))
            except ValueError:
                pass
    return out


def _commands(line: str) -> list[list[str]]:
    lex = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lex.whitespace_split, lex.commenters = True, "#"
    cmds = [[]]
    for tok in lex:
        if tok in (";", "&&", "||", "|", "&"):
            cmds.append([])
        else:
            cmds[-1].append(tok)
    return [c for c in cmds if c]


def _placeholder(arg: str) -> bool:
    return (re.fullmatch(r"[A-Z][A-Z_]*", arg) is not None or arg.startswith("[") or "…" in arg or "*" in arg
            or arg.startswith("runs/"))


def _path_problem(arg: str) -> str | None:
    if _placeholder(arg) or "/" not in arg or arg.startswith(("-", "/", "http")):
        return None
    if arg.startswith("shared/"):
        return f"{arg}: the data lives beside the repository, write ../{arg}"
    top = arg.split("/", 1)[0]
    if arg.startswith("../shared/") or (ROOT / top).is_dir():
        return None if (ROOT / arg).exists() else f"{arg} does not exist"
    return None


def _bptt_problem(argv: list[str], inline: bool = False) -> str | None:
    """What ``bptt.cli``'s parser says of ``bptt ARGV``. Inline in prose, ``bptt``, ``bptt SUB``
    and ``bptt SUB --option`` may name a command or an option without its values: then the
    subcommand and the options must exist."""
    argv = [a for a in argv if a != "…" and not (a.startswith("[") and a.endswith("]"))]
    parser = cli.build_parser()
    subs = next(a for a in parser._actions if a.dest == "command").choices
    if inline and (not argv or argv[0] in subs):
        if not argv:
            return None
        known = {o for a in subs[argv[0]]._actions for o in a.option_strings}
        err = _bptt_problem(argv)
        missing = err and ("arguments are required" in err or "expected one argument" in err)
        unknown = [a for a in argv if a.startswith("-") and a not in known]
        return f"bptt {' '.join(argv)}: no option {unknown}" if unknown else (None if missing else err)
    for sub in (subs if argv[:1] == ["COMMAND"] else [None]):
        args = ([sub] + argv[1:]) if sub else argv
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                parser.parse_args(args)
        except SystemExit as e:
            if e.code != 0:
                return f"bptt {' '.join(args)}: {err.getvalue().strip()}"
    return None


SCRIPT_HARNESS = r"""
import argparse, json, runpy, sys
class Parsed(Exception):
    pass
original = argparse.ArgumentParser.parse_args
def parse_args(self, args=None, namespace=None):
    original(self, args, namespace)
    raise Parsed
argparse.ArgumentParser.parse_args = parse_args
results = []
for argv in json.loads(sys.argv[1]):
    sys.argv = argv
    sys.path.insert(0, argv[0].rsplit("/", 1)[0])
    try:
        runpy.run_path(argv[0], run_name="__main__")
        results.append("ran to the end without parsing its arguments")
    except Parsed:
        results.append(None)
    except SystemExit as e:
        results.append(None if e.code in (0, None) else f"exit {e.code}")
    finally:
        sys.path.pop(0)
print(json.dumps(results))
"""


def _python_problem(argv: list[str], scripts: list) -> str | None:
    args = argv[1:]
    if args[:2] == ["-m", "bptt"]:
        return _bptt_problem(args[2:])
    if args[:2] in (["-m", "venv"], ["-m", "pytest"]):
        return None
    if args[:1] == ["-c"]:
        try:
            compile(args[1], "<python -c>", "exec")
        except SyntaxError as e:
            return f"python -c: {e}"
        return None
    if not args or not args[0].endswith(".py"):
        return f"not a form this check knows: {' '.join(argv)}"
    script = ROOT / args[0]
    if not script.is_file():
        return f"{args[0]} does not exist"
    if "argparse" in script.read_text(encoding="utf-8"):
        scripts.append([str(script), *args[1:]])  # parsed below, all in one process
    elif args[1:]:
        return f"{args[0]} takes no arguments, given {args[1:]}"
    return None


def _pip_problem(argv: list[str]) -> str | None:
    extras = set(re.findall(r"^(\w+) = \[", (ROOT / "pyproject.toml").read_text(), re.M))
    for arg in argv:
        m = re.fullmatch(r"\.\[([\w,]+)\]", arg)
        if m and not set(m.group(1).split(",")) <= extras:
            return f"pip install {arg}: pyproject.toml has extras {sorted(extras)}"
    return None


def shell_commands() -> tuple[int, list[str]]:
    problems, scripts, where_of = [], [], []
    commands = [(w, c) for p in MARKDOWN for w, line in shell_lines(p, p.read_text(encoding="utf-8"))
                for c in _commands(line)]
    for where, words in commands:
        words = [w for w in words if not (re.match(r"^[A-Z_]+=", w))]  # environment
        if words[0].rsplit("/", 1)[-1] in ("mpiexec", "mpirun") and words[1:2] in (["-n"], ["-np"]):
            words = words[3:]  # `mpiexec -n N COMMAND …`: the command is checked
        prog = words[0]
        if prog.startswith("/"):
            problems.append(f"{where}: {prog} is a path on one machine; use a repository-relative command")
            continue
        name = prog.rsplit("/", 1)[-1]
        if name == "bptt":
            err = _bptt_problem(words[1:], inline=where.endswith("(inline)"))
        elif name in ("python", "python3"):
            before = len(scripts)
            err = _python_problem(words, scripts)
            where_of += [where] * (len(scripts) - before)
        elif name == "pip":
            err = _pip_problem(words)
        elif name in ("cd", "sha256sum"):
            err = None
        else:
            err = f"not a command this check knows: {' '.join(words)}"
        problems += [f"{where}: {err}"] if err else []
        problems += [f"{where}: {e}" for a in words[1:] if (e := _path_problem(a))]
    if scripts:
        out = subprocess.run([sys.executable, "-c", SCRIPT_HARNESS, json.dumps(scripts)], cwd=ROOT,
                             capture_output=True, text=True, timeout=300,
                             env={**__import__("os").environ, "PYTHONPATH": str(SRC)})
        assert out.returncode == 0, out.stderr
        results = json.loads(out.stdout.strip().splitlines()[-1])
        problems += [f"{w}: {' '.join(a)}: {r}" for w, a, r in zip(where_of, scripts, results) if r]
    return len(commands), problems


def test_every_shell_command_parses_from_the_repository_root():
    n, problems = shell_commands()
    assert n >= 40, f"rule 3 found only {n} commands: the extraction broke"
    assert problems == []


def test_the_command_rule_catches_stale_commands():
    doc = ("```bash\n/work/venv/bin/python benchmarks/step.py --quick\nbptt train --no-such-flag\n"
           "bptt train charlm --text shared/data/tinyshakespeare.txt\n```\n"
           "Run `python benchmarks/gone.py` or `bptt eval CHECKPOINT`.\n")
    found = [c for w, line in shell_lines(ROOT / "docs" / "x.md", doc) for c in _commands(line)]
    assert [c[0] for c in found] == ["/work/venv/bin/python", "bptt", "bptt", "python", "bptt"]
    assert _bptt_problem(["train", "--no-such-flag"]) is not None
    assert _bptt_problem(["eval", "CHECKPOINT"]) is None
    assert _path_problem("shared/data/tinyshakespeare.txt") is not None
    assert _python_problem(["python", "benchmarks/gone.py"], []) == "benchmarks/gone.py does not exist"


# -------------------------------------------------------------------------- docstring examples
def test_optim_module_example_loop_runs_on_the_real_api():
    """optim.py's "Typical loop" is run as written, with a small net and three batches."""
    import numpy as np

    import bptt
    from bptt import optim

    block = optim.__doc__.split("Typical loop::", 1)[1]
    code = "\n".join(line[4:] for line in block.splitlines() if line.startswith("    "))
    rng = np.random.default_rng(0)
    net = bptt.RNN(3, 4, 5, seed=0, dtype=np.float64)
    batches = [(rng.standard_normal((6, 2, 3)), rng.integers(0, 5, size=(6, 2))) for _ in range(3)]
    before = {k: a.copy() for k, a in net.params.items()}
    scope = {**vars(optim), "net": net, "batches": batches}
    exec(compile(code, "optim.__doc__", "exec"), scope)
    assert scope["opt"].step_count == 3  # one Adam step per batch
    assert all(not np.array_equal(before[k], net.params[k]) for k in before)  # every parameter moved
