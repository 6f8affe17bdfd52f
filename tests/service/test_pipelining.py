"""Pipelined commits in the per-graph writer, with a commit failure injected at a chosen moment.

The next batch's engine work overlaps the previous batch's commit.  When that commit fails, the overlapping
batch must fail too (it was applied on top of a batch Redis never got): committing it would leave a gap in the
log.  A real Redis behind a store that fails one chosen commit (killing Redis cannot hit this instant reliably).
"""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from sparsewire.engine.sparsifier import SparsifierParams
from sparsewire.errors import StoreUnavailableError
from sparsewire.metrics import Metrics
from sparsewire.registry import Registry
from sparsewire.runtime import OpColumns
from sparsewire.settings import Settings
from sparsewire.store import keys
from sparsewire.store.redis_store import GraphStore

from .conftest import grid_csv


class FailOnce(GraphStore):
    """The real store, except that the commit after :meth:`arm` raises after a short while (as a connection that
    drops mid-commit would)."""

    armed = False

    def arm(self) -> None:
        self.armed = True

    async def commit_many(self, name, batches) -> None:  # noqa: ANN001
        if self.armed:
            self.armed = False
            await asyncio.sleep(0.05)
            raise StoreUnavailableError("injected: connection lost during the commit")
        await super().commit_many(name, batches)


def inserts(pairs: list[tuple[int, int]], w: float = 1.0) -> OpColumns:
    return OpColumns(["insert"] * len(pairs), [a for a, _ in pairs], [b for _, b in pairs], [w] * len(pairs))


@pytest.fixture
async def runtime(redis_url: str, graph_name: str):  # noqa: ANN201
    redis = Redis.from_url(redis_url)
    store = FailOnce(redis)
    await store.check_durability()
    registry = Registry(store, Settings(), Metrics("cpu"))
    rt = await registry.create(graph_name, directed=False, signed=False, node_ids="int",
                               params=SparsifierParams(K=1e6, walkers=512, steps=100, seed=1))
    await rt.import_graph(grid_csv(60, 60), "csv")
    yield rt, store
    registry.close()
    await redis.aclose()


async def log_seqs(store: GraphStore, name: str) -> list[int]:
    return [keys.seq_of(eid) for eid, _ in await store.redis.xrange(keys.log(name))]


async def test_batch_overlapping_a_failed_commit_is_not_committed(runtime) -> None:  # noqa: ANN001
    rt, store = runtime
    first = await rt.submit(inserts([(0, 2)]))
    assert (await first).startswith('{"seq":2')
    store.arm()
    a = await rt.submit(inserts([(0, 3)]))  # its commit will fail
    # a big batch whose engine work (walks of full length towards far endpoints) still runs when a's commit fails
    b_pairs = [(i, 3599 - i) for i in range(1700)]
    b = asyncio.ensure_future(rt.submit(inserts(b_pairs)))
    with pytest.raises(StoreUnavailableError, match="injected"):
        await a
    with pytest.raises(StoreUnavailableError):
        await (await b)
    assert await log_seqs(store, rt.name) == [1, 2]  # neither a nor b reached the log
    c = await (await rt.submit(inserts([(5, 7)])))  # reloads the durable state first
    assert c.startswith('{"seq":3')
    assert await log_seqs(store, rt.name) == [1, 2, 3]
    assert rt.sparsifier.graph.has_edge(5, 7) and rt.sparsifier.graph.has_edge(0, 2)
    assert not rt.sparsifier.graph.has_edge(0, 3) and not rt.sparsifier.graph.has_edge(0, 3599)


async def test_retry_of_a_failed_key_applies_anew(runtime) -> None:  # noqa: ANN001
    rt, store = runtime
    store.arm()
    ops = inserts([(1, 3)])
    first = await rt.submit(ops, idempotency_key="k1", request_hash=ops.fingerprint())
    with pytest.raises(StoreUnavailableError):
        await first
    again = await (await rt.submit(ops, idempotency_key="k1", request_hash=ops.fingerprint()))
    assert again.startswith('{"seq":2')
    same = await (await rt.submit(ops, idempotency_key="k1", request_hash=ops.fingerprint()))
    assert same == again  # the stored reply, nothing applied twice
    assert await log_seqs(store, rt.name) == [1, 2]


