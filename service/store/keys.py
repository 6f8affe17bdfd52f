"""Redis key schema.  Every per-graph key carries the ``{name}`` hash tag so one Redis Cluster slot holds a
graph's keys and a MULTI over them is legal.

=================================  =========================================================================
``sw:graphs``                      set of graph names
``sw:{g}:meta``                    hash: ``info`` (JSON: params, kind, node_ids, created), ``seq`` (last committed
                                   batch), ``snap_seq`` (sequence number the snapshot reflects)
``sw:{g}:snap``                    string: zstd-compressed arrays of G and H (neighbour order kept), id map, uid
``sw:{g}:log``                     stream, entry id ``<seq>-0``: one entry per batch (delta + replay record)
``sw:{g}:idem:<key>``              string (TTL): request hash + compact reply (``#seq``, one character per
                                   operation, stats, delta) of an ``Idempotency-Key`` request or ingest frame
=================================  =========================================================================
"""

from __future__ import annotations

GRAPHS = "sw:graphs"


def meta(name: str) -> str:
    return f"sw:{{{name}}}:meta"


def snapshot(name: str) -> str:
    return f"sw:{{{name}}}:snap"


def log(name: str) -> str:
    return f"sw:{{{name}}}:log"


def idempotency(name: str, key: str) -> str:
    return f"sw:{{{name}}}:idem:{key}"


def entry_id(seq: int) -> str:
    return f"{seq}-0"


def seq_of(entry_id: bytes | str) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0])
