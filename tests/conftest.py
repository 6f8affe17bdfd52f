"""Repository-wide test helpers: locating the shared data checkout (``../shared/data``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Callable[[str], Path]:
    """``shared_data("undirected/fe_4elt2.mtx.gz")`` -> the path under ``../shared/data``; skips the test
    with a clear message when that file (or the whole data checkout) is absent."""

    def get(relative: str) -> Path:
        path = SHARED_DATA / relative
        if not path.exists():
            pytest.skip(f"shared data file not found: {path} (the ../shared/data checkout is absent)")
        return path

    return get
