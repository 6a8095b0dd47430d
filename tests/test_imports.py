"""The package's import graph has no cycles, read statically from the source.

Every ``import`` and ``from … import`` in ``src/bptt/**/*.py`` counts, at module level or
inside a function (a lazy import that only dodges a cycle is still a cycle). Only edges between
bptt modules count. ``from P import n`` is an edge to the module ``P.n`` if there is one,
else to ``P`` (a name defined in ``P``); a module's parent packages are not edges of their
own (Python initialises them first, and a module of a package always needs its package).
"""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "bptt"


def module_files(src: Path = SRC) -> dict[str, Path]:
    """Every module of the package: dotted name -> file (a package is its ``__init__.py``)."""
    out = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imported_modules(name: str, path: Path, modules: dict) -> set[str]:
    """The bptt modules that module ``name`` (its file ``path``) imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]  # the package relative imports start from
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import bptt.x.y` names bptt.x.y; a.b.name -> a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the bptt modules it imports."""
    modules = module_files(src)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 30 and "bptt.model" in graph["bptt"]  # the walk found the package
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(
        " <-> ".join(f"{m} (imports {', '.join(sorted(graph[m] & set(c)))})" for m in c) for c in found)


def test_tasks_import_no_model_or_training_module():
    """bptt.tasks is data and metrics only: it imports bptt.tasks modules and leaf helpers
    (validation, sequences, and files: the bounded reads of data files)."""
    graph = import_graph()
    allowed = {"bptt._validate", "bptt.sequences", "bptt.files"}
    for name, imports in graph.items():
        if name.startswith("bptt.tasks"):
            outside = {m for m in imports if not m.startswith("bptt.tasks")} - allowed
            assert not outside, f"{name} imports {sorted(outside)}"


def test_the_cycle_finder_finds_a_cycle_through_a_lazy_relative_import(tmp_path):
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import g\n")
    (pkg / "c.py").write_text("import bptt.a\nimport numpy\n")
    graph = import_graph(tmp_path)
    assert graph["bptt.c"] == {"bptt.a"}
    assert cycles(graph) == [["bptt.a", "bptt.sub.b"]]
