from pathlib import Path

import pytest

from sparsewire.analysis.graph import SignedGraph

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def need_data(sub: str) -> Path:
    path = DATA / sub
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (expected ../shared/data next to the repo)")
    return path


def g(edges, directed=False, nodes=None):
    return SignedGraph.from_request(nodes, [{"source": a, "target": b, "weight": w} for a, b, w in edges],
                                    directed=directed)


def nxg(graph):
    return SignedGraph.from_request(list(graph.nodes), [{"source": a, "target": b, "weight": 1}
                                                        for a, b in graph.edges], directed=False)
