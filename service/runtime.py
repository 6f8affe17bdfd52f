"""Per-graph single writers: the only place where stored graphs change.

``HTTP → validation → GraphRuntime.submit (the graph's writer queue) → engine in a worker thread (the batches
waiting, back to back, a helper thread mapping ids and encoding replies beside it) → queued commit (batches
waiting share one atomic, fsynced Redis transaction) → reply once durable``; subscribers read the committed log
from Redis.  The next batches are applied while the previous ones commit.  If a commit
fails, the in-memory graph is ahead of what is durable: the batches applied on top of it fail too, and the state
is reloaded from Redis before the next request.  Signed graphs also keep their edge signs and a live balance
verdict (:mod:`sparsewire.signed_state`).  Directed graphs keep only their arcs (:mod:`sparsewire.arcs`): the same
writer, log and recovery, with no sparsifier.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from redis.exceptions import RedisError

from sparsewire.arcs import ArcGraph, ArcStore
from sparsewire.engine.batch import (
    ACTIONS,
    DELETE,
    INSERT,
    MAX_VERTICES,
    STATUS,
    BatchResult,
    EdgeBatch,
    SparsifierDelta,
    validate_batch,
)
from sparsewire.engine.dyngraph import DynamicGraph
from sparsewire.engine.signs import EdgeSigns
from sparsewire.engine.sparsifier import Sparsifier, SparsifierParams
from sparsewire.errors import (
    ConflictError,
    InvalidBatchError,
    InvalidInputError,
    NotFoundError,
    ParseError,
    StoreUnavailableError,
    TooLargeError,
)
from sparsewire.idmap import IdMap
from sparsewire.metrics import Metrics
from sparsewire.settings import Settings
from sparsewire.signed_state import SignedState
from sparsewire.store import codec
from sparsewire.store.redis_store import GraphStore

OP_KINDS = {"insert": INSERT, "delete": DELETE}
#: Most batches written in one Redis transaction (one fsync).
_GROUP_COMMIT = 64
#: Most queued batches the writer applies in one worker-thread call.
_GROUP_APPLY = 8
#: Idempotency records of recently committed batches kept in memory (answers without a Redis read): at most this
#: many, and this many bytes of stored replies.
RECENT_KEYS = 4096
RECENT_KEYS_BYTES = 8 * 2**20


@dataclass
class KeyPrefetch:
    """A read of an idempotency key started before the writer lock (:meth:`GraphRuntime.prefetch_key`)."""

    keys_durable: int
    reply: asyncio.Future[bytes | None]


@dataclass
class _Job:
    """A batch waiting for the graph's writer; ``accepted`` gets the awaitable of its reply."""

    ops: OpColumns
    key: str | None
    request_hash: str | None
    prefetched: KeyPrefetch | None
    started: float
    accepted: asyncio.Future[Awaitable[str]]


@dataclass
class _Commit:
    seq: int
    fields: dict[str, Any]
    record: tuple[str, bytes] | None
    key: str | None
    done: asyncio.Future[None]


@dataclass(frozen=True, slots=True)
class OpColumns:
    """A batch as columns: ``op`` (``"insert"``/``"delete"``), external ids ``u``, ``v`` and weights ``w``
    (insertions without ``w`` get 1.0; deletions NaN)."""

    op: list[str]
    u: list[Any]
    v: list[Any]
    w: list[float]

    def __len__(self) -> int:
        return len(self.op)

    @classmethod
    def from_models(cls, ops: Sequence[Any]) -> OpColumns:
        """From validated :class:`~sparsewire.api.schemas.Operation` models."""
        return cls([o.op for o in ops], [o.u for o in ops], [o.v for o in ops],
                   [math.nan if o.op == "delete" else (1.0 if o.w is None else float(o.w)) for o in ops])

    def fingerprint(self) -> str:
        """SHA-256 of a canonical serialisation (the identity of a request for idempotency checks)."""
        return hashlib.sha256(orjson.dumps([self.op, self.u, self.v, self.w])).hexdigest()  # NaN, inf -> null


#: ``{"status": ..., "action": ...}`` per compact code ``chr(ord("a") + status * len(ACTIONS) + action)``.
_RESULT_JSON = {chr(ord("a") + i * len(ACTIONS) + j): json.dumps({"status": s, "action": a}, separators=(",", ":"))
                for i, s in enumerate(STATUS) for j, a in enumerate(ACTIONS)}


def expand_reply(stored: str) -> str:
    """A batch reply from its compact stored form ``#seq / codes / stats / delta`` (any other text is a full reply,
    as stored by earlier versions)."""
    if not stored.startswith("#"):
        return stored
    seq, codes, stats, delta_json = stored[1:].split("\n", 3)
    results = ",".join([_RESULT_JSON[c] for c in codes])
    return f'{{"seq":{seq},"cursor":"{seq}","results":[{results}],"delta":{delta_json},"stats":{stats}}}'


