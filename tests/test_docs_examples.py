"""The Python examples of the docs run, and print the numbers the docs show."""
import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def example(doc: str, heading: str) -> tuple[str, str]:
    """(code, printed text): the first ```python block under ``heading`` and the ```text after it."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    section = text[text.index(heading):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    printed = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    return code, printed


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+\.?\d*", text)]


def test_the_fit_example_prints_what_training_md_shows():
    code, printed = example("training.md", "## Your own arrays: `bptt.fit`")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/training.md", "exec"), {})
    got = out.getvalue()
    assert [line.split()[0] for line in got.splitlines()] == [line.split()[0] for line in printed.splitlines()]
    # float64 throughout: another CPU's BLAS may differ in the last bits, not in 4 printed digits
    assert numbers(got) == pytest.approx(numbers(printed), rel=1e-3)
