"""The SDK against a real service (uvicorn subprocess) and a real Redis."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from sparsewire.clients.sdk import (
    AsyncClient,
    Client,
    Conflict,
    DeltaEvent,
    EdgeSnapshot,
    Forbidden,
    GraphInfo,
    InvalidRequest,
    Mirror,
    NotFound,
    Resync,
    Unauthorized,
    Unreachable,
    UpdateReply,
)
from sparsewire.store.embedded import free_port

from .conftest import FE_4ELT2, data_file, edge_dict, grid_csv


def _wait(predicate, timeout: float = 60.0, what: str = "condition") -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_crud_errors_and_idempotency(client: Client, graph_name: str) -> None:
    info = client.create_graph(graph_name, K=20, seed=3)
    assert isinstance(info, GraphInfo) and info.params["K"] == 20 and info.cursor == "0"
    with pytest.raises(Conflict) as exc:
        client.create_graph(graph_name)
    assert exc.value.status == 409 and exc.value.code == "conflict"
    with pytest.raises(InvalidRequest):
        client.create_graph("bad name!")  # rejected by the shared pydantic model before any request
    with pytest.raises(NotFound) as nf:
        client.get_graph(graph_name + "-missing")
    assert nf.value.code == "not_found"

    info = client.import_file(graph_name, grid_csv(6, 6), format="csv")
    assert (info.nodes, info.edges) == (36, 60)
    with pytest.raises(Conflict):  # import needs an empty graph
        client.import_file(graph_name, grid_csv(6, 6))
    assert graph_name in {g.name for g in client.list_graphs()}

    with pytest.raises(InvalidRequest) as bad:  # a self-loop: the service refuses the whole batch
        client.updates(graph_name, [("insert", 0, 7, 1.0), ("insert", 5, 5, 1.0)])
    assert bad.value.status == 422
    assert client.get_graph(graph_name).seq == info.seq  # nothing applied

    ops = [("insert", 0, 7, 2.0), {"op": "delete", "u": 0, "v": 1}]
    first = client.updates(graph_name, ops, idempotency_key="batch-1")
    again = client.updates(graph_name, ops, idempotency_key="batch-1")  # a retry: stored reply, no new batch
    assert isinstance(first, UpdateReply) and again == first
    assert client.get_graph(graph_name).seq == first.seq
    with pytest.raises(InvalidRequest):  # same key, different body
        client.updates(graph_name, [("insert", 0, 9, 1.0)], idempotency_key="batch-1")
    auto1 = client.updates(graph_name, [("insert", 0, 9, 1.0)])
    auto2 = client.updates(graph_name, [("insert", 0, 9, 1.0)])  # a fresh auto key: a new batch (merged)
    assert auto2.seq == auto1.seq + 1 and auto2.results[0].status == "merged"

    h = client.sparsifier(graph_name)
    assert isinstance(h, EdgeSnapshot) and h.cursor == auto2.cursor and h.count == len(h.edges)
    mat = client.sparsifier(graph_name, as_="scipy")
    assert mat.shape == (36, 36) and (mat != mat.T).nnz == 0 and mat.nnz == 2 * h.count
    assert mat[0, 7] == 2.0 if (0, 7) in edge_dict(h) else True
    g = client.edges(graph_name, as_="networkx")
    assert g.number_of_nodes() == 36 and g.number_of_edges() == 60 + 2 - 1 and g[0][7]["weight"] == 2.0
    q = client.quality(graph_name)
    assert q.components_graph == q.components_sparsifier == 1 and q.kappa is not None and q.kappa >= 1
    assert client.export(graph_name, "csv").startswith("u,v,w\n")

    client.delete_graph(graph_name)
    with pytest.raises(NotFound):
        client.get_graph(graph_name)


def test_unreachable_is_typed() -> None:
    with Client(f"http://127.0.0.1:{free_port()}", retries=1) as c, pytest.raises(Unreachable) as exc:
        c.list_graphs()
    assert exc.value.status is None


def test_tokens_and_roles(server_factory, graph_name: str) -> None:  # noqa: ANN001
    srv = server_factory(tokens="rtok:read,wtok:write,atok:admin", heartbeat_seconds=1)
    with Client(srv.url) as anon, pytest.raises(Unauthorized) as exc:
        anon.list_graphs()
    assert exc.value.status == 401
    with Client(srv.url, token="wtok") as writer:
        writer.create_graph(graph_name)
        with pytest.raises(Forbidden):
            writer.delete_graph(graph_name)  # admin only
    with Client(srv.url, token="rtok") as reader:
        assert reader.get_graph(graph_name).name == graph_name
        with pytest.raises(Forbidden):
            reader.updates(graph_name, [("insert", 0, 1)])
        t0 = time.monotonic()
        with pytest.raises(Forbidden) as refused:  # websocket close 4403: raised at once, not retried
            list(reader.ingest(graph_name, [[("insert", 0, 1)]]))
        assert refused.value.status == 403 and time.monotonic() - t0 < 5
    with Client(srv.url, token="nope") as stranger, pytest.raises(Unauthorized):
        next(iter(stranger.subscribe(graph_name)))  # websocket close 4401
    with Client(srv.url, token="nope") as stranger, pytest.raises(Unauthorized) as refused:
        list(stranger.ingest(graph_name, [[("insert", 0, 1)]]))
    assert refused.value.status == 401 and not isinstance(refused.value, Forbidden)


def _stream(path, count_insert: int, count_delete: int, seed: int = 7) -> list[tuple]:  # noqa: ANN001
    """Local insertions (dyGRASS-style) and deletions of non-bridge edges of the file's graph, external ids."""
    from sparsewire.engine.dyngraph import DynamicGraph
    from sparsewire.engine.mmio import read_graph
    from sparsewire.engine.streams import bridges, local_insertions

    gd = read_graph(path)
    g = DynamicGraph.from_edges(gd.n, gd.u, gd.v, gd.w)
    iu, iv, iw = local_insertions(g, count_insert, seed=seed)
    bu, bv = bridges(g)
    keys = gd.u * 2**31 + gd.v
    candidates = np.flatnonzero(~np.isin(keys, bu * 2**31 + bv))
    rng = np.random.default_rng(seed)
    pick = rng.choice(candidates, size=count_delete, replace=False)
    ins = [("insert", int(a) + gd.base, int(b) + gd.base, float(w)) for a, b, w in zip(iu, iv, iw, strict=True)]
    dels = [("delete", int(gd.u[k]) + gd.base, int(gd.v[k]) + gd.base) for k in pick]
    ops: list[tuple] = []
    step = max(1, len(ins) // max(len(dels), 1))
    for i in range(0, len(ins), step):  # deletions spread through the insertions
        ops += ins[i:i + step]
        if dels:
            ops.append(dels.pop())
    return ops + dels


def test_mirror_survives_three_disconnects_during_replay(client: Client, graph_name: str) -> None:
    path = data_file(FE_4ELT2)
    client.create_graph(graph_name, K=33)
    info = client.import_file(graph_name, path)
    assert (info.nodes, info.edges) == (11143, 32818)
    ops = _stream(path, 2000, 200)
    batch = 100
    batches = [ops[i:i + batch] for i in range(0, len(ops), batch)]

    mirror = Mirror(client, graph_name).start()
    assert mirror.cursor == info.cursor
    sub = mirror.subscription
    drop_after = {len(batches) // 4, len(batches) // 2, 3 * len(batches) // 4}
    drops = 0
    last = None
    for i, chunk in enumerate(batches):
        last = client.updates(graph_name, chunk)
        if i in drop_after:
            before = sub.reconnects
            _wait(sub.drop_connection, what="a live connection to drop")
            drops += 1
            _wait(lambda b=before: sub.reconnects > b, what="the subscriber to reconnect")
    assert mirror.wait_for(last.cursor, timeout=120) == last.cursor
    mirror.stop()

    server_h = client.sparsifier(graph_name)
    assert server_h.cursor == last.cursor
    assert drops == 3 and sub.reconnects >= 3
    assert mirror.anomalies == 0 and mirror.resyncs == 0
    assert mirror.deltas == len(batches)  # exactly one event per batch: none missed, none twice
    assert mirror.edges() == edge_dict(server_h)
    assert len(mirror.edges()) != info.sparsifier_edges  # the replay did change H


def test_cursor_too_old_resyncs(server_factory, graph_name: str) -> None:  # noqa: ANN001
    # every batch writes a snapshot and trims the log to its last 2 entries
    srv = server_factory(log_retention=2, snapshot_every_ops=1, heartbeat_seconds=1)
    with Client(srv.url) as c:
        c.create_graph(graph_name, K=5)
        start = c.import_file(graph_name, grid_csv(8, 8))

        # a mirror that keeps up, then "dies" while 5 batches are applied and the history is trimmed
        mirror = Mirror(c, graph_name)
        r = c.updates(graph_name, [("insert", 0, 9, 2.0)])
        mirror.run_until(r.cursor, timeout=60)
        assert mirror.resyncs == 0
        mirror.subscription.drop_connection()
        for k in range(5):
            r = c.updates(graph_name, [("insert", k + 1, k + 30, 1.5), ("delete", k, k + 1)])
        mirror.run_until(r.cursor, timeout=60)
        assert mirror.resyncs == 1 and mirror.anomalies == 0
        assert mirror.edges() == edge_dict(c.sparsifier(graph_name))

        # a subscription from a trimmed cursor starts with a Resync carrying the current sparsifier
        sub = c.subscribe(graph_name, cursor=start.cursor)
        first = next(sub)
        assert isinstance(first, Resync) and first.reason == "cursor_too_old" and first.cursor == r.cursor
        assert edge_dict(first.snapshot) == mirror.edges()
        r2 = c.updates(graph_name, [("insert", 2, 50, 3.0)])
        nxt = next(sub)
        assert isinstance(nxt, DeltaEvent) and nxt.cursor == r2.cursor and nxt.delta == r2.delta
        sub.close()
        mirror.stop()


def test_reset_on_import_resyncs(client: Client, graph_name: str) -> None:
    client.create_graph(graph_name)
    sub = client.subscribe(graph_name, cursor=0)
    events: list = []
    t = threading.Thread(target=lambda: events.append(next(sub)), daemon=True)
    t.start()
    info = client.import_file(graph_name, grid_csv(5, 5))
    t.join(60)
    assert len(events) == 1 and isinstance(events[0], Resync)
    assert events[0].reason == "reset:import" and events[0].cursor == info.cursor
    assert events[0].snapshot.count == info.sparsifier_edges
    sub.close()


async def test_async_client_parity(server, graph_name: str) -> None:  # noqa: ANN001
    async with AsyncClient(server.url) as ac:
        info = await ac.create_graph(graph_name, K=8)
        assert isinstance(info, GraphInfo)
        with pytest.raises(Conflict):
            await ac.create_graph(graph_name)
        sent: list[int] = []
        info = await ac.import_file(graph_name, grid_csv(6, 6), progress=lambda done, _total: sent.append(done))
        assert info.edges == 60 and sent[-1] == len(grid_csv(6, 6))
        sub = ac.subscribe(graph_name, cursor=info.cursor)
        reply = await ac.updates(graph_name, [("insert", 0, 14, 4.0), ("delete", 0, 1)])
        event = await sub.__anext__()
        assert isinstance(event, DeltaEvent) and event.cursor == reply.cursor and event.delta == reply.delta
        assert sub.drop_connection()
        reply2 = await ac.updates(graph_name, [("insert", 1, 20, 1.0)])
        event2 = await sub.__anext__()
        assert event2.cursor == reply2.cursor and sub.reconnects == 1
        await sub.aclose()
        snap = await ac.sparsifier(graph_name)
        q = await ac.quality(graph_name, kappa=False)
        assert q.kappa is None and q.sparsifier_edges == snap.count
        with pytest.raises(NotFound):
            await ac.get_graph(graph_name + "-x")
    # the same call through the sync client gives the same models
    with Client(server.url) as c:
        assert c.sparsifier(graph_name) == snap
