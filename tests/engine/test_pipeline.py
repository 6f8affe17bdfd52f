"""``sparsewire pipeline``: report consistency against the written files, determinism, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sparsewire.clients.cli import main
from sparsewire.engine.mmio import read_graph, write_matrix_market

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / ".." / "shared" / "data" / "undirected"
REQUIRED = ("n", "m_G", "m_H", "density", "density_initial", "density_after_insert", "kappa_initial",
            "kappa_after_insert", "kappa_after_delete", "components_G", "components_H", "inserted", "added_to_H",
            "deleted", "recovered", "seconds", "insert_updates_per_s", "delete_updates_per_s",
            "walker_steps_per_s", "peak_rss_mb", "backend", "seed", "K", "walkers", "steps")
PHASES = ("read", "h0", "kappa_initial", "insert", "kappa_after_insert", "delete", "kappa_after_delete", "write")


def _real(name: str) -> Path:
    path = DATA / f"{name}.mtx.gz"
    if not path.exists():
        pytest.skip(f"real graph data absent ({path.resolve()}): ../shared/data is not checked out next to the repo")
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40x40 weighted grid with random diagonals, a 6-vertex path (all bridges) and 2 isolated vertices
    (4 components), written as 1-based Matrix Market."""
    rng = np.random.default_rng(7)
    side = 40
    idx = np.arange(side * side).reshape(side, side)
    us = [idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    vs = [idx[:, 1:].ravel(), idx[1:, :].ravel()]
    diag = rng.random((side - 1, side - 1)) < 0.3
    us.append(idx[:-1, :-1][diag])
    vs.append(idx[1:, 1:][diag])
    base = side * side
    us.append(np.arange(base, base + 5))
    vs.append(np.arange(base + 1, base + 6))
    n = base + 6 + 2
    u = np.concatenate(us)
    v = np.concatenate(vs)
    w = rng.integers(1, 6, len(u)).astype(float)
    path = tmp_path_factory.mktemp("gen") / "grid.mtx"
    write_matrix_market(path, n, u, v, w)
    return path


def _run(graph: Path, out: Path, *extra: str, K: str = "20") -> dict:
    rc = main(["pipeline", str(graph), "--K", K, "--insert-frac", "0.25", "--delete-frac", "0.01",
               "--batches", "10", "--seed", "0", "--out", str(out), "--walkers", "128", *extra])
    assert rc == 0
    return json.loads((out / "report.json").read_text())


def _pairs(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> dict[tuple[int, int], float]:
    return dict(zip(zip(u.tolist(), v.tolist(), strict=True), w.tolist(), strict=True))


def _ncomp(n: int, u: np.ndarray, v: np.ndarray) -> int:
    a = sp.csr_array((np.ones(2 * len(u)), (np.r_[u, v], np.r_[v, u])), shape=(n, n))
    return int(connected_components(a, directed=False)[0])


def _check_outputs(graph: Path, out: Path, r: dict) -> None:
    for key in REQUIRED:
        assert key in r, key
    assert set(PHASES) <= set(r["seconds"])
    assert all(t >= 0 for t in r["seconds"].values())
    g0 = read_graph(graph)
    g = read_graph(out / "G.mtx")
    h = read_graph(out / "H.mtx")
    h0 = read_graph(out / "H0.mtx")
    # every file has the input's vertex count and 1-based ids
    assert r["n"] == g0.n == g.n == h.n == h0.n
    assert g.base == h.base == h0.base == 1
    assert r["m_G"] == g.m and r["m_H"] == h.m and r["m_H0"] == h0.m
    assert r["density"] == pytest.approx(h.m / g0.n)
    assert r["density_initial"] == pytest.approx(h0.m / g0.n)
    # H0 ⊆ G0 and H ⊆ G, with equal weights
    gp0, gp, hp, hp0 = _pairs(g0.u, g0.v, g0.w), _pairs(g.u, g.v, g.w), _pairs(h.u, h.v, h.w), _pairs(h0.u, h0.v, h0.w)
    assert all(gp0.get(e) == x for e, x in hp0.items())
    assert all(gp.get(e) == x for e, x in hp.items())
    # edge bookkeeping: G = G0 + insertions (all new edges) - deletions
    assert r["inserted"] == round(0.25 * g0.n)
    assert r["deleted"] == round(0.01 * g0.n)
    assert r["m_G"] == g0.m + r["inserted"] - r["deleted_from_G"]
    assert r["deleted_from_G"] == r["deleted"]  # the stream deletes edges that exist
    assert len(set(gp0) - set(gp)) <= r["deleted"] and len(set(gp) - set(gp0)) <= r["inserted"]
    assert all(gp[e] == x for e, x in gp0.items() if e in gp)  # insertions were new pairs: no merged weights
    assert r["m_H_after_insert"] == r["m_H0"] + r["added_to_H"]
    assert r["m_H"] == r["m_H_after_insert"] - r["deleted_from_H"] + r["recovered"]
    # components: H has exactly G's, as reported
    cg, ch = _ncomp(g.n, g.u, g.v), _ncomp(h.n, h.u, h.v)
    assert r["components_G"] == cg == ch == r["components_H"]
    assert r["components_G0"] == _ncomp(g0.n, g0.u, g0.v) == r["components_H0"]
    for k in ("kappa_initial", "kappa_after_insert", "kappa_after_delete"):
        assert np.isfinite(r[k]) and r[k] >= 1.0 - 1e-6
    assert r["backend"] == "cpu" and r["seed"] == 0 and r["walkers"] == 128 and r["steps"] == 100
    assert r["insert_updates_per_s"] > 0 and r["delete_updates_per_s"] > 0 and r["walker_steps_per_s"] > 0
    assert r["peak_rss_mb"] > 0


def test_real_graph_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = _real("3elt")
    r = _run(graph, tmp_path / "a", K="33")
    _check_outputs(graph, tmp_path / "a", r)
    out = capsys.readouterr().out
    assert "after insertions" in out and "updates/s" in out
    assert 0 < r["added_to_H"] < r["inserted"]


def test_real_graph_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = _real("jagmesh7")
    r1 = _run(graph, tmp_path / "a", "--json", K="33")
    r2 = _run(graph, tmp_path / "b", "--json", K="33")
    printed = capsys.readouterr().out
    assert json.loads(printed[: printed.index("\n}\n") + 2])["m_H"] == r1["m_H"]
    for name in ("H0.mtx", "G.mtx", "H.mtx"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for k in ("m_H", "kappa_initial", "kappa_after_insert", "kappa_after_delete", "added_to_H", "recovered"):
        assert r1[k] == r2[k]
    _check_outputs(graph, tmp_path / "a", r1)


def test_generated_graph_in_process_and_subprocess(generated: Path, tmp_path: Path) -> None:
    r = _run(generated, tmp_path / "inproc")
    _check_outputs(generated, tmp_path / "inproc", r)
    assert r["components_G"] == 4  # grid, path, two isolated vertices
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "sparsewire.clients.cli", "pipeline", str(generated), "--K", "20",
         "--insert-frac", "0.25", "--delete-frac", "0.01", "--batches", "10", "--seed", "0",
         "--out", str(tmp_path / "sub"), "--walkers", "128"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "after deletions" in proc.stdout
    # same seed, another process: byte-identical files
    for name in ("H0.mtx", "G.mtx", "H.mtx"):
        assert (tmp_path / "inproc" / name).read_bytes() == (tmp_path / "sub" / name).read_bytes(), name


def test_other_seed_differs(generated: Path, tmp_path: Path) -> None:
    _run(generated, tmp_path / "s0")
    _run(generated, tmp_path / "s1", "--seed", "1")
    assert (tmp_path / "s0" / "G.mtx").read_bytes() != (tmp_path / "s1" / "G.mtx").read_bytes()


def test_bad_input_exits_2(tmp_path: Path, generated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "o")
    assert main(["pipeline", str(tmp_path / "missing.mtx"), "--K", "10", "--out", out]) == 2
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.mtx"
    bad.write_text("%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n2 1 1.0\n3 x 1.0\n")
    assert main(["pipeline", str(bad), "--K", "10", "--out", out]) == 2
    assert "line 4" in capsys.readouterr().err
    nan = tmp_path / "nan.mtx"
    nan.write_text("%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n2 1 nan\n3 2 1.0\n")
    assert main(["pipeline", str(nan), "--K", "10", "--out", out]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["pipeline", str(generated), "--K", "-1", "--out", out]) == 2
    assert "--K" in capsys.readouterr().err
    assert main(["pipeline", str(generated), "--K", "10", "--batches", "0", "--out", out]) == 2
    assert not (tmp_path / "o" / "report.json").exists()


def test_bad_input_exits_2_subprocess(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sparsewire.clients.cli", "pipeline", str(tmp_path / "nope.mtx"),
                           "--K", "10", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "not found" in proc.stderr


def test_edge_list_ids_are_kept(tmp_path: Path) -> None:
    """An edge list with ids 10, 20, ...: the .mtx files use 1..n and node_ids.txt maps them back."""
    rng = np.random.default_rng(3)
    side = 20
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    lines = ["source,target,weight"] + [f"{10 * (a + 1)},{10 * (b + 1)},{int(x)}"
                                         for a, b, x in zip(u, v, rng.integers(1, 4, len(u)), strict=True)]
    csv = tmp_path / "g.csv"
    csv.write_text("\n".join(lines) + "\n")
    r = _run(csv, tmp_path / "o", K="10")
    assert r["n"] == side * side and r["node_ids_file"] == "node_ids.txt"
    ids = (tmp_path / "o" / "node_ids.txt").read_text().split()
    assert ids == [str(10 * (i + 1)) for i in range(side * side)]
    h = read_graph(tmp_path / "o" / "H.mtx")
    assert h.n == side * side
