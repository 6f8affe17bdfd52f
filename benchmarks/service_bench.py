"""End-to-end throughput: the engine alone vs the same stream through HTTP and through the ingest websocket.

Starts its own ``sparsewire serve`` (embedded Redis, AOF fsync on every commit) unless ``--url`` is given, loads
GRAPH, generates local insertions (2-4 hops, w in {1,2,3}) and then non-bridge sparsifier deletions, in batches of
``--batch`` operations, and applies them (1) to an in-process engine, (2) over ``POST .../updates``, (3) over
``WS .../ingest`` with the server's window.  Prints updates/s and p50/p99 latencies, and checks that all three
end with the same sparsifier.  Request bodies and frames are encoded before the clock starts (a producer's own
JSON encoding is not the service's cost; on this 2-core box it would otherwise compete with the engine for CPU).

    python benchmarks/service_bench.py ../shared/data/undirected/fe_4elt2.mtx.gz --K 33
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import orjson
import websockets

from sparsewire.engine import EdgeBatch, Sparsifier, SparsifierParams
from sparsewire.engine.mmio import read_graph
from sparsewire.engine.streams import local_insertions, sparsifier_deletions
from sparsewire.store.embedded import free_port


def make_batches(path: str, params: SparsifierParams, insert_frac: float, delete_frac: float, batch: int):
    g = read_graph(path)
    ref = Sparsifier.from_edges(g.n, g.u, g.v, g.w, params=params, backend="cpu")
    iu, iv, iw = local_insertions(ref.graph, int(insert_frac * g.n), seed=params.seed + 1)
    shadow = Sparsifier.from_edges(g.n, g.u, g.v, g.w, params=params, backend="cpu")
    shadow.insert_batch(iu, iv, iw)
    du, dv = sparsifier_deletions(shadow.graph, shadow.sparsifier, int(delete_frac * g.n), seed=params.seed + 2)
    ops = [("insert", int(a) + g.base, int(b) + g.base, float(c)) for a, b, c in zip(iu, iv, iw, strict=True)]
    ops += [("delete", int(a) + g.base, int(b) + g.base, None) for a, b in zip(du, dv, strict=True)]
    return g, ref, [ops[i : i + batch] for i in range(0, len(ops), batch)]


def engine_run(built: Sparsifier, base: int, batches) -> tuple[float, list[float], Sparsifier]:  # noqa: ANN001
    """The stream on a copy of the freshly built sparsifier (so every repeat starts from the same state)."""
    ref = Sparsifier(built.graph.copy(), built.sparsifier.copy(), built.params, backend="cpu")
    lat = []
    t0 = time.perf_counter()
    for b in batches:
        kinds = np.array([0 if o[0] == "insert" else 1 for o in b], np.int8)
        u = np.array([o[1] - base for o in b])
        v = np.array([o[2] - base for o in b])
        w = np.array([np.nan if o[3] is None else o[3] for o in b])
        t = time.perf_counter()
        ref.apply(EdgeBatch(kinds, u, v, w))
        lat.append(time.perf_counter() - t)
    return time.perf_counter() - t0, lat, ref


def as_json(b) -> dict:  # noqa: ANN001
    return {"ops": [{"op": o, "u": u, "v": v, **({"w": w} if w is not None else {})} for o, u, v, w in b]}


def http_run(url: str, name: str, batches) -> tuple[float, list[float]]:  # noqa: ANN001
    lat = []
    bodies = [json.dumps(as_json(b)).encode() for b in batches]  # the producer's encoding is not the service's
    with httpx.Client(base_url=url, timeout=120, headers={"content-type": "application/json"}) as c:
        t0 = time.perf_counter()
        for body in bodies:
            t = time.perf_counter()
            r = c.post(f"/v1/graphs/{name}/updates", content=body)
            r.raise_for_status()
            lat.append(time.perf_counter() - t)
    return time.perf_counter() - t0, lat


async def ingest_run(url: str, name: str, batches) -> tuple[float, list[float]]:  # noqa: ANN001
    """Pipelined over the ingest websocket, keeping at most the server's window of frames unacknowledged (as the
    SDK does), so the latency is the server's ack latency, not time queued in our own socket buffers."""
    ws_url = url.replace("http", "ws", 1)
    sent_at: dict[str, float] = {}
    frames = [json.dumps({"id": f"bench-{i}", **as_json(b)}) for i, b in enumerate(batches)]  # encoded up front
    lat: list[float] = []
    # no permessage-deflate, as the SDK's ingest
    async with websockets.connect(f"{ws_url}/v1/graphs/{name}/ingest", max_size=None, compression=None) as ws:
        window = json.loads(await ws.recv())["window"]
        t0 = time.perf_counter()
        sent = 0
        for _ in batches:
            while sent < len(batches) and sent - len(lat) < window:
                sent_at[f"bench-{sent}"] = time.perf_counter()
                await ws.send(frames[sent])
                sent += 1
            ack = orjson.loads(await ws.recv())
            if "error" in ack:
                raise RuntimeError(ack)
            lat.append(time.perf_counter() - sent_at[ack["id"]])
        return time.perf_counter() - t0, lat


