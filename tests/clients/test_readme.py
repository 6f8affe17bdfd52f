"""The README's client examples (the ```python blocks between the examples markers) run against a live service."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FE_4ELT2, data_file

REPO = Path(__file__).resolve().parents[2]


def readme_examples() -> list[tuple[str, str]]:
    text = (REPO / "README.md").read_text()
    start, end = text.find("<!-- examples:start -->"), text.find("<!-- examples:end -->")
    assert 0 <= start < end, "README.md lacks the examples markers"
    section = text[start:end]
    out = []
    for match in re.finditer(r"^### (.+?)$|^```python\n(.*?)^```", section, re.M | re.S):
        if match.group(1):
            title = match.group(1).strip()
        else:
            out.append((title, match.group(2)))
    return out


EXAMPLES = readme_examples()


def test_readme_has_one_example_per_task() -> None:
    titles = [t for t, _ in EXAMPLES]
    assert titles == ["Mirror a sparsifier into my solver", "Replay a dyGRASS stream",
                      "Check my agents' debate graph", "Follow a signed graph's balance as it changes"]


@pytest.mark.parametrize("code", [c for _, c in EXAMPLES], ids=[t for t, _ in EXAMPLES])
def test_readme_example_runs(server, code: str, tmp_path: Path) -> None:  # noqa: ANN001
    if FE_4ELT2.split("/")[-1] in code:
        data_file(FE_4ELT2)
    script = tmp_path / "example.py"
    script.write_text(code)
    env = {**os.environ, "SPARSEWIRE_URL": server.url}
    env.pop("SPARSEWIRE_TOKEN", None)
    proc = subprocess.run([sys.executable, str(script)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip(), "an example should print what it shows"
    if "BalanceEvent" in code:
        assert proc.stdout.startswith("frustrated cycle: ['"), proc.stdout
