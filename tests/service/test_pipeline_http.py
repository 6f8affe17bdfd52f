"""The engine's ``sparsewire pipeline`` and the same streams sent through the HTTP API give the same sparsifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sparsewire.clients.cli import main
from sparsewire.engine.mmio import read_graph

from .conftest import Api, data_file


def _edges(path_or_bytes) -> dict[tuple[int, int], float]:  # noqa: ANN001
    g = read_graph(path_or_bytes)
    return {(int(a) + g.base, int(b) + g.base): float(w) for a, b, w in zip(g.u, g.v, g.w, strict=True)}


def test_http_replay_of_the_pipeline_streams_gives_its_sparsifier(server, graph_name: str, tmp_path: Path) -> None:
    graph = data_file("undirected/fe_4elt2.mtx.gz")
    out = tmp_path / "run"
    assert main(["pipeline", str(graph), "--K", "33", "--seed", "0", "--batches", "10", "--out", str(out),
                 "--backend", "cpu", "--json"]) == 0
    report = json.loads((out / "report.json").read_text())
    ins = np.loadtxt(out / "stream_insert.txt", ndmin=2)
    dels = np.loadtxt(out / "stream_delete.txt", ndmin=2, dtype=np.int64)

    api = Api(server.url)
    api.create(graph_name, {"K": 33, "seed": 0})
    api.import_(graph_name, graph.read_bytes())
    at = 0
    for batch in report["batches_detail"]["insert"]:
        rows = ins[at : at + batch["size"]]
        api.update(graph_name, [{"op": "insert", "u": int(u), "v": int(v), "w": float(w)} for u, v, w in rows])
        at += batch["size"]
    at = 0
    for batch in report["batches_detail"]["delete"]:
        rows = dels[at : at + batch["size"]]
        api.update(graph_name, [{"op": "delete", "u": int(u), "v": int(v)} for u, v in rows])
        at += batch["size"]

    served = api.http.get(f"/v1/graphs/{graph_name}/sparsifier", params={"format": "mtx"}).content
    assert _edges(served) == _edges(out / "H.mtx")
    assert len(_edges(served)) == report["m_H"]
    api.close()