def start_server(tmp: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "SPARSEWIRE_LOG_LEVEL": "warning"}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "sparsewire.clients.cli", "serve", "--port", str(port),
                             "--data-dir", tmp], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q) * 1e3) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("graph")
    ap.add_argument("--K", type=float, default=33.0)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--insert-frac", type=float, default=0.25)
    ap.add_argument("--delete-frac", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--url", help="use a running service instead of starting one")
    ap.add_argument("--repeat", type=int, default=5, help="runs of the stream per path, each on a fresh graph; "
                    "throughput is the median run, latencies are pooled (the fe_4elt2 stream is only 3 batches)")
    args = ap.parse_args()
    params = SparsifierParams(K=args.K, seed=args.seed)
    t = time.perf_counter()
    g, ref, batches = make_batches(args.graph, params, args.insert_frac, args.delete_frac, args.batch)
    n_ops = sum(len(b) for b in batches)
    print(f"graph {Path(args.graph).name}: n={g.n} m={len(g.u)}; stream {n_ops} ops in {len(batches)} batches "
          f"of <= {args.batch} (prepared in {time.perf_counter() - t:.1f} s)")
    engine_runs = [engine_run(ref, g.base, batches) for _ in range(args.repeat)]
    engine_s = float(np.median([r[0] for r in engine_runs]))
    engine_lat = [x for r in engine_runs for x in r[1]]
    ref = engine_runs[0][2]
    tmp = tempfile.mkdtemp(prefix="sw-bench-")
    proc, url = (None, args.url) if args.url else start_server(tmp)
    try:
        data = Path(args.graph).read_bytes()
        results = {}
        for mode in ("http", "ingest"):
            runs, lats, edges = [], [], []
            for rep in range(args.repeat):
                name = f"bench-{mode}-{os.getpid()}-{rep}"
                httpx.post(f"{url}/v1/graphs", json={"name": name, "params": params.to_dict()}).raise_for_status()
                httpx.post(f"{url}/v1/graphs/{name}/import", content=data, timeout=600).raise_for_status()
                secs, lat = (http_run(url, name, batches) if mode == "http"
                             else asyncio.run(ingest_run(url, name, batches)))
                snap = httpx.get(f"{url}/v1/graphs/{name}/sparsifier", timeout=120).json()
                runs.append(secs)
                lats += lat
                edges.append(sorted(map(tuple, snap["edges"])))
                httpx.delete(f"{url}/v1/graphs/{name}")
            results[mode] = (float(np.median(runs)), lats, edges)
    finally:
        if proc:
            proc.terminate()
            proc.wait()
    hu, hv, hw = ref.sparsifier.edges()
    local = sorted(zip((hu + g.base).tolist(), (hv + g.base).tolist(), hw.tolist(), strict=True))
    print(f"median of {args.repeat} runs per path")
    print(f"{'path':8} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs engine':>9}")
    print(f"{'engine':8} {n_ops / engine_s:10.0f} {pct(engine_lat, 50):8.1f} {pct(engine_lat, 99):8.1f} {'1.00':>9}")
    for mode, (secs, lat, runs_edges) in results.items():
        same = "same H" if all([tuple(e) for e in edges] == local for edges in runs_edges) else "H DIFFERS"
        print(f"{mode:8} {n_ops / secs:10.0f} {pct(lat, 50):8.1f} {pct(lat, 99):8.1f} {engine_s / secs:9.2f}  {same}")


if __name__ == "__main__":
    main()
