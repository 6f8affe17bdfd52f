"""Live structural balance on a real signed stream: SNAP Bitcoin OTC replayed in time order into a stored signed
graph over HTTP, with a delta subscriber counting ``balance`` frames.

Each rating u → v with sign s becomes an operation on the undirected edge {u, v}: an insertion when the edge is
new or has the same sign (magnitudes add), a deletion plus an insertion (in the same batch) when the rating flips
the edge's sign.  Prints updates/s, batch latency percentiles, the balance frames seen, and checks the final
verdict against a from-scratch structural-balance computation.

    .venv/bin/python benchmarks/signed_stream.py [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service_bench import pct, start_server  # noqa: E402

from sparsewire.analysis.balance import structural_balance  # noqa: E402
from sparsewire.analysis.graph import SignedGraph  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "signed" / "soc-sign-bitcoinotc.csv.gz"


def operations() -> list[dict]:
    rows = [line.split(",") for line in gzip.open(DATA, "rt") if line.strip()]
    rows.sort(key=lambda r: float(r[3]))  # time order
    sign: dict[tuple[int, int], int] = {}
    ops: list[dict] = []
    for r in rows:
        u, v, rating = int(r[0]), int(r[1]), float(r[2])
        if u == v or rating == 0:
            continue
        key = (min(u, v), max(u, v))
        s = 1 if rating > 0 else -1
        if sign.get(key, s) != s:
            ops.append({"op": "delete", "u": u, "v": v})
        sign[key] = s
        ops.append({"op": "insert", "u": u, "v": v, "w": rating})
    return ops


async def count_balance_frames(url: str, name: str, until: int, frames: list[dict]) -> None:
    async with websockets.connect(f"{url.replace('http', 'ws', 1)}/v1/graphs/{name}/deltas?cursor=0",
                                  max_size=None) as ws:
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if msg["type"] == "balance":
                frames.append(msg)
            if msg["type"] == "delta" and msg["seq"] >= until:
                return


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} not found (the shared data folder ships beside the repository)")
    ops = operations()
    batches = [ops[i : i + args.batch] for i in range(0, len(ops), args.batch)]
    bodies = [json.dumps({"ops": b}).encode() for b in batches]
    proc, url = start_server(tempfile.mkdtemp(prefix="sw-signed-"))
    try:
        name = "bitcoin-otc"
        httpx.post(f"{url}/v1/graphs", json={"name": name, "signed": True}).raise_for_status()
        lat = []
        with httpx.Client(base_url=url, timeout=120, headers={"content-type": "application/json"}) as c:
            t0 = time.perf_counter()
            for body in bodies:
                t = time.perf_counter()
                c.post(f"/v1/graphs/{name}/updates", content=body).raise_for_status()
                lat.append(time.perf_counter() - t)
            secs = time.perf_counter() - t0
            info = c.get(f"/v1/graphs/{name}").json()
            edges = c.get(f"/v1/graphs/{name}/edges").json()["edges"]
        frames: list[dict] = []
        asyncio.run(count_balance_frames(url, name, info["seq"], frames))
    finally:
        proc.terminate()
        proc.wait()
    ids = sorted({x for e in edges for x in e[:2]})
    index = {x: i for i, x in enumerate(ids)}
    g = SignedGraph.from_arrays(len(ids), [index[e[0]] for e in edges], [index[e[1]] for e in edges],
                                [e[2] for e in edges])
    truth = structural_balance(g, frustration="none").balanced
    print(f"Bitcoin OTC: {len(ops):,} operations ({sum(o['op'] == 'delete' for o in ops):,} sign flips) in "
          f"{len(batches)} batches of <= {args.batch}; final graph {info['nodes']:,} nodes, {info['edges']:,} edges")
    print(f"HTTP: {len(ops) / secs:,.0f} updates/s, batch p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms")
    print(f"balance frames: {len(frames)} (first at seq {frames[0]['seq'] if frames else '-'}); live verdict "
          f"{'balanced' if info['balanced'] else 'unbalanced'}, recomputed {'balanced' if truth else 'unbalanced'}"
          f" -> {'agree' if truth == info['balanced'] else 'DISAGREE'}")
    cycle = next((f for f in frames if not f["balanced"]), None)
    if cycle is not None:
        product = int(np.prod([np.sign(e["weight"]) for e in cycle["negative_cycle_edges"]]))
        print(f"first negative cycle (seq {cycle['seq']}): {cycle['negative_cycle']}, sign product {product}")

if __name__ == "__main__":
    main()
