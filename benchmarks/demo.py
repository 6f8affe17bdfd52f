"""``make demo``: the product's main job, end to end, against a running service.

Loads a graph (``../shared/data/undirected/fe_4elt2.mtx.gz`` when present, or ``--graph PATH``, or a generated
Delaunay mesh), streams generated local insertions and then sparsifier-edge deletions in batches through the HTTP
API while a websocket subscriber mirrors the sparsifier, then prints updates/s, p50/p99 batch latency, κ and
density, and checks that the mirror equals ``GET .../sparsifier``.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

from sparsewire.clients.sdk import Client, Mirror
from sparsewire.engine import Sparsifier, SparsifierParams
from sparsewire.engine.mmio import read_graph, write_matrix_market
from sparsewire.engine.streams import local_insertions, sparsifier_deletions

DEFAULT_GRAPH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "undirected" / "fe_4elt2.mtx.gz"


def delaunay_mtx(points: int, seed: int) -> bytes:
    from scipy.spatial import Delaunay  # noqa: PLC0415

    tri = Delaunay(np.random.default_rng(seed).random((points, 2)))
    e = np.concatenate([tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]], tri.simplices[:, [0, 2]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    buf = io.BytesIO()
    write_matrix_market(buf, points, e[:, 0], e[:, 1], np.ones(len(e)))
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=None, help="service URL (default $SPARSEWIRE_URL or http://127.0.0.1:8000)")
    ap.add_argument("--graph", type=Path, default=None, help="a .mtx/.mtx.gz/.csv graph file")
    ap.add_argument("--K", type=float, default=33.0)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--insert-frac", type=float, default=0.25)
    ap.add_argument("--delete-frac", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    path = args.graph or (DEFAULT_GRAPH if DEFAULT_GRAPH.exists() else None)
    data = path.read_bytes() if path else delaunay_mtx(5000, args.seed)
    label = path.name if path else "generated Delaunay mesh (5,000 points)"
    params = SparsifierParams(K=args.K, seed=args.seed)
    g = read_graph(data)
    # the stream is generated on a local replica (same seed, same initial sparsifier as the server builds)
    local = Sparsifier.from_edges(g.n, g.u, g.v, g.w, params=params, backend="cpu")
    iu, iv, iw = local_insertions(local.graph, int(args.insert_frac * g.n), seed=args.seed + 1)
    local.insert_batch(iu, iv, iw)
    du, dv = sparsifier_deletions(local.graph, local.sparsifier, int(args.delete_frac * g.n), seed=args.seed + 2)
    b = g.base
    ops = [{"op": "insert", "u": int(x) + b, "v": int(y) + b, "w": float(w)}
           for x, y, w in zip(iu, iv, iw, strict=True)]
    ops += [{"op": "delete", "u": int(x) + b, "v": int(y) + b} for x, y in zip(du, dv, strict=True)]

    name = f"demo-{int(time.time())}"
    with Client(args.url) as client:
        client.create_graph(name, params=params.to_dict())
        t = time.perf_counter()
        info = client.import_file(name, data)
        print(f"{label}: {info.nodes} vertices, {info.edges} edges; initial sparsifier {info.sparsifier_edges} edges "
              f"(density {info.density:.4f}) built in {time.perf_counter() - t:.1f} s")
        mirror = Mirror(client, name)
        mirror.start()
        latencies = []
        t0 = time.perf_counter()
        for i in range(0, len(ops), args.batch):
            t = time.perf_counter()
            reply = client.updates(name, ops[i : i + args.batch])
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - t0
        mirror.wait_for(reply.cursor, timeout=120)
        mirror.stop()
        server = {(min(u, v), max(u, v)): w for u, v, w in client.sparsifier(name).edges}
        quality = client.quality(name)
        same = mirror.edges() == server
        print(f"streamed {len(ops)} updates in {len(latencies)} batches of {args.batch}: "
              f"{len(ops) / elapsed:,.0f} updates/s, batch latency p50 {np.percentile(latencies, 50) * 1e3:.1f} ms, "
              f"p99 {np.percentile(latencies, 99) * 1e3:.1f} ms")
        print(f"kappa {quality.kappa:.1f}, density {quality.density:.4f}, components G/H "
              f"{quality.components_graph}/{quality.components_sparsifier}")
        print(f"mirror after {mirror.deltas} deltas: {len(mirror.edges())} edges, "
              f"{'equals' if same else 'DIFFERS FROM'} GET /sparsifier ({len(server)} edges)")
        client.delete_graph(name)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
