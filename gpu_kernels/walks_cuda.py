"""CUDA walk backend: the kernels of ``walks.cu`` launched through CuPy, bit-identical to the CPU backend.

* CuPy is imported lazily (only when a :class:`CudaBackend` is created), so the CPU path never needs it.
* The kernels are compiled with NVRTC by ``cupy.RawModule`` from :func:`kernel_source` (``walks.cu`` with its
  ``#include "..."`` headers inlined) and the options :data:`NVRTC_OPTIONS` (``-fmad=false`` so that no fused
  multiply-add changes the rounding of ``R += 1 / w`` or ``w_e * R``).
* Each :class:`~sparsewire.engine.dyngraph.DynamicGraph` gets one device mirror (:class:`DeviceGraph`,
  keyed by ``id(graph)`` and dropped by a weakref finaliser).  The first use uploads ``start``, ``deg``,
  ``nbr``, ``wt`` and switches on ``graph.track_changes``; later uses call ``graph.take_changes()`` and
  scatter only the touched vertices' ``start``/``deg`` entries and their live block entries (O(touched
  degree) bytes), with a full upload only when the host layout was rebuilt (pool grown or compacted, vertex
  arrays grown).
  ``cap`` is host-side bookkeeping; the kernels never read it, so it is not mirrored.
* :attr:`CudaBackend.timings` accumulates transfer and kernel seconds for the benchmark.

Launch shape: grid = one block per update, block = ``W`` rounded up to a multiple of 32 (``W`` in 1..1024).
"""

from __future__ import annotations

import re
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sparsewire.errors import BackendUnavailableError

if TYPE_CHECKING:
    from sparsewire.engine.backend import DeletionWalks, InsertionWalks
    from sparsewire.engine.dyngraph import DynamicGraph

KERNEL_DIR = Path(__file__).resolve().parent
KERNEL_FILE = KERNEL_DIR / "walks.cu"
NVRTC_OPTIONS = ("--std=c++17", "-fmad=false")
KERNEL_NAMES = ("sw_insertion_kernel", "sw_deletion_kernel")
MAX_WALKERS = 1024
_MASK64 = (1 << 64) - 1
_MAX_GRID = 2**31 - 1
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$', re.MULTILINE)


def kernel_source(path: Path = KERNEL_FILE) -> str:
    """``walks.cu`` with every ``#include "x"`` replaced by the file's text (each file once; the
    ``#pragma once`` lines are dropped), so NVRTC needs no include path."""
    seen: set[Path] = set()

    def expand(p: Path) -> str:
        p = p.resolve()
        if p in seen:
            return ""
        seen.add(p)
        text = p.read_text().replace("#pragma once", "")
        return _INCLUDE.sub(lambda m: expand(p.parent / m.group(1)), text)

    return expand(path)


