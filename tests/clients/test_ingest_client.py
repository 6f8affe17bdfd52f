"""The SDK's ingest mode and ``sparsewire replay --ingest`` against a real service."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from sparsewire.clients.cli import main

from .conftest import grid_csv


def _graph(server, name: str) -> dict:  # noqa: ANN001
    body = httpx.get(f"{server.url}/v1/graphs/{name}/edges", timeout=30).json()
    return {(min(u, v), max(u, v)): w for u, v, w in body["edges"]}


def test_sdk_ingest_acknowledges_every_batch_in_order(client, server, graph_name: str) -> None:  # noqa: ANN001
    client.create_graph(graph_name)
    client.import_file(graph_name, grid_csv(8, 8))
    before = _graph(server, graph_name)
    batches = [[("insert", i, (i + 9) % 64, 1.0), ("insert", (i + 3) % 64, (i + 21) % 64, 2.0)] for i in range(40)]
    batches.append([("insert", 5, 5, 1.0)])  # a self-loop: rejected, and the stream goes on
    batches.append([("delete", 0, 9)])
    acks = list(client.ingest(graph_name, batches, window=4))
    assert len(acks) == len(batches)
    assert acks[-2]["error"]["code"] == "invalid_batch"
    seqs = [a["seq"] for a in acks if "error" not in a]
    assert seqs == list(range(seqs[0], seqs[0] + len(batches) - 1))
    expected = dict(before)
    for batch in batches[:-2]:
        for _, u, v, w in batch:
            key = (min(u, v), max(u, v))
            expected[key] = expected.get(key, 0.0) + w
    expected.pop((0, 9), None)
    assert _graph(server, graph_name) == expected
    assert client.get_graph(graph_name).seq == seqs[-1]


def test_cli_replay_over_ingest(server, graph_name: str, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    graph = tmp_path / "g.csv"
    graph.write_bytes(grid_csv(6, 6))
    stream = tmp_path / "ops.csv"
    stream.write_text("op,u,v,w\n" + "".join(f"insert,{i},{(i + 7) % 36},1.5\n" for i in range(30))
                      + "delete,0,7,\n")
    url = ["--url", server.url]
    assert main(["load", graph_name, str(graph), "--create", *url]) == 0
    capsys.readouterr()
    assert main(["replay", graph_name, str(stream), "--batch", "4", "--ingest", "--json", *url]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ops"] == 31 and summary["batches"] == 8
    g = _graph(server, graph_name)
    assert (0, 7) not in g and g[(1, 8)] == 1.5
