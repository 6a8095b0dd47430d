"""Each task module's docstring example is what the code produces; public functions are documented."""

import doctest
import inspect
import subprocess
import sys

import pytest

from bptt import tasks


@pytest.mark.parametrize("name", sorted(tasks.TASKS))
def test_module_docstring_example_runs(name):
    module = tasks.TASKS[name]
    examples = doctest.DocTestFinder(recurse=False).find(module)[0].examples
    assert sum(">>>" in line for line in module.__doc__.splitlines()) == len(examples) >= 2
    assert any(example.want.startswith("array(") for example in examples)  # shows encoded arrays
    result = doctest.testmod(module, verbose=False, report=False)
    assert result.failed == 0 and result.attempted >= len(examples)


@pytest.mark.parametrize("name", sorted(tasks.TASKS))
def test_public_api_is_documented(name):
    module = tasks.TASKS[name]
    assert module.__all__
    for attr in module.__all__:
        value = getattr(module, attr)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert inspect.getdoc(value), f"{name}.{attr} has no docstring"
        if inspect.isclass(value):
            for method_name, method in vars(value).items():
                if not method_name.startswith("_") and callable(getattr(value, method_name)):
                    assert inspect.getdoc(getattr(value, method_name)), f"{name}.{attr}.{method_name}"


def test_registry_lists_every_task_module_and_imports_nothing_heavy():
    assert set(tasks.TASKS) == {"addition", "parity", "digits", "charlm", "wordlm", "sentiment", "timeseries", "dates"}
    assert all(module.__name__ == f"bptt.tasks.{name}" for name, module in tasks.TASKS.items())
    code = "import sys, bptt.tasks; print(sorted(m for m in ('torch', 'matplotlib', 'tqdm', 'jax') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
