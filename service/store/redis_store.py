"""Redis persistence of graphs: metadata, snapshots, the delta log (a Redis Stream) and idempotency records.

A batch is committed with one MULTI/EXEC (log entry + sequence number + idempotency record) and acknowledged
only after Redis has fsynced its AOF: ``WAITAOF 1 0`` on Redis ≥ 7.2, otherwise ``appendfsync always``
(which fsyncs before Redis replies).  :meth:`GraphStore.check_durability` refuses a Redis that can promise
neither unless durability is ``relaxed``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from sparsewire.errors import StoreUnavailableError
from sparsewire.store import keys


class GraphStore:
    def __init__(self, redis: Redis, *, durability: str = "strict", idempotency_ttl_seconds: int = 86_400) -> None:
        self.redis = redis
        self.durability = durability
        self.idempotency_ttl_seconds = idempotency_ttl_seconds
        self.fsync_mode = "unchecked"

    # ------------------------------------------------------------------ durability
    async def check_durability(self) -> str:
        """Decide how commits become durable; raises :class:`StoreUnavailableError` when they cannot."""
        info = await self.redis.info("server")
        version = tuple(int(x) for x in str(info.get("redis_version", "0.0.0")).split(".")[:2])
        conf = await self.redis.config_get("append*")
        aof = conf.get("appendonly") == "yes"
        always = conf.get("appendfsync") == "always"
        if aof and version >= (7, 2):
            self.fsync_mode = "waitaof"
        elif aof and always:
            self.fsync_mode = "appendfsync-always"
        elif self.durability == "relaxed":
            self.fsync_mode = "relaxed"
        else:
            raise StoreUnavailableError(
                f"Redis {info.get('redis_version')} has appendonly={conf.get('appendonly')} "
                f"appendfsync={conf.get('appendfsync')}: acknowledged updates could be lost. Enable AOF "
                "(appendonly yes, and appendfsync always before Redis 7.2) or start with --durability relaxed")
        return self.fsync_mode

    async def _wait_durable(self) -> None:
        if self.fsync_mode == "waitaof":
            local, _replicas = await self.redis.execute_command("WAITAOF", 1, 0, 5000)
            if int(local) < 1:
                raise StoreUnavailableError("Redis did not confirm the AOF fsync (WAITAOF)")

    # ------------------------------------------------------------------ graphs
    async def graph_names(self) -> list[str]:
        return sorted(x.decode() for x in await self.redis.smembers(keys.GRAPHS))

    async def create(self, name: str, info: Mapping[str, Any]) -> bool:
        """Register a graph with fresh keys; False if the name exists."""
        if not await self.redis.sadd(keys.GRAPHS, name):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.meta(name), keys.snapshot(name), keys.log(name))  # leftovers of a deleted namesake
            pipe.hset(keys.meta(name), mapping={"info": json.dumps(info), "seq": 0, "snap_seq": -1})
            await pipe.execute()
        await self._wait_durable()
        return True

    async def delete(self, name: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.srem(keys.GRAPHS, name)
            pipe.delete(keys.meta(name), keys.snapshot(name), keys.log(name))
            await pipe.execute()
        cursor = 0
        while True:
            cursor, found = await self.redis.scan(cursor, match=keys.idempotency(name, "*"), count=1000)
            if found:
                await self.redis.delete(*found)
            if cursor == 0:
                break
        await self._wait_durable()

    async def meta(self, name: str) -> dict[str, Any] | None:
        raw = await self.redis.hgetall(keys.meta(name))
        if not raw or b"info" not in raw:
            return None
        return {"info": json.loads(raw[b"info"]), "seq": int(raw.get(b"seq", 0)),
                "snap_seq": int(raw.get(b"snap_seq", -1))}

    # ------------------------------------------------------------------ snapshots
    async def write_snapshot(self, name: str, seq: int, blob: bytes) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.snapshot(name), blob)
            pipe.hset(keys.meta(name), "snap_seq", seq)
            await pipe.execute()
        await self._wait_durable()

    async def read_snapshot(self, name: str) -> bytes | None:
        return await self.redis.get(keys.snapshot(name))

    # ------------------------------------------------------------------ the delta log
    async def commit_many(self, name: str,
                          batches: list[tuple[int, Mapping[str, bytes | str | int], tuple[str, bytes] | None]]) -> None:
        """Append several consecutive batches in one transaction and one durable wait (group commit)."""
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for seq, fields, idempotency in batches:
                    pipe.xadd(keys.log(name), dict(fields), id=keys.entry_id(seq))
                    if idempotency:
                        pipe.set(keys.idempotency(name, idempotency[0]), idempotency[1],
                                 ex=self.idempotency_ttl_seconds)
                pipe.hset(keys.meta(name), "seq", batches[-1][0])
                await pipe.execute()
            await self._wait_durable()
        except ResponseError as exc:
            raise StoreUnavailableError(f"Redis refused the commit of batches {batches[0][0]}..{batches[-1][0]}: "
                                        f"{exc}") from exc
        except RedisError as exc:
            raise StoreUnavailableError(f"Redis unavailable while committing batches {batches[0][0]}.."
                                        f"{batches[-1][0]}: {exc}") from exc

    async def commit_reset(self, name: str, seq: int, snapshot: bytes, fields: Mapping[str, bytes | str | int]) -> None:
        """Replace the graph's state wholesale (an import): new snapshot at ``seq`` and a ``reset`` log entry,
        in one transaction."""
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(keys.snapshot(name), snapshot)
                pipe.hset(keys.meta(name), mapping={"snap_seq": seq, "seq": seq})
                pipe.xadd(keys.log(name), dict(fields), id=keys.entry_id(seq))
                await pipe.execute()
            await self._wait_durable()
        except RedisError as exc:
            raise StoreUnavailableError(f"Redis unavailable while committing import {seq}: {exc}") from exc

    async def idempotent_reply(self, name: str, key: str) -> bytes | None:
        return await self.redis.get(keys.idempotency(name, key))

    async def log_after(self, name: str, after_seq: int, count: int = 1000) -> list[tuple[int, dict[bytes, bytes]]]:
        """Entries with sequence number > ``after_seq`` (at most ``count``), in order."""
        low = f"({keys.entry_id(after_seq)}" if after_seq > 0 else "-"
        rows = await self.redis.xrange(keys.log(name), min=low, count=count)
        return [(keys.seq_of(eid), f) for eid, f in rows]

    async def read_blocking(self, name: str, after_seq: int, *, block_ms: int,
                            count: int = 100) -> list[tuple[int, dict[bytes, bytes]]]:
        got = await self.redis.xread({keys.log(name): keys.entry_id(after_seq)}, count=count, block=block_ms)
        if not got:
            return []
        return [(keys.seq_of(eid), f) for eid, f in got[0][1]]

    async def head_seq(self, name: str) -> int | None:
        """Sequence number of the newest log entry (the ``seq`` written with it; None for an unknown graph)."""
        raw = await self.redis.hget(keys.meta(name), "seq")
        return None if raw is None else int(raw)

    async def first_seq(self, name: str) -> int | None:
        """Sequence number of the oldest retained log entry (None when the log is empty)."""
        rows = await self.redis.xrange(keys.log(name), count=1)
        return keys.seq_of(rows[0][0]) if rows else None

    async def trim(self, name: str, keep_from_seq: int) -> None:
        """Drop log entries older than ``keep_from_seq``."""
        await self.redis.xtrim(keys.log(name), minid=keys.entry_id(keep_from_seq), approximate=False)
