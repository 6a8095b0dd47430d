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


def test_the_recipe_example_trains_and_resumes_exactly_without_registration(tmp_path, monkeypatch):
    import numpy as np

    import bptt
    from bptt import recipes
    from bptt.runs import load_state

    code, printed = example("training.md", "## Your own task: a `Recipe`")
    monkeypatch.chdir(tmp_path)
    out, space = io.StringIO(), {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/training.md", "exec"), space)
    got = out.getvalue()
    assert [line.split()[:2] for line in got.splitlines()] == [line.split()[:2] for line in printed.splitlines()]
    assert numbers(got) == pytest.approx(numbers(printed), rel=1e-3)
    Majority = space["Majority"]
    assert "majority" not in recipes.names()  # nothing was registered
    # the resumed run is the uninterrupted 600-step run, bit for bit
    whole = bptt.train(Majority(), out=tmp_path / "whole", steps=600, progress=False)
    _, resumed, _, _ = load_state(tmp_path / "runs" / "majority" / "last.npz", recipe=Majority())
    _, straight, _, _ = load_state(tmp_path / "whole" / "last.npz", recipe=Majority())
    assert all(np.array_equal(resumed.params[k], straight.params[k]) for k in straight.params)
    assert whole.summary["steps"] == 600
    # resuming needs the recipe, with the same options; the CLI says what to do instead
    with pytest.raises(ValueError, match=r"not a built-in task .*bptt\.train\(YourRecipe\(\.\.\.\), resume=RUN\)"):
        bptt.train(resume=tmp_path / "whole", steps=700, progress=False)
    with pytest.raises(ValueError, match="options or state"):
        bptt.train(Majority(n=1000), resume=tmp_path / "whole", steps=700, progress=False)
    with pytest.raises(ValueError, match="is a run of task 'majority', the recipe passed is 'addition'"):
        bptt.train(recipes.make("addition"), resume=tmp_path / "whole", steps=700, progress=False)
    from bptt import cli
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["eval", str(tmp_path / "whole")]) == 2
    assert err.getvalue().startswith("bptt: error: task 'majority' is not a built-in task")
