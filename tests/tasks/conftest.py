"""Fixtures for the task tests: the shared data folder (tests skip cleanly without it)."""

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The repository's sibling ``shared/data`` folder; skip the test if it is absent."""
    if not DATA.is_dir():
        pytest.skip(f"shared data folder not found at {DATA}")
    return DATA
