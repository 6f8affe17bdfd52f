"""Build and drive ``host_check.cpp``: the kernels' header code (``sw_rng.cuh``, ``sw_walk.cuh``) run on the
host, for equality tests against the numba CPU backend on machines without a GPU.

``strategy="kernel"`` runs every walker unpruned and folds the results with the kernels' reduction orders
(what ``walks.cu`` computes); ``strategy="sequential"`` runs the walkers in index order with the CPU
backend's early exit (insertion) and pruning bound (deletion).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sparsewire.kernels.walks_cuda import KERNEL_DIR

SOURCE = KERNEL_DIR / "host_check.cpp"
GXX_FLAGS = ("-O2", "-std=c++17", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror")
NVCC_FLAGS = ("-x", "cu", "-O2", "--std=c++17", "-fmad=false")


def build(out_dir: Path, compiler: str = "g++") -> Path:
    """Compile ``host_check.cpp`` into ``out_dir`` with ``g++`` (or ``nvcc`` as a host compiler)."""
    exe = Path(out_dir) / f"host_check_{Path(compiler).name}"
    flags = NVCC_FLAGS if Path(compiler).name == "nvcc" else GXX_FLAGS
    cmd = [compiler, *flags, f"-I{KERNEL_DIR}", "-o", str(exe), str(SOURCE)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr}")
    return exe


def available_compilers() -> list[str]:
    return [c for c in ("g++", "nvcc") if shutil.which(c)]


@dataclass(frozen=True)
class HostResult:
    found: np.ndarray
    steps: np.ndarray
    resistance: np.ndarray
    winner: np.ndarray
    work: np.ndarray
    paths: np.ndarray | None


def run(exe: Path, view, ps, qs, ws, uids, *, deletion: bool, seed: int, K: float = np.inf,  # noqa: ANN001
        T: int, W: int, first_step_exempt: bool = True, strategy: str = "kernel") -> HostResult:
    """Run the host check on the adjacency ``view`` (``start``, ``deg``, ``nbr``, ``wt``, ``n``)."""
    n = int(view.n)
    ps, qs, uids = (np.ascontiguousarray(a, np.int64) for a in (ps, qs, uids))
    nupd = ps.shape[0]
    ws = np.ascontiguousarray(np.ones(nupd) if ws is None else ws, np.float64)
    nbr = np.ascontiguousarray(view.nbr, np.int32)
    hdr = np.array([int(deletion), {"kernel": 0, "sequential": 1}[strategy], n, nbr.shape[0], nupd, T, W],
                   np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        with open(fin, "wb") as f:
            for a in (hdr, np.array([int(seed) & ((1 << 64) - 1)], np.uint64), np.array([K], np.float64),
                      np.array([int(first_step_exempt)], np.int64),
                      np.ascontiguousarray(view.start[:n], np.int64),
                      np.ascontiguousarray(view.deg[:n], np.int32),
                      nbr, np.ascontiguousarray(view.wt, np.float64), ps, qs, ws, uids):
                f.write(a.tobytes())
        subprocess.run([str(exe), str(fin), str(fout)], check=True)
        raw = fout.read_bytes()
    off = 0

    def take(dtype, count):  # noqa: ANN001, ANN202
        nonlocal off
        a = np.frombuffer(raw, dtype, count, off)
        off += a.nbytes
        return a.copy()

    found = take(np.int32, nupd).astype(np.bool_)
    steps = take(np.int32, nupd)
    resist = take(np.float64, nupd)
    winner = take(np.int32, nupd)
    work = take(np.int64, nupd)
    paths = take(np.int64, nupd * (T + 1)).reshape(nupd, T + 1) if deletion else None
    assert off == len(raw)
    return HostResult(found, steps, resist, winner, work, paths)
