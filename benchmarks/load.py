"""Load test: several concurrent writers on several graphs plus websocket subscribers, for a fixed time.

Starts its own ``sparsewire serve`` (embedded Redis) unless ``--url`` is given.  Each graph is a generated
Delaunay-like mesh; each writer posts batches of local insertions and deletions to its graph; every subscriber
mirrors one graph's sparsifier from the delta stream.  At the end it checks that every mirror equals the
server's sparsifier (no lost or duplicated delta), that no request failed, and prints throughput, latency
percentiles and the server's RSS over time (flat memory).

    python benchmarks/load.py --graphs 3 --writers 2 --subscribers 20 --seconds 60
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

import httpx
import numpy as np
import psutil
import websockets

from sparsewire.store.embedded import free_port


def mesh_csv(side: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    idx = np.arange(side * side).reshape(side, side)
    edges = [(idx[:, :-1].ravel(), idx[:, 1:].ravel()), (idx[:-1, :].ravel(), idx[1:, :].ravel())]
    diag = rng.random((side - 1, side - 1)) < 0.5
    edges.append((idx[:-1, :-1][diag], idx[1:, 1:][diag]))
    edges.append((idx[:-1, 1:][~diag], idx[1:, :-1][~diag]))
    u = np.concatenate([e[0] for e in edges])
    v = np.concatenate([e[1] for e in edges])
    return ("u,v,w\n" + "".join(f"{a},{b},1.0\n" for a, b in zip(u, v, strict=True))).encode()


async def writer(url: str, name: str, side: int, seed: int, stop: float, stats: dict) -> None:
    rng = np.random.default_rng(seed)
    inserted: list[tuple[int, int]] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        while time.monotonic() < stop:
            ops = []
            for _ in range(200):
                a = int(rng.integers(side * side))
                b = a + int(rng.choice([2, side + 2, 2 * side, 2 * side + 1]))
                if b < side * side:
                    ops.append({"op": "insert", "u": a, "v": b, "w": float(rng.integers(1, 4))})
                    inserted.append((a, b))
            for _ in range(min(20, len(inserted))):
                a, b = inserted.pop(int(rng.integers(len(inserted))))
                ops.append({"op": "delete", "u": a, "v": b})
            t = time.perf_counter()
            r = await c.post(f"/v1/graphs/{name}/updates", json={"ops": ops})
            stats["latency"].append(time.perf_counter() - t)
            if r.status_code != 200:
                stats["errors"].append((r.status_code, r.text[:200]))
            else:
                stats["ops"] += len(ops)


async def subscriber(url: str, name: str, start_cursor: str, stop: float, out: dict) -> None:
    edges: dict[tuple[int, int], float] = dict(out["snapshot"])
    cursor = start_cursor
    ws_url = url.replace("http", "ws", 1)
    while True:
        try:
            async with websockets.connect(f"{ws_url}/v1/graphs/{name}/deltas?cursor={cursor}", max_size=None) as ws:
                while True:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 20))  # heartbeats every 15 s
                    if msg["type"] == "delta":
                        d = msg["delta"]
                        for u, v in d["removed"]:
                            del edges[(min(u, v), max(u, v))]
                        for u, v, w in d["added"] + d["reweighted"]:
                            edges[(min(u, v), max(u, v))] = w
                        cursor = msg["cursor"]
                        out["deltas"] += 1
                    if time.monotonic() > stop + 5 and int(cursor) >= out["final_seq"]:
                        out["edges"] = edges
                        return
        except (TimeoutError, websockets.ConnectionClosed) as exc:
            out["reconnects"] += 1
            if out["reconnects"] > 50:
                raise RuntimeError(f"subscriber of {name} keeps failing: {exc!r}") from exc


async def run(url: str, args: argparse.Namespace, server_pid: int | None) -> int:
    names = [f"load-{os.getpid()}-{i}" for i in range(args.graphs)]
    async with httpx.AsyncClient(base_url=url, timeout=300) as c:
        for i, name in enumerate(names):
            (await c.post("/v1/graphs", json={"name": name, "params": {"K": 10, "seed": i}})).raise_for_status()
            (await c.post(f"/v1/graphs/{name}/import", content=mesh_csv(args.side, i))).raise_for_status()
        snaps = {n: (await c.get(f"/v1/graphs/{n}/sparsifier")).json() for n in names}
    stop = time.monotonic() + args.seconds
    stats = {"latency": [], "errors": [], "ops": 0}
    subs = [{"snapshot": {(min(u, v), max(u, v)): w for u, v, w in snaps[names[k % len(names)]]["edges"]},
             "deltas": 0, "reconnects": 0, "final_seq": 10**18, "edges": None} for k in range(args.subscribers)]
    proc = psutil.Process(server_pid) if server_pid else None
    rss: list[float] = []

    async def sample_rss() -> None:
        while proc and time.monotonic() < stop:
            rss.append(proc.memory_info().rss / 2**20)
            await asyncio.sleep(5)

    sub_tasks = [asyncio.create_task(subscriber(url, names[k % len(names)], snaps[names[k % len(names)]]["cursor"],
                                                stop, subs[k])) for k in range(args.subscribers)]
    t0 = time.perf_counter()
    await asyncio.gather(sample_rss(), *[writer(url, names[g], args.side, 100 * g + w, stop, stats)
                                         for g in range(args.graphs) for w in range(args.writers)])
    elapsed = time.perf_counter() - t0
    async with httpx.AsyncClient(base_url=url, timeout=300) as c:
        finals = {n: (await c.get(f"/v1/graphs/{n}/sparsifier")).json() for n in names}
        for k, s in enumerate(subs):
            s["final_seq"] = finals[names[k % len(names)]]["seq"]
        await asyncio.gather(*sub_tasks)
        for n in names:
            await c.delete(f"/v1/graphs/{n}")
    lost = 0
    for k, s in enumerate(subs):
        server = {(min(u, v), max(u, v)): w for u, v, w in finals[names[k % len(names)]]["edges"]}
        lost += s["edges"] != server
    lat = np.array(stats["latency"]) * 1e3
    p50, p99 = np.percentile(lat, 50), np.percentile(lat, 99)
    print(f"{args.graphs} graphs x {args.writers} writers, {args.subscribers} subscribers, {elapsed:.0f} s: "
          f"{stats['ops'] / elapsed:,.0f} updates/s over {len(lat)} batches; batch latency p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms")
    print(f"errors: {len(stats['errors'])} {stats['errors'][:3]}; subscribers with a mirror != server: {lost}; "
          f"deltas delivered: {sum(s['deltas'] for s in subs)}; reconnects: {sum(s['reconnects'] for s in subs)}")
    if rss:
        print(f"server RSS MB every 5 s: {', '.join(f'{r:.0f}' for r in rss)}")
    return 0 if not stats["errors"] and not lost else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url")
    ap.add_argument("--graphs", type=int, default=3)
    ap.add_argument("--writers", type=int, default=2, help="writers per graph")
    ap.add_argument("--subscribers", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--side", type=int, default=120, help="mesh side (side**2 vertices per graph)")
    args = ap.parse_args()
    if args.url:
        return asyncio.run(run(args.url, args, None))
    port = free_port()
    env = {**os.environ, "SPARSEWIRE_LOG_LEVEL": "warning"}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "sparsewire.clients.cli", "serve", "--port", str(port),
                             "--data-dir", tempfile.mkdtemp(prefix="sw-load-")], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        return asyncio.run(run(url, args, proc.pid))
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    sys.exit(main())
