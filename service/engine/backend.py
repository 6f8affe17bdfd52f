"""Walk backends: one place chooses where the dyGRASS walks run.

``cpu`` runs the numba kernels of :mod:`sparsewire.kernels.walks_cpu`; ``cuda`` runs the CUDA kernels of
:mod:`sparsewire.kernels.walks_cuda` through CuPy; ``auto`` picks ``cuda`` when CuPy sees a device and ``cpu``
otherwise.  Both backends implement the same walk semantics and random numbers, so for a given seed they
return identical results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from sparsewire.errors import BackendUnavailableError
from sparsewire.kernels import walks_cpu

if TYPE_CHECKING:
    from sparsewire.engine.dyngraph import DynamicGraph

BACKEND_NAMES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class InsertionWalks:
    """Per update: ``found`` (some walker reached q with w·R < K), the first successful walker's index,
    its step count and resistance (ohms, i.e. sum of 1/w), and the walker steps spent (``work``)."""

    found: np.ndarray
    steps: np.ndarray
    resistance: np.ndarray
    winner: np.ndarray
    work: np.ndarray


@dataclass(frozen=True)
class DeletionWalks:
    """Per update: the best walker (minimum resistance, lowest index on ties) and its vertex sequence
    ``paths[i, :steps[i] + 1]`` (``-1`` padded)."""

    found: np.ndarray
    steps: np.ndarray
    resistance: np.ndarray
    winner: np.ndarray
    work: np.ndarray
    paths: np.ndarray


class WalkBackend(Protocol):
    name: str

    def insertion(self, graph: DynamicGraph, ps: np.ndarray, qs: np.ndarray, ws: np.ndarray,
                  uids: np.ndarray, *, seed: int, K: float, T: int, W: int,
                  first_step_exempt: bool) -> InsertionWalks: ...

    def deletion(self, graph: DynamicGraph, ps: np.ndarray, qs: np.ndarray, uids: np.ndarray, *,
                 seed: int, T: int, W: int) -> DeletionWalks: ...


class CpuBackend:
    """numba kernels, parallel over the updates of a batch.

    Insertion tests may skip the remaining walkers of an edge once a bounded exact search proves that none can
    succeed (:func:`sparsewire.kernels.walks_cpu._provably_critical`).  That pays off on graphs whose
    resistance balls of radius K/w are small (unit-weight meshes: 10x faster) and costs time where they are huge
    (G3_circuit's high conductances), so the search always runs on the first updates of a batch and runs on the
    rest only while its estimated saving (walker steps avoided minus its own cost) stays positive.  Results are
    identical either way.
    """

    name = "cpu"
    #: updates per batch on which the search is always tried, to keep measuring what it saves
    PROBE = 32

    def __init__(self) -> None:
        self.search_gain = 1.0  # moving average of the estimated walker steps saved per search

    def insertion(self, graph, ps, qs, ws, uids, *, seed, K, T, W, first_step_exempt):  # noqa: ANN001
        b = len(ps)
        prove_after = np.full(b, walks_cpu.PROVE_AFTER if self.search_gain > 0 else W, np.int32)
        prove_after[: self.PROBE] = walks_cpu.PROVE_AFTER
        searched = np.zeros(b, np.int8)
        gain = np.zeros(b, np.float64)
        out = walks_cpu.run_insertion(graph.view(), ps, qs, ws, uids, seed=seed, K=K, T=T, W=W,
                                      first_step_exempt=first_step_exempt, prove_after=prove_after,
                                      searched=searched, gain=gain)
        tried = searched > 0
        if tried.any():
            self.search_gain = 0.5 * self.search_gain + 0.5 * float(gain[tried].mean())
        return InsertionWalks(*out)

    def deletion(self, graph, ps, qs, uids, *, seed, T, W):  # noqa: ANN001
        return DeletionWalks(*walks_cpu.run_deletion(graph.view(), ps, qs, uids, seed=seed, T=T, W=W))


def cuda_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy  # noqa: PLC0415

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001  (ImportError, CUDARuntimeError, missing driver...)
        return False


def select_backend(name: str = "auto") -> WalkBackend:
    """Return the walk backend for ``name`` (``auto``, ``cpu`` or ``cuda``).

    Raises
    ------
    BackendUnavailableError
        ``cuda`` was asked for on a machine where CuPy finds no device.
    ValueError
        ``name`` is not a backend name.
    """
    if name not in BACKEND_NAMES:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(BACKEND_NAMES)}")
    if name == "cpu" or (name == "auto" and not cuda_available()):
        return CpuBackend()
    if not cuda_available():
        raise BackendUnavailableError(
            "backend 'cuda' requested but no CUDA device is visible to CuPy "
            "(install the gpu extra: pip install 'sparsewire[gpu]', and check nvidia-smi)"
        )
    from sparsewire.kernels.walks_cuda import CudaBackend  # noqa: PLC0415

    return CudaBackend()
