"""``sparsewire load/replay/subscribe/export/info/quality`` against a real service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparsewire.clients.cli import main
from sparsewire.clients.cli_remote import read_ops
from sparsewire.clients.sdk import Client
from sparsewire.engine.mmio import read_graph
from sparsewire.store.embedded import free_port

from .conftest import FE_4ELT2, data_file, edge_dict, grid_csv


def _edges(gd) -> dict:  # noqa: ANN001
    """External-id edge set ``{(u, v): w}`` of a GraphData."""
    return {(gd.external_id(a), gd.external_id(b)): float(w) for a, b, w in zip(gd.u, gd.v, gd.w, strict=True)}


def _run(capsys, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_load_export_round_trip_real_graph(server, graph_name: str, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    path = data_file(FE_4ELT2)
    code, out, _ = _run(capsys, "load", graph_name, str(path), "--create", "--K", "33", "--url", server.url,
                        "--json")
    assert code == 0, out
    info = json.loads(out)
    assert (info["nodes"], info["edges"]) == (11143, 32818)
    exported = tmp_path / "g.mtx"
    code, _, err = _run(capsys, "export", graph_name, "--format", "mtx", "-o", str(exported), "--url", server.url)
    assert code == 0, err
    src, back = read_graph(path), read_graph(exported)
    assert back.n == src.n and _edges(back) == _edges(src)


def test_load_directed_signed_csv_and_info(server, graph_name: str, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    src = tmp_path / "arcs.csv"
    src.write_text("source,target,weight\n1,2,-1.5\n2,1,2\n2,3,1\n")
    code, out, err = _run(capsys, "load", graph_name, str(src), "--create", "--directed", "--signed",
                          "--url", server.url)
    assert code == 0, err
    assert "3 edges, directed: no sparsifier" in out
    code, out, _ = _run(capsys, "info", "--url", server.url)
    assert code == 0 and any(line.startswith(graph_name) and line.endswith("directed") for line in out.splitlines())
    exported = tmp_path / "back.csv"
    code, _, err = _run(capsys, "export", graph_name, "--format", "csv", "-o", str(exported), "--url", server.url)
    assert code == 0, err
    assert _edges(read_graph(exported, directed=True, signed=True)) == {(1, 2): -1.5, (2, 1): 2.0, (2, 3): 1.0}


def test_load_export_round_trip_weighted_csv(server, graph_name: str, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    src_file = tmp_path / "grid.csv"
    src_file.write_bytes(grid_csv(9, 7))
    assert _run(capsys, "load", graph_name, str(src_file), "--create", "--url", server.url)[0] == 0
    for fmt in ("csv", "mtx"):
        out_file = tmp_path / f"out.{fmt}"
        assert _run(capsys, "export", graph_name, "--format", fmt, "-o", str(out_file), "--url", server.url)[0] == 0
        back = read_graph(out_file)
        src = read_graph(src_file)
        if fmt == "mtx":  # Matrix Market is 1-based: compare internal (0-based) indices
            assert {(int(a), int(b)): w for a, b, w in zip(back.u, back.v, back.w, strict=True)} == \
                   {(int(a), int(b)): w for a, b, w in zip(src.u, src.v, src.w, strict=True)}
        else:
            assert _edges(back) == _edges(src)
    code, out, _ = _run(capsys, "export", graph_name, "--format", "json", "--sparsifier", "--url", server.url)
    snap = json.loads(out)
    assert code == 0 and snap["count"] == len(snap["edges"]) > 0


def test_replay_csv_mixed_and_subscribe(server, graph_name: str, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    with Client(server.url) as c:
        c.create_graph(graph_name, K=5)
        start = c.import_file(graph_name, grid_csv(8, 8))
        g0 = edge_dict(c.edges(graph_name))
    stream = tmp_path / "ops.csv"
    rows = ["op,u,v,w"]
    expected = dict(g0)
    for k in range(40):
        rows.append(f"insert,{k},{63 - k},{1 + k % 4}")
        expected[(min(k, 63 - k), max(k, 63 - k))] = expected.get((min(k, 63 - k), max(k, 63 - k)), 0.0) + 1 + k % 4
    for a, b in [(0, 1), (8, 9), (10, 18)]:
        rows.append(f"delete,{a},{b},")
        expected.pop((a, b))
    stream.write_text("\n".join(rows) + "\n")
    code, out, err = _run(capsys, "replay", graph_name, str(stream), "--batch", "7", "--url", server.url, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["ops"] == 43 and summary["batches"] == 7 and int(summary["cursor"]) == int(start.cursor) + 7
    with Client(server.url) as c:
        assert edge_dict(c.edges(graph_name)) == pytest.approx(expected)

    code, out, err = _run(capsys, "subscribe", graph_name, "--cursor", start.cursor, "--count", "7", "--json",
                          "--url", server.url)
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["cursor"] for e in events] == [str(int(start.cursor) + i) for i in range(1, 8)]
    assert all(e["type"] == "delta" for e in events)

    code, out, _ = _run(capsys, "info", "--json", "--url", server.url)
    assert code == 0 and graph_name in {g["name"] for g in json.loads(out)}
    code, out, _ = _run(capsys, "info", graph_name, "--url", server.url)
    assert code == 0 and json.loads(out)["cursor"] == summary["cursor"]
    code, out, _ = _run(capsys, "quality", graph_name, "--json", "--url", server.url)
    q = json.loads(out)
    assert code == 0 and q["kappa"] >= 1 and q["components_graph"] == 1


def test_replay_matrix_market_stream(server, graph_name: str, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    stream = tmp_path / "s.mtx"
    stream.write_text("%%MatrixMarket matrix coordinate real general\n% inserts\n64 64 3\n1 20 2.5\n3 3 1\n"
                      "5 40 -1.5\n")
    assert list(read_ops(str(stream))) == [("insert", 1, 20, 2.5), ("insert", 5, 40, 1.5)]
    with Client(server.url) as c:
        c.create_graph(graph_name)
        c.import_file(graph_name, grid_csv(8, 8))
    code, out, err = _run(capsys, "replay", graph_name, str(stream), "--url", server.url)
    assert code == 0, err
    assert "replayed 2 operations in 1 batches" in out


def test_exit_codes(server, graph_name: str, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert _run(capsys, "info", graph_name + "-none", "--url", server.url)[0] == 1  # unknown graph
    assert _run(capsys, "load", graph_name, str(tmp_path / "missing.mtx"), "--url", server.url)[0] == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("op,u,v,w\nfrobnicate,1,2,3\n")
    code, _, err = _run(capsys, "replay", graph_name, str(bad), "--url", server.url)
    assert code == 2 and "unknown op" in err
    with Client(server.url) as c:
        c.create_graph(graph_name)
    loop = tmp_path / "loop.csv"
    loop.write_text("1,1,1.0\n")
    assert _run(capsys, "replay", graph_name, str(loop), "--url", server.url)[0] == 2  # service rejects it (422)
    # the console script, with the URL from the environment, against a port where nothing listens
    env = {**os.environ, "SPARSEWIRE_URL": f"http://127.0.0.1:{free_port()}"}
    proc = subprocess.run([sys.executable, "-m", "sparsewire.clients.cli", "info"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 3 and "unavailable" in proc.stderr
