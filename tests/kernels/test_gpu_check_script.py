"""benchmarks/gpu_check.py runs on a CPU-only machine with --cpu-only --quick and writes its JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import DATA, REPO


@pytest.mark.data
def test_gpu_check_cpu_only_quick(tmp_path) -> None:  # noqa: ANN001
    if not (DATA / "G3_circuit.mtx.gz").exists():
        pytest.skip(f"real graph data not found in {DATA}")
    out = tmp_path / "gpu_check.json"
    res = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--cpu-only", "--quick",
                          "--out", str(out)], capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    rep = json.loads(out.read_text())
    assert rep["all_equal"] is None and "cpu-only" in rep["equality_skipped"]
    for name in ("fe_4elt2", "G3_circuit"):
        eq = rep["equality"][name]
        assert eq["insert"]["updates"] >= 1000 and eq["delete"]["updates"] >= 100
        assert 0 < eq["insert"]["found_frac"] < 1
    assert rep["g3_circuit"]["vertices"] == 1_585_478
    assert rep["g3_circuit"]["cpu_insert"]["updates_per_s"] > 0
    assert rep["g3_circuit"]["cpu_delete"]["updates"] > 0
    assert rep["delaunay_like"]["vertices"] == 128 * 128
    assert "gpu_insert" not in rep["g3_circuit"]