def block_threads(W: int) -> int:
    """Threads per block for ``W`` walkers: ``W`` rounded up to a multiple of 32."""
    if not 1 <= int(W) <= MAX_WALKERS:
        raise ValueError(f"the CUDA backend runs 1..{MAX_WALKERS} walkers per update, got W={W}")
    return 32 * ((int(W) + 31) // 32)


def import_cupy() -> Any:
    """Import CuPy and check that it sees a device; raises :class:`BackendUnavailableError` otherwise."""
    try:
        import cupy  # noqa: PLC0415
    except ImportError as exc:
        raise BackendUnavailableError(
            "the CUDA backend needs CuPy: pip install 'sparsewire[gpu]' (CUDA 12) or "
            "'sparsewire[gpu-cuda13]' (CUDA 13)") from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001  (CUDARuntimeError: no driver, no device)
        raise BackendUnavailableError(f"CuPy finds no usable CUDA device: {exc}") from exc
    if count < 1:
        raise BackendUnavailableError("CuPy finds no CUDA device")
    return cupy


class Timings(dict):
    """Seconds and counters accumulated by a :class:`CudaBackend`."""

    KEYS = ("full_upload_s", "patch_s", "h2d_s", "kernel_s", "d2h_s")
    COUNTS = ("full_uploads", "patches", "patched_vertices", "h2d_bytes", "launches", "updates")

    def __init__(self) -> None:
        super().__init__(dict.fromkeys(self.KEYS, 0.0) | dict.fromkeys(self.COUNTS, 0))

    @property
    def transfer_s(self) -> float:
        return self["full_upload_s"] + self["patch_s"] + self["h2d_s"] + self["d2h_s"]


class DeviceGraph:
    """Device copy of a :class:`DynamicGraph`'s ``start``, ``deg``, ``nbr`` and ``wt`` arrays."""

    def __init__(self, xp: Any, graph: DynamicGraph, timings: Timings, sync: Any) -> None:
        self.xp = xp
        self._ref = weakref.ref(graph)
        self._timings = timings
        self._sync = sync
        self.start = self.deg = self.nbr = self.wt = None
        graph.track_changes = True
        graph.take_changes()  # everything is uploaded now; record from here on
        self.full_upload(graph)

    def owns(self, graph: DynamicGraph) -> bool:
        return self._ref() is graph

    def full_upload(self, graph: DynamicGraph) -> None:
        t = time.perf_counter()
        xp = self.xp
        self.start = xp.asarray(graph.start)
        self.deg = xp.asarray(graph.deg)
        self.nbr = xp.asarray(graph.nbr)
        self.wt = xp.asarray(graph.wt)
        self._sync()
        self._timings["full_upload_s"] += time.perf_counter() - t
        self._timings["full_uploads"] += 1
        self._timings["h2d_bytes"] += sum(a.nbytes for a in (graph.start, graph.deg, graph.nbr, graph.wt))

    def sync(self, graph: DynamicGraph) -> None:
        """Bring the mirror up to date with ``graph`` (patch touched blocks, or upload all if relaid)."""
        touched, relaid = graph.take_changes()
        if (relaid or graph.nbr.shape[0] != self.nbr.shape[0] or graph.start.shape[0] != self.start.shape[0]):
            self.full_upload(graph)
            return
        if touched.size:
            self.patch(graph, touched)

    def patch(self, graph: DynamicGraph, touched: np.ndarray) -> None:
        """Scatter the ``start``/``deg`` entries and live block entries of vertices ``touched``."""
        t = time.perf_counter()
        xp = self.xp
        vs = touched[touched < graph.start.shape[0]].astype(np.int64)
        st = graph.start[vs]
        dg = graph.deg[vs].astype(np.int64)
        offs = np.zeros(vs.shape[0] + 1, np.int64)
        np.cumsum(dg, out=offs[1:])
        idx = np.repeat(st - offs[:-1], dg) + np.arange(offs[-1], dtype=np.int64)
        host = (vs, st, graph.deg[vs], idx, graph.nbr[idx], graph.wt[idx])
        d_vs, d_st, d_dg, d_idx, d_nbr, d_wt = (xp.asarray(a) for a in host)
        self.start[d_vs] = d_st
        self.deg[d_vs] = d_dg
        if idx.shape[0]:
            self.nbr[d_idx] = d_nbr
            self.wt[d_idx] = d_wt
        self._sync()
        self._timings["patch_s"] += time.perf_counter() - t
        self._timings["patches"] += 1
        self._timings["patched_vertices"] += int(vs.shape[0])
        self._timings["h2d_bytes"] += sum(a.nbytes for a in host)


#: One mirror per live graph, shared by every CudaBackend of the process (``take_changes`` is consumed once).
_MIRRORS: dict[int, DeviceGraph] = {}


def _forget(key: int) -> None:
    _MIRRORS.pop(key, None)


class CudaBackend:
    """dyGRASS walks on an NVIDIA GPU (see the module docstring).

    ``cupy_module`` replaces the CuPy import (tests pass a numpy-backed fake that runs
    :mod:`sparsewire.kernels.simulate`).
    """

    name = "cuda"

    def __init__(self, *, cupy_module: Any = None) -> None:
        self.cp = import_cupy() if cupy_module is None else cupy_module
        self._module: Any = None
        self._kernels: dict[str, Any] = {}
        self.timings = Timings()

    # ------------------------------------------------------------------ plumbing
    def _sync(self) -> None:
        self.cp.cuda.runtime.deviceSynchronize()

    def kernel(self, name: str) -> Any:
        if name not in self._kernels:
            if self._module is None:
                self._module = self.cp.RawModule(code=kernel_source(), options=NVRTC_OPTIONS)
            self._kernels[name] = self._module.get_function(name)
        return self._kernels[name]

    def mirror(self, graph: DynamicGraph) -> DeviceGraph:
        """The up-to-date device mirror of ``graph`` (created and fully uploaded on first use)."""
        key = id(graph)
        m = _MIRRORS.get(key)
        if m is not None and m.owns(graph) and m.xp is self.cp:
            m.sync(graph)
            return m
        m = DeviceGraph(self.cp, graph, self.timings, self._sync)
        _MIRRORS[key] = m
        weakref.finalize(graph, _forget, key)
        return m

    def reset_timings(self) -> None:
        self.timings = Timings()
        for m in _MIRRORS.values():
            if m.xp is self.cp:
                m._timings = self.timings

    def _upload(self, *arrays: np.ndarray) -> list[Any]:
        t = time.perf_counter()
        out = [self.cp.asarray(a) for a in arrays]
        self._sync()
        self.timings["h2d_s"] += time.perf_counter() - t
        self.timings["h2d_bytes"] += sum(a.nbytes for a in arrays)
        return out

    def _launch(self, name: str, b: int, W: int, args: tuple) -> None:
        if b > _MAX_GRID:
            raise ValueError(f"at most {_MAX_GRID} updates per batch, got {b}")
        kern = self.kernel(name)
        self._sync()
        t = time.perf_counter()
        kern((b,), (block_threads(W),), args)
        self._sync()
        self.timings["kernel_s"] += time.perf_counter() - t
        self.timings["launches"] += 1
        self.timings["updates"] += b

    def _download(self, *arrays: Any) -> list[np.ndarray]:
        t = time.perf_counter()
        out = [self.cp.asnumpy(a) for a in arrays]
        self.timings["d2h_s"] += time.perf_counter() - t
        return out

    # ------------------------------------------------------------------ WalkBackend
    def insertion(self, graph, ps, qs, ws, uids, *, seed, K, T, W, first_step_exempt) -> InsertionWalks:  # noqa: ANN001
        from sparsewire.engine.backend import InsertionWalks  # noqa: PLC0415

        b = len(ps)
        block_threads(W)
        if b == 0:
            return InsertionWalks(np.zeros(0, np.bool_), np.zeros(0, np.int32), np.zeros(0, np.float64),
                                  np.zeros(0, np.int32), np.zeros(0, np.int64))
        g = self.mirror(graph)
        cp = self.cp
        d_ps, d_qs, d_ws, d_uids = self._upload(_i64(ps), _i64(qs), _f64(ws), _i64(uids))
        found = cp.empty(b, dtype=np.bool_)
        steps = cp.empty(b, dtype=np.int32)
        resist = cp.empty(b, dtype=np.float64)
        winner = cp.empty(b, dtype=np.int32)
        work = cp.empty(b, dtype=np.int64)
        args = (g.start, g.deg, g.nbr, g.wt, d_ps, d_qs, d_ws, d_uids, np.uint64(int(seed) & _MASK64),
                np.float64(K), np.int32(T), np.int32(W), np.int32(bool(first_step_exempt)),
                found, steps, resist, winner, work)
        self._launch("sw_insertion_kernel", b, W, args)
        return InsertionWalks(*self._download(found, steps, resist, winner, work))

    def deletion(self, graph, ps, qs, uids, *, seed, T, W) -> DeletionWalks:  # noqa: ANN001
        from sparsewire.engine.backend import DeletionWalks  # noqa: PLC0415

        b = len(ps)
        block_threads(W)
        if b == 0:
            return DeletionWalks(np.zeros(0, np.bool_), np.zeros(0, np.int32), np.zeros(0, np.float64),
                                 np.zeros(0, np.int32), np.zeros(0, np.int64),
                                 np.full((0, int(T) + 1), -1, np.int64))
        g = self.mirror(graph)
        cp = self.cp
        d_ps, d_qs, d_uids = self._upload(_i64(ps), _i64(qs), _i64(uids))
        found = cp.empty(b, dtype=np.bool_)
        steps = cp.empty(b, dtype=np.int32)
        resist = cp.empty(b, dtype=np.float64)
        winner = cp.empty(b, dtype=np.int32)
        work = cp.empty(b, dtype=np.int64)
        paths = cp.full((b, int(T) + 1), -1, dtype=np.int64)
        args = (g.start, g.deg, g.nbr, g.wt, d_ps, d_qs, d_uids, np.uint64(int(seed) & _MASK64),
                np.int32(T), np.int32(W), found, steps, resist, winner, work, paths)
        self._launch("sw_deletion_kernel", b, W, args)
        return DeletionWalks(*self._download(found, steps, resist, winner, work, paths))


def _i64(a: Any) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int64)


def _f64(a: Any) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)