async def test_replay_from_redis_is_byte_identical(runtime) -> None:  # noqa: ANN001
    """Idempotency records are stored compactly (one character per operation); a replay after a restart rebuilds
    exactly the first reply."""
    rt, store = runtime
    ops = OpColumns(["insert", "delete", "insert", "delete"], [1, 0, 5, 3], [3, 1, 7, 4], [2.5, float("nan"), 1.0,
                                                                                           float("nan")])
    first = await (await rt.submit(ops, idempotency_key="k9", request_hash=ops.fingerprint()))
    raw = await store.idempotent_reply(rt.name, "k9")
    assert len(raw) < len(first)  # compact, not the reply itself
    from sparsewire.runtime import GraphRuntime  # noqa: PLC0415

    fresh = await GraphRuntime.load(rt.name, store, settings=rt.settings, metrics=rt.metrics, executor=rt.executor)
    again = await (await fresh.submit(ops, idempotency_key="k9", request_hash=ops.fingerprint()))
    assert again == first
    assert await log_seqs(store, rt.name) == [1, 2]


async def test_refused_batch_inside_a_pipelined_group(redis_url: str, graph_name: str) -> None:
    """Queued batches are applied as one group, ids of batch i + 1 mapped while the engine applies batch i: a
    batch the engine refuses (a self-loop) in the middle rolls back its new string ids after the next batch
    mapped its own, which are then mapped again.  Every later batch sees the right ids, and the log replays to
    the same id map and graph."""
    redis = Redis.from_url(redis_url)
    store = GraphStore(redis)
    registry = Registry(store, Settings(), Metrics("cpu"))
    try:
        rt = await registry.create(graph_name, directed=False, signed=False, node_ids="str",
                                   params=SparsifierParams(K=10.0, walkers=32, steps=40, seed=1))

        def ins(*pairs: tuple[str, str]) -> OpColumns:
            return OpColumns(["insert"] * len(pairs), [a for a, _ in pairs], [b for _, b in pairs], [1.0] * len(pairs))

        batches = [ins(("a", "b")), ins(("x", "c"), ("c", "c")), ins(("c", "d")), ins(("e", "a"), ("d", "e")),
                   ins(("f", "f"))]
        groups = []
        real_group = rt._apply_group

        def spy(group, seq):  # noqa: ANN001, ANN202
            groups.append(len(group))
            return real_group(group, seq)

        rt._apply_group = spy
        submitted = [asyncio.ensure_future(rt.submit(ops)) for ops in batches]
        outcomes = []
        for fut in submitted:
            try:
                outcomes.append((await (await fut))[:8])
            except Exception as exc:  # noqa: BLE001
                outcomes.append(type(exc).__name__)
        assert groups == [5]  # one worker-thread call for the queued batches
        assert outcomes == ['{"seq":1', "InvalidBatchError", '{"seq":2', '{"seq":3', "InvalidBatchError"]
        assert rt.ids.names == ["a", "b", "c", "d", "e"]
        g = rt.sparsifier.graph
        ext = sorted(tuple(sorted(rt.ids.to_external([u, v]))) for u, v in zip(*g.edges()[:2], strict=True))
        assert ext == [("a", "b"), ("a", "e"), ("c", "d"), ("d", "e")]
        from sparsewire.runtime import GraphRuntime  # noqa: PLC0415

        fresh = await GraphRuntime.load(rt.name, store, settings=rt.settings, metrics=rt.metrics,
                                        executor=rt.executor)
        assert fresh.ids.names == rt.ids.names and fresh.seq == 3
        assert sorted(zip(*fresh.sparsifier.graph.edges()[:2], strict=True)) == sorted(zip(*g.edges()[:2], strict=True))
    finally:
        registry.close()
        await redis.aclose()
