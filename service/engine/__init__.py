"""dyGRASS engine: dynamic spectral graph sparsification, as a library (no HTTP, no Redis).

Catalogue
---------
Sparsifier            G and its sparsifier H, updated by insertion/deletion batches (dyGRASS)
SparsifierParams      distortion threshold K, steps T, walkers W, seed and semantics switches
EdgeBatch             a batch of insert/delete operations on vertex indices
BatchResult           per-operation status/action, the net sparsifier delta, replay record
DynamicGraph          undirected weighted graph with O(1) amortised edge updates, read in place by walks
select_backend        choose the walk backend: "auto", "cpu" (numba) or "cuda" (CuPy)
lowest_resistance_path  exact fallback path search (bidirectional Dijkstra on 1/w)

Quality (κ, density, components), the initial sparsifier and graph file I/O live in
:mod:`sparsewire.engine.quality`, :mod:`sparsewire.engine.h0` and :mod:`sparsewire.engine.mmio`.
"""

from sparsewire.engine.backend import select_backend
from sparsewire.engine.batch import ACTIONS, STATUS, BatchResult, EdgeBatch, SparsifierDelta
from sparsewire.engine.dyngraph import DynamicGraph
from sparsewire.engine.paths import lowest_resistance_path
from sparsewire.engine.sparsifier import Sparsifier, SparsifierParams

__all__ = [
    "ACTIONS",
    "STATUS",
    "BatchResult",
    "DynamicGraph",
    "EdgeBatch",
    "Sparsifier",
    "SparsifierDelta",
    "SparsifierParams",
    "lowest_resistance_path",
    "select_backend",
]