class GraphRuntime:
    """One stored graph: its sparsifier, id map and sequence number, guarded by one writer lock."""

    def __init__(self, name: str, info: dict[str, Any], sparsifier: Sparsifier | ArcStore, ids: IdMap, seq: int, *,
                 store: GraphStore, settings: Settings, metrics: Metrics, executor: ThreadPoolExecutor,
                 helpers: ThreadPoolExecutor | None = None) -> None:
        self.name = name
        self.info = info
        self.sparsifier = sparsifier
        self.ids = ids
        self.seq = seq
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.executor = executor
        #: threads that map ids and encode replies beside the engine thread (see :meth:`_apply_group`)
        self.helpers = helpers
        self.lock = asyncio.Lock()
        self.ops_since_snapshot = 0
        self.stale = False
        self.deleted = False
        self.durable_seq = seq
        self._pending: deque[_Commit] = deque()
        self._committer: asyncio.Task[None] | None = None
        self._jobs: deque[_Job] = deque()
        self._writer: asyncio.Task[None] | None = None
        #: Idempotency-Key -> (request hash, commit future, reply) of batches queued but not yet durable
        self._inflight_keys: dict[str, tuple[str | None, asyncio.Future[None], str]] = {}
        #: stored records of the keyed batches this process made durable last (newest last), and their count
        self._recent_keys: OrderedDict[str, bytes] = OrderedDict()
        self._keys_durable = 0
        self._recent_bytes = 0
        #: signs and live balance of an undirected signed graph (the sparsifier holds |w|); None for unsigned
        #: graphs and directed ones (whose arcs keep their signed weights)
        self.signed: SignedState | None = None
        #: (seq, components of G, components of H) of the durable state ``seq``, once computed
        self._components: tuple[int, int, int] | None = None
        if self.tracks_signs:
            self.signed = SignedState(EdgeSigns(), sparsifier.graph)
        self._publish_sizes()

    @property
    def directed(self) -> bool:
        """A directed graph: arcs only, no sparsifier."""
        return bool(self.info.get("directed"))

    def need_sparsifier(self, what: str) -> None:
        """Raise :class:`ConflictError` (409) naming ``what`` when the graph keeps no sparsifier (directed)."""
        if self.directed:
            raise ConflictError(f"graph {self.name!r} is directed: no sparsifier is maintained, so it has no "
                                f"{what}; GET .../edges returns its arcs, and the analyses take target=graph")

    @property
    def tracks_signs(self) -> bool:
        """An undirected signed graph: signs and balance kept beside the sparsifier of |w|."""
        return bool(self.info.get("signed")) and not self.directed

    # ------------------------------------------------------------------ construction and recovery
    @classmethod
    def empty(cls, name: str, info: dict[str, Any], **deps: Any) -> GraphRuntime:
        params = SparsifierParams(**info["params"])
        s: Sparsifier | ArcStore
        if info.get("directed"):
            s = ArcStore(ArcGraph(), params, signed=bool(info.get("signed")))
        else:
            s = Sparsifier(DynamicGraph(0), DynamicGraph(0), params, backend=deps["settings"].backend)
        return cls(name, info, s, IdMap(info["node_ids"]), 0, **deps)

    @classmethod
    async def load(cls, name: str, store: GraphStore, **deps: Any) -> GraphRuntime:
        """Snapshot, then replay of the log after it: the same path as at start-up."""
        meta = await store.meta(name)
        if meta is None:
            raise NotFoundError(f"graph {name!r} not found")
        rt = cls.empty(name, meta["info"], store=store, **deps)
        await rt._restore(meta)
        return rt

    async def _restore(self, meta: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        after = -1
        signs = EdgeSigns()
        if meta["snap_seq"] >= 0:
            blob = await self.store.read_snapshot(self.name)
            if blob is None:
                raise StoreUnavailableError(f"graph {self.name!r}: snapshot missing at seq {meta['snap_seq']}")
            self.sparsifier, self.ids, negative = await loop.run_in_executor(
                self.executor, lambda: codec.decode_snapshot(blob, backend=self.settings.backend))
            signs = EdgeSigns(negative)
            after = meta["snap_seq"]
        while True:
            entries = await self.store.log_after(self.name, after, count=500)
            if not entries:
                break
            for _entry_seq, fields in entries:
                if fields.get(b"type") == b"batch":
                    runs = codec.decode_runs(fields[b"runs"])
                    self.ids = _ids_with(self.ids, fields)
                    await loop.run_in_executor(self.executor, self.sparsifier.replay, runs, int(fields[b"n_ops"]))
                    if b"signs" in fields:
                        signs.replay(*codec.decode_signs(fields[b"signs"]))
            after = entries[-1][0]
        if self.tracks_signs:
            self.signed = await loop.run_in_executor(self.executor, SignedState, signs, self.sparsifier.graph)
        self.seq = self.durable_seq = meta["seq"]
        self.stale = False
        self._publish_sizes()

    async def reload(self) -> None:
        meta = await self.store.meta(self.name)
        if meta is None:
            raise NotFoundError(f"graph {self.name!r} not found")
        fresh = GraphRuntime.empty(self.name, meta["info"], store=self.store, settings=self.settings,
                                   metrics=self.metrics, executor=self.executor, helpers=self.helpers)
        await fresh._restore(meta)
        self.sparsifier, self.ids, self.seq, self.stale = fresh.sparsifier, fresh.ids, fresh.seq, False
        self.signed = fresh.signed
        self.durable_seq = fresh.seq

    # ------------------------------------------------------------------ updates
    async def apply(self, ops: OpColumns, *, idempotency_key: str | None = None,
                    request_hash: str | None = None) -> str:
        """Apply one batch atomically and durably; returns the reply body as a JSON document.

        The reply is encoded once and the same text is stored as the idempotency record, so a retried request
        gets exactly the bytes of the first reply.
        """
        return await (await self.submit(ops, idempotency_key=idempotency_key, request_hash=request_hash))

    async def submit(self, ops: OpColumns, *, idempotency_key: str | None = None, request_hash: str | None = None,
                     prefetched: KeyPrefetch | None = None) -> Awaitable[str]:
        """Apply one batch and queue its commit; returns an awaitable of the reply (done once the batch is durable,
        or raising :class:`StoreUnavailableError`).

        Batches queue in call order for the graph's writer (:meth:`_write_loop`), which applies the batches
        waiting back to back in one worker-thread call: the engine does not wait for the event loop between
        them.  The writer lock covers validation, the engine and the queueing, not the commit: the next batches'
        engine work overlaps this one's Redis round trip and fsync, and batches that queue up meanwhile share one
        transaction (group commit).  Nothing is acknowledged before it is durable, readers only see durable
        states, and the log only ever receives the batch right after the durable one (see :meth:`_commit_loop`).
        """
        self._check_alive()
        job = _Job(ops, idempotency_key, request_hash, prefetched, time.perf_counter(),
                   asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop())
        return await job.accepted

    async def _write_loop(self) -> None:
        """Apply queued batches in order, as many per worker-thread call as are waiting (up to
        :data:`_GROUP_APPLY`), until the queue is empty."""
        loop = asyncio.get_running_loop()
        while self._jobs:
            async with self.lock:
                try:
                    self._check_alive()
                    if self._ahead_of_redis():
                        await self._settle()
                        await self.reload()
                    group = await self._take_group()
                except Exception as exc:  # deleted, or Redis down while reloading: every queued batch fails
                    while self._jobs:
                        _reject(self._jobs.popleft(), exc)
                    continue
                if not group:
                    continue
                self.sparsifier.max_vertices = self.settings.max_graph_nodes
                try:
                    outcomes = await loop.run_in_executor(self.executor, self._apply_group, group, self.seq)
                except BaseException as exc:  # cancelled, or a bug: the engine may have changed; reload first
                    self.stale = True
                    for job in group:
                        _reject(job, exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                try:
                    self._settle_group(group, outcomes)
                except Exception as exc:  # a bug here must not leave callers waiting forever
                    self.stale = True
                    for job in group:
                        _reject(job, exc)

    async def _take_group(self) -> list[_Job]:
        """The next batches to apply: queued ones, in order, minus those answered from an idempotency record;
        stops before a key already in the group (its second use must see the first one's reply)."""
        group: list[_Job] = []
        keys: set[str] = set()
        while self._jobs and len(group) < _GROUP_APPLY:
            job = self._jobs[0]
            if job.accepted.done():  # its caller is gone: never applied
                self._jobs.popleft()
                continue
            if job.key:
                if job.key in keys:
                    break
                try:
                    early = await self._idempotent(job.key, job.request_hash, job.prefetched)
                except Exception as exc:
                    _reject(self._jobs.popleft(), exc)
                    continue
                if early is not None:
                    self._jobs.popleft()
                    _accept(job, early)
                    continue
                keys.add(job.key)
            group.append(self._jobs.popleft())
        return group

    def _apply_group(self, group: list[_Job], seq: int) -> list[tuple[Any, ...]]:
        """Worker thread: each batch of ``group`` in order as batch ``seq + 1, ...``; per batch ``("ok", batch,
        result, reply, compact, fields)``, ``("rejected", error)`` (nothing changed) or ``("broken", error)``
        (the engine may have changed: the rest of the group is not run).

        With a helper pool (and no signs to keep), the batches are software-pipelined: while the engine applies
        batch i, a helper thread maps the ids of batch i + 1 and encodes the reply and log entry of batch i - 1,
        so the engine thread runs engine work back to back.  Ids only grow in batch order (a batch's ids are
        mapped after the previous batch's), and a batch the engine refuses rolls its ids back only after the next
        batch's mapping finished, which is then redone.
        """
        if self.helpers is None or self.signed is not None or len(group) == 1:
            return self._apply_serial(group, seq)
        helpers = self.helpers
        out: list[tuple[Any, ...]] = []
        prepared = helpers.submit(self._prepare, group[0])
        for i in range(len(group)):
            ids_before, ids_after, batch, error = prepared.result()
            following = helpers.submit(self._prepare, group[i + 1]) if i + 1 < len(group) else None
            if error is None:
                try:
                    result, extra = self._engine_step(batch)
                except (InvalidInputError, TooLargeError) as exc:  # refused before anything changed
                    error = exc
                    if following is not None:  # the next batch's ids were mapped after ours: map them again
                        following.result()
                        self.ids.rollback(ids_before)
                        following = helpers.submit(self._prepare, group[i + 1])
                    else:
                        self.ids.rollback(ids_before)
                except Exception as exc:
                    out.append(("broken", exc))
                    if following is not None:
                        following.result()  # let it finish before anything else touches the ids
                    break
            if error is not None:
                out.append(("rejected", error))
            else:
                seq += 1
                encoded = helpers.submit(self._encode, batch, result, extra, ids_before, ids_after, seq)
                out.append(("ok", batch, result, encoded))
            if following is None:
                break
            prepared = following
        for k, o in enumerate(out):
            if o[0] == "ok":
                reply, compact, fields = o[3].result()
                out[k] = ("ok", o[1], o[2], reply, compact, fields)
        return out

    def _apply_serial(self, group: list[_Job], seq: int) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for job in group:
            outcome = self._apply_one(job, seq + 1)
            out.append(outcome)
            if outcome[0] == "broken":
                break
            if outcome[0] == "ok":
                seq += 1
        return out

    def _apply_one(self, job: _Job, seq: int) -> tuple[Any, ...]:
        """One batch as batch ``seq``, in this thread: ids, engine, encoding."""
        ids_before, ids_after, batch, error = self._prepare(job)
        if error is not None:
            return ("rejected", error)
        try:
            result, extra = self._engine_step(batch)
        except (InvalidInputError, TooLargeError) as exc:  # refused before anything changed
            self.ids.rollback(ids_before)
            return ("rejected", exc)
        except Exception as exc:
            return ("broken", exc)
        reply, compact, fields = self._encode(batch, result, extra, ids_before, ids_after, seq)
        return ("ok", batch, result, reply, compact, fields)

    def _prepare(self, job: _Job) -> tuple[int, int, EdgeBatch | None, Exception | None]:
        """Map a batch's ids (creating new string ids): ``(ids before, ids after, batch, None)``, or with the
        error and the ids rolled back."""
        ids_before = len(self.ids.names)
        try:
            batch = self._to_batch(job.ops)
        except (InvalidInputError, TooLargeError) as exc:
            self.ids.rollback(ids_before)
            return ids_before, ids_before, None, exc
        return ids_before, len(self.ids.names), batch, None

    def _settle_group(self, group: list[_Job], outcomes: list[tuple[Any, ...]]) -> None:
        """Back on the event loop: number and queue the commits of the applied batches, answer the others."""
        for k, (job, outcome) in enumerate(zip(group, outcomes, strict=False)):
            kind = outcome[0]
            if kind == "rejected":
                _reject(job, outcome[1])
            elif kind == "broken":  # anything else may have left the engine changed: reload before the next batch
                self.stale = True
                _reject(job, outcome[1])
                self._jobs.extendleft(reversed(group[k + 1:]))  # not run: applied after the reload
            elif self.stale:
                # a queued commit failed while the engine ran: memory holds batches Redis never got, so this one
                # cannot be committed after them; the next batch reloads the durable state first
                self.metrics.batches.labels("store_error").inc()
                _reject(job, StoreUnavailableError(f"Redis failed a commit of graph {self.name!r} while this batch "
                                                   "was applied; nothing of it was stored, retry it"))
            else:
                _, batch, result, reply, compact, fields = outcome
                self.seq += 1
                key = job.key
                record = (key, f"{job.request_hash}\n{compact}".encode()) if key else None
                done = self._queue_commit(self.seq, fields, record, key)
                if key:
                    self._inflight_keys[key] = (job.request_hash, done, reply)
                self.ops_since_snapshot += len(batch)
                self._count(batch, result)
                _accept(job, self._acknowledge(done, reply, key, job.started))

    def _engine_step(self, batch: EdgeBatch) -> tuple[BatchResult, dict[str, Any]]:
        """The engine's part of a batch (worker thread): the size limit, the engine; on a signed graph also its
        signs and balance, with the log fields they need (``signs``; ``balance`` when the verdict changed)."""
        inserts = int((batch.kind == INSERT).sum())
        if self.sparsifier.graph.m + inserts > self.settings.max_graph_edges:
            raise TooLargeError(f"graph would exceed {self.settings.max_graph_edges} edges")
        extra: dict[str, Any] = {}
        if self.signed is None:
            return self.sparsifier.apply(batch), extra
        s = self.sparsifier
        plan = self.signed.plan(batch, s.graph, max(s.max_vertices, s.graph.n))
        result = s.apply(plan.batch)
        changed = self.signed.commit(plan, batch, result, s.graph)
        extra["signs"] = codec.encode_signs(plan.set_negative, plan.clear)
        if changed:
            extra["balance"] = json.dumps(self.signed.event(self.ids.to_external, s.graph.n), separators=(",", ":"))
        return result, extra

    def _encode(self, batch: EdgeBatch, result: BatchResult, extra: dict[str, Any], ids_before: int,
                ids_after: int, seq: int) -> tuple[str, str, dict[str, Any]]:
        """The reply (full and compact) and the log entry of an applied batch as batch ``seq``; ``ids_before`` ..
        ``ids_after`` are the string ids it created."""
        delta = json.dumps(self.delta_json(result.delta), separators=(",", ":"))
        fields = {"type": "batch", "seq": seq, "n_ops": len(batch), "first_uid": result.first_uid, "delta": delta,
                  "runs": codec.encode_runs(result.runs), "new_ids": json.dumps(self.ids.names[ids_before:ids_after]),
                  **extra}
        reply, compact = self._reply(result, seq, delta)
        return reply, compact, fields

    def signed_weights(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Edge weights as users see them: with their signs on a signed graph."""
        return w if self.signed is None else self.signed.signs.signed(u, v, w)

    def prefetch_key(self, key: str) -> KeyPrefetch:
        """Start reading ``key``'s stored reply now, before the writer lock (call without awaiting anything in
        between, so that callers still reach the lock in order); :meth:`submit` uses it if nothing that
        happened since could have stored the key."""
        read = asyncio.ensure_future(self.store.idempotent_reply(self.name, key))
        read.add_done_callback(_consume_exception)  # unused when the batch fails early or the key is in flight
        return KeyPrefetch(self._keys_durable, read)

    async def _stored_reply(self, key: str, prefetched: KeyPrefetch | None) -> bytes | None:
        recent = self._recent_keys.get(key)
        if recent is not None:
            return recent
        if prefetched is not None:
            stored = await prefetched.reply
            # every key made durable since the read began is in _recent_keys (checked above) unless evicted
            if self._keys_durable - prefetched.keys_durable <= len(self._recent_keys):
                return stored
        return await self.store.idempotent_reply(self.name, key)

    async def _idempotent(self, key: str, request_hash: str | None,
                          prefetched: KeyPrefetch | None = None) -> Awaitable[str] | None:
        """The stored (or still committing) reply for ``key``; None when the key is new."""
        inflight = self._inflight_keys.get(key)
        done: asyncio.Future[None] | None = None
        if inflight is not None:
            stored_hash, done, stored_reply = inflight
        else:
            stored = await self._stored_reply(key, prefetched)
            if stored is None:
                return None
            stored_hash, _, stored_reply = stored.decode().partition("\n")
            stored_reply = expand_reply(stored_reply)
        if stored_hash != request_hash:
            raise InvalidInputError(f"Idempotency-Key {key!r} was used before with a different request body")

        async def replay() -> str:
            if done is not None:
                await asyncio.shield(done)  # the first request's commit: its outcome is this one's
            return stored_reply

        return replay()

    async def _acknowledge(self, done: asyncio.Future[None], reply: str, key: str | None, started: float) -> str:
        try:
            await asyncio.shield(done)
        finally:
            if key and self._inflight_keys.get(key, (None, None))[1] is done:
                del self._inflight_keys[key]
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        if self.ops_since_snapshot >= self.settings.snapshot_every_ops:
            async with self.lock:
                if self.ops_since_snapshot >= self.settings.snapshot_every_ops:
                    await self._snapshot()
        return reply

    # ------------------------------------------------------------------ group commit
    def _queue_commit(self, seq: int, fields: dict[str, Any], record: tuple[str, bytes] | None,
                      key: str | None) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Commit(seq, fields, record, key, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_loop())
        return done

    async def _commit_loop(self) -> None:
        """Write queued batches in order, as many per transaction (and fsync) as are waiting.

        A group is written only if it starts right after the durable log (``durable_seq + 1``) and no earlier
        commit failed: a batch applied while its predecessor's commit failed must never reach the log (it would
        leave a gap where the failed batch was).
        """
        while self._pending:
            group = list(self._pending)[:_GROUP_COMMIT]
            if self.stale or group[0].seq != self.durable_seq + 1:
                self._fail_pending(StoreUnavailableError(
                    f"batch {group[0].seq} of graph {self.name!r} does not follow the durable log (at "
                    f"{self.durable_seq}) after a failed commit; nothing of it was stored, retry it"))
                return
            try:
                await self.store.commit_many(self.name, [(c.seq, c.fields, c.record) for c in group])
            except (StoreUnavailableError, RedisError) as exc:
                # memory is now ahead of Redis: fail every queued batch and reload before the next one
                self.metrics.redis_errors.inc()
                self._fail_pending(exc if isinstance(exc, StoreUnavailableError) else StoreUnavailableError(
                    f"Redis unavailable while committing batches {group[0].seq}..{group[-1].seq}: {exc}"))
                return
            for c in group:
                self._pending.popleft()
                c.done.set_result(None)
                if c.record is not None:
                    self._remember_key(*c.record)
            self.durable_seq = group[-1].seq

    def _remember_key(self, key: str, record: bytes) -> None:
        old = self._recent_keys.pop(key, None)
        self._recent_bytes += len(record) - (len(old) if old is not None else 0)
        self._recent_keys[key] = record
        self._keys_durable += 1
        while len(self._recent_keys) > RECENT_KEYS or self._recent_bytes > RECENT_KEYS_BYTES:
            self._recent_bytes -= len(self._recent_keys.popitem(last=False)[1])

    def _fail_pending(self, exc: StoreUnavailableError) -> None:
        """Fail every queued batch; memory is ahead of Redis until :meth:`reload`."""
        self.stale = True
        failed = list(self._pending)
        self._pending.clear()
        for c in failed:
            self.metrics.batches.labels("store_error").inc()
            if c.key and self._inflight_keys.get(c.key, (None, None))[1] is c.done:
                del self._inflight_keys[c.key]  # a retry with this key must apply the batch anew
            if not c.done.done():
                c.done.set_exception(exc)

    async def _settle(self) -> None:
        """Wait until every queued commit has succeeded or failed."""
        while self._committer is not None and not self._committer.done():
            await asyncio.shield(self._committer)

    def _to_batch(self, ops: OpColumns) -> EdgeBatch:
        if len(ops) > self.settings.max_ops_per_batch:
            raise TooLargeError(f"batch has {len(ops)} operations; the limit is {self.settings.max_ops_per_batch}")
        kinds = np.array([OP_KINDS.get(k, -1) for k in ops.op], np.int8)
        # only insertions create string ids: a deletion naming an unknown vertex is absent, and must not leave
        # that vertex behind (it would appear, isolated, once a later insertion grows the graph past it)
        inserting = (kinds != DELETE).tolist()
        us, bad_u = self.ids.to_internal(ops.u, create=inserting)
        vs, bad_v = self.ids.to_internal(ops.v, create=inserting)
        unknown_u, unknown_v = us == MAX_VERTICES, vs == MAX_VERTICES
        if unknown_u.any() or unknown_v.any():  # stand-ins past every vertex: never an edge, never created
            spare = len(self.ids.names)
            same = np.array([a == b for a, b in zip(ops.u, ops.v, strict=True)])
            us[unknown_u] = spare
            vs[unknown_v] = np.where(same[unknown_v], spare, spare + 1)
        ws = np.array(ops.w, np.float64)
        if bad_u or bad_v:
            bad = self._bad_ops(kinds, us, vs, ws, bad_u + bad_v)
            shown = ", ".join(f"op {b['index']}: {b['error']}" for b in bad[:5])
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise InvalidBatchError(f"{len(bad)} invalid operation(s): {shown}{more}", details=bad)
        return EdgeBatch(kinds, us, vs, ws)

    @staticmethod
    def _reply(result: BatchResult, seq: int, delta_json: str) -> tuple[str, str]:
        """The reply body, and the compact form stored for Idempotency-Key replays (:func:`expand_reply`): one
        character per operation instead of ~40 bytes of JSON."""
        codes = (result.status.astype(np.uint8) * len(ACTIONS) + result.action.astype(np.uint8)
                 + ord("a")).tobytes().decode("ascii")
        stats = json.dumps({"walks": int(result.stats["walks"]), "walker_steps": int(result.stats["walker_steps"]),
                            "recovered_edges": int(result.stats["recovered_edges"]),
                            "congested": int(result.stats.get("congested", 0)),
                            "engine_seconds": round(result.stats["seconds"], 6)}, separators=(",", ":"))
        compact = f"#{seq}\n{codes}\n{stats}\n{delta_json}"
        return expand_reply(compact), compact

    def delta_json(self, d: SparsifierDelta) -> dict[str, list[list[Any]]]:
        ext = self.ids.to_external
        added_w = self.signed_weights(*d.added).tolist()
        reweighted_w = self.signed_weights(*d.reweighted).tolist()
        return {"added": [list(t) for t in zip(ext(d.added[0]), ext(d.added[1]), added_w, strict=True)],
                "removed": [list(t) for t in zip(ext(d.removed[0]), ext(d.removed[1]), strict=True)],
                "reweighted": [list(t) for t in zip(ext(d.reweighted[0]), ext(d.reweighted[1]), reweighted_w,
                                                    strict=True)]}

    def _count(self, batch: EdgeBatch, result: BatchResult) -> None:
        m = self.metrics
        for kind, name in ((INSERT, "insert"), (DELETE, "delete")):
            counts = np.bincount(result.action[batch.kind == kind], minlength=len(ACTIONS))
            for a in np.flatnonzero(counts).tolist():
                m.updates.labels(name, ACTIONS[a]).inc(int(counts[a]))
        m.batches.labels("ok").inc()
        m.walker_steps.labels(self.sparsifier.backend.name).inc(result.stats["walker_steps"])
        self._publish_sizes()

    def _publish_sizes(self) -> None:
        s = self.sparsifier
        self.metrics.nodes.labels(self.name).set(s.graph.n)
        self.metrics.edges.labels(self.name).set(s.graph.m)
        if s.sparsifier is not None:
            self.metrics.sparsifier_edges.labels(self.name).set(s.sparsifier.m)

    async def _snapshot(self) -> None:
        await self._settle()
        if self.stale:
            return
        loop = asyncio.get_running_loop()
        negative = None if self.signed is None else self.signed.signs.keys()
        blob = await loop.run_in_executor(self.executor, codec.encode_snapshot, self.sparsifier, self.ids, negative)
        await self.store.write_snapshot(self.name, self.seq, blob)
        self.ops_since_snapshot = 0
        first = max(1, self.seq - self.settings.log_retention + 1)
        await self.store.trim(self.name, first)

    # ------------------------------------------------------------------ import
    async def import_graph(self, data: bytes, fmt: str) -> dict[str, Any]:
        """Load a whole graph file into this (empty) graph and build the initial sparsifier."""
        from sparsewire.engine.mmio import read_graph  # noqa: PLC0415

        loop = asyncio.get_running_loop()
        async with self.lock:
            self._check_alive()
            await self._settle()
            if self.stale:
                await self.reload()
            if self.sparsifier.graph.m or self.sparsifier.graph.n:
                raise ConflictError(f"graph {self.name!r} is not empty; import needs an empty graph")
            signed, directed = bool(self.info.get("signed")), self.directed
            gd = await loop.run_in_executor(self.executor, lambda: read_graph(
                data, fmt=fmt, max_nodes=self.settings.max_graph_nodes, max_bytes=self.settings.max_import_bytes,
                signed=signed, directed=directed))
            if gd.n == 0:
                # e.g. a binary body read as an edge list holding only a "header" line
                raise ParseError("line 1: no vertices or edges found; expected a Matrix Market file or an edge "
                                 "list with 'source target [weight]' lines")
            if len(gd.u) > self.settings.max_graph_edges:
                raise TooLargeError(f"file has {len(gd.u)} edges; the limit is {self.settings.max_graph_edges}")
            ids, n, u, v = _import_ids(self.ids.kind, gd, directed=directed)
            if n > self.settings.max_graph_nodes:
                raise TooLargeError(f"the file's node ids need {n} vertices; the limit is "
                                    f"{self.settings.max_graph_nodes}")
            params = self.sparsifier.params
            s: Sparsifier | ArcStore
            if directed:
                arcs = await loop.run_in_executor(self.executor, ArcGraph.from_arcs, n, u, v, gd.w)
                s = ArcStore(arcs, params, signed=signed)
            else:
                s = await loop.run_in_executor(
                    self.executor, lambda: Sparsifier.from_edges(n, u, v, np.abs(gd.w), params=params,
                                                                 backend=self.sparsifier.backend))
            state = negative = None
            fields: dict[str, Any] = {"type": "reset", "seq": self.seq + 1, "reason": "import"}
            if self.tracks_signs:
                state = await loop.run_in_executor(self.executor, SignedState, EdgeSigns.from_edges(u, v, gd.w),
                                                   s.graph)
                negative = state.signs.keys()
                if not state.balanced:  # the empty graph was balanced
                    fields["balance"] = json.dumps(state.event(ids.to_external, s.graph.n), separators=(",", ":"))
            blob = await loop.run_in_executor(self.executor, codec.encode_snapshot, s, ids, negative)
            seq = self.seq + 1
            await self.store.commit_reset(self.name, seq, blob, fields)
            self.sparsifier, self.ids, self.seq, self.durable_seq, self.signed = s, ids, seq, seq, state
            self.ops_since_snapshot = 0
            self._publish_sizes()
            info = await loop.run_in_executor(self.executor, self.describe, True)
            return {"seq": seq, "cursor": str(seq), "warnings": list(gd.warnings), **info}

    # ------------------------------------------------------------------ reads
    def components(self, *, compute: bool) -> tuple[int | None, int | None]:
        """Connected components of G and H at the durable state: cached per sequence number; computed (in a worker
        thread, on a durable state: under :meth:`read`) when ``compute`` and not known yet, else None."""
        seq, cached = self.durable_seq, self._components
        if cached is not None and cached[0] == seq:
            return cached[1], cached[2]
        if not compute:
            return None, None
        g, h = self.sparsifier.components()
        self._components = (seq, g, h)
        return g, h

    def describe(self, components: bool = False) -> dict[str, Any]:
        """The graph's info; the component counts are computed only with ``components`` (see :meth:`components`),
        else reported when already known for the current sequence number."""
        s = self.sparsifier
        comps = self.components(compute=components)
        return {"name": self.name, "directed": self.info["directed"], "signed": self.info["signed"],
                "node_ids": self.info["node_ids"], "id_base": self.ids.base if self.ids.kind == "int" else None,
                "params": s.params.to_dict(), "backend": s.backend.name,
                "nodes": s.graph.n, "edges": s.graph.m,
                "sparsifier_edges": None if s.sparsifier is None else s.sparsifier.m,
                "density": None if s.sparsifier is None else round(s.density(), 6),
                "components_graph": comps[0], "components_sparsifier": comps[1],
                "seq": self.durable_seq, "cursor": str(self.durable_seq),
                "created": self.info.get("created"),
                "balanced": None if self.signed is None else self.signed.balanced}

    def invalid_ops(self, ops: OpColumns) -> list[dict[str, Any]]:
        """Every operation of ``ops`` the engine would refuse, as ``[{"index", "error"}]`` (the checks of a batch:
        ids, self-loops, weights), found without applying or recording anything: string ids not seen yet get
        provisional indices.  Names the engine-level problems of a batch that also failed the schema."""
        kinds = np.array([OP_KINDS.get(k, -1) for k in ops.op], np.int8)
        if self.ids.kind == "int":
            us, bad_u = self.ids.to_internal(ops.u, create=False)
            vs, bad_v = self.ids.to_internal(ops.v, create=False)
        else:
            known, fresh = self.ids.index, {}  # type: ignore[var-annotated]

            def internal(col: list[Any]) -> tuple[np.ndarray, list[int]]:
                out, bad = np.zeros(len(col), np.int64), []
                for i, x in enumerate(col):
                    if type(x) is not str or not x:
                        bad.append(i)
                    else:
                        k = known.get(x)
                        out[i] = k if k is not None else fresh.setdefault(x, len(self.ids.names) + len(fresh))
                return out, bad

            (us, bad_u), (vs, bad_v) = internal(ops.u), internal(ops.v)
        return self._bad_ops(kinds, us, vs, np.array(ops.w, np.float64), bad_u + bad_v,
                             max_vertices=max(self.settings.max_graph_nodes, self.sparsifier.graph.n))

    def _bad_ops(self, kinds: np.ndarray, us: np.ndarray, vs: np.ndarray, ws: np.ndarray, bad_ids: list[int], *,
                 max_vertices: int = MAX_VERTICES - 1) -> list[dict[str, Any]]:
        """Every bad operation, ``[{"index", "error"}]``: the ops with a bad id (positions ``bad_ids``) and those the
        batch checks refuse; the ops with a bad id are checked too, with placeholder ids."""
        errors = {i: [f"bad node id for a {self.ids.kind} graph"] for i in sorted(set(bad_ids))}
        us, vs = us.copy(), vs.copy()
        us[list(errors)], vs[list(errors)] = 0, 1
        try:
            validate_batch(EdgeBatch(kinds, us, vs, np.abs(ws) if self.info.get("signed") else ws),
                           max_vertices=max_vertices)
        except InvalidBatchError as exc:
            for d in exc.details:
                errors.setdefault(d["index"], [d["error"]])
        return [{"index": i, "error": "; ".join(errors[i])} for i in sorted(errors)]

    async def read(self, fn: Any, *args: Any) -> Any:
        """Run a read-only function of the sparsifier in a worker thread while no batch is being applied, on a
        durable state (queued commits settled first)."""
        async with self.lock:
            self._check_alive()
            await self._settle()
            if self._ahead_of_redis():
                await self.reload()
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def retire(self) -> None:
        """Mark the graph deleted (call with the lock held): queued commits settle first, and every later write
        or read through this object (a request that was waiting for the lock, an open ingest socket) gets 404
        instead of writing into a deleted or re-created graph."""
        await self._settle()
        self.deleted = True

    def _ahead_of_redis(self) -> bool:
        """True when memory holds a batch that is neither durable nor queued (its commit failed): every applied
        batch must be accounted for as ``durable_seq + queued``, else the state is reloaded from Redis."""
        return self.stale or self.seq != self.durable_seq + len(self._pending)

    def _check_alive(self) -> None:
        if self.deleted:
            raise NotFoundError(f"graph {self.name!r} not found (deleted)")


def _consume_exception(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()


def _accept(job: _Job, reply: Awaitable[str]) -> None:
    """Hand ``reply`` to the batch's caller; if the caller is gone, still run it (the batch was applied: its
    commit's bookkeeping must happen)."""
    if job.accepted.done():
        task = asyncio.ensure_future(reply)
        task.add_done_callback(_consume_exception)
    else:
        job.accepted.set_result(reply)


def _reject(job: _Job, exc: BaseException) -> None:
    if not job.accepted.done():
        job.accepted.set_exception(exc)


def _ids_with(ids: IdMap, fields: dict[bytes, bytes]) -> IdMap:
    """Replay the string ids a logged batch created."""
    if ids.kind == "str" and b"new_ids" in fields:
        for name in json.loads(fields[b"new_ids"]):
            ids.index[name] = len(ids.names)
            ids.names.append(name)
    return ids


def _import_ids(kind: str, gd: Any, *, directed: bool = False) -> tuple[IdMap, int, np.ndarray, np.ndarray]:
    if kind == "str":
        names = [str(x) for x in gd.node_ids] if gd.node_ids is not None else [str(i + gd.base) for i in range(gd.n)]
        return IdMap("str", names=names), gd.n, gd.u, gd.v
    if gd.node_ids is None:
        return IdMap("int", base=gd.base), gd.n, gd.u, gd.v
    ext = np.asarray(gd.node_ids)
    if ext.dtype.kind not in "iu":
        raise InvalidInputError("this graph has integer node ids but the file uses non-integer ids")
    if ext.size and ext.min() < 0:
        raise InvalidInputError("negative node ids in the file")
    u, v = ext[gd.u], ext[gd.v]
    if directed:  # arcs keep their direction
        return IdMap("int", base=0), int(ext.max()) + 1, u, v
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    return IdMap("int", base=0), int(ext.max()) + 1, lo, hi
