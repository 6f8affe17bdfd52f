"""``/metrics``: the documented families exist and move as a batch and a subscriber say they should."""

from __future__ import annotations

import asyncio
import json

import websockets
from prometheus_client.parser import text_string_to_metric_families

from sparsewire import __version__

from .conftest import Api, Server


def samples(api: Api) -> dict[tuple, float]:
    out = {}
    for family in text_string_to_metric_families(api.metrics()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(m: dict, name: str, **labels: str) -> float:
    return m.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_move_with_a_batch(api: Api, server: Server, graph_name: str) -> None:
    info = api.small_graph(graph_name, 8, 8)
    before = samples(api)
    text = api.metrics()
    for family, kind in (("sparsewire_updates_total", "counter"), ("sparsewire_batch_seconds", "histogram"),
                         ("sparsewire_walker_steps_total", "counter"), ("sparsewire_graph_edges", "gauge"),
                         ("sparsewire_sparsifier_edges", "gauge"), ("sparsewire_subscribers", "gauge"),
                         ("sparsewire_build_info", "gauge"), ("sparsewire_redis_errors_total", "counter")):
        assert f"# TYPE {family} {kind}\n" in text, family
    assert value(before, "sparsewire_build_info", version=__version__, backend="cpu") == 1.0
    assert value(before, "sparsewire_graph_edges", graph=graph_name) == info["edges"] == 112
    assert value(before, "sparsewire_sparsifier_edges", graph=graph_name) == info["sparsifier_edges"]

    async with websockets.connect(f"{server.ws_url}/v1/graphs/{graph_name}/deltas") as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        assert value(samples(api), "sparsewire_subscribers") == value(before, "sparsewire_subscribers") + 1
        ops = [{"op": "insert", "u": 0, "v": 63, "w": 1.0}, {"op": "insert", "u": 0, "v": 1, "w": 1.0},
               {"op": "delete", "u": 5, "v": 6}, {"op": "delete", "u": 0, "v": 62}]
        reply = await asyncio.to_thread(api.update, graph_name, ops)
        assert json.loads(await asyncio.wait_for(ws.recv(), 30))["seq"] == reply["seq"]
        # the server answers a close frame only once its blocking log read returns (up to heartbeat_seconds):
        # drop the connection instead of waiting for the closing handshake
        ws.transport.abort()
    after = samples(api)
    per_op: dict[tuple, int] = {}
    for op, r in zip(ops, reply["results"], strict=True):
        per_op[(op["op"], r["action"])] = per_op.get((op["op"], r["action"]), 0) + 1
    for (op, outcome), count in per_op.items():
        assert value(after, "sparsewire_updates_total", op=op, outcome=outcome) - \
            value(before, "sparsewire_updates_total", op=op, outcome=outcome) == count
    assert value(after, "sparsewire_batch_seconds_count") == value(before, "sparsewire_batch_seconds_count") + 1
    assert value(after, "sparsewire_walker_steps_total", backend="cpu") - \
        value(before, "sparsewire_walker_steps_total", backend="cpu") == reply["stats"]["walker_steps"] > 0
    now = api.info(graph_name)
    assert now["edges"] == 112 + 1 - 1  # one new edge, one merged, one deleted, one absent
    assert value(after, "sparsewire_graph_edges", graph=graph_name) == now["edges"]
    assert value(after, "sparsewire_sparsifier_edges", graph=graph_name) == now["sparsifier_edges"]
    # (the subscribers gauge drops only when the server next writes to the closed socket: up to
    # heartbeat_seconds after the client left; not asserted here)
    # a deleted graph's gauges go away
    assert api.http.delete(f"/v1/graphs/{graph_name}").status_code == 204
    assert ("sparsewire_graph_edges", (("graph", graph_name),)) not in samples(api)
