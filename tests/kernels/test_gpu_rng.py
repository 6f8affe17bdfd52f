"""sw_rng.cuh (compiled by g++) equals rng.py (numba and pure Python) on many random keys."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from numba import njit

from sparsewire.kernels.rng import draw, draw_py, mix64, mix64_py, walker_key, walker_key_py
from sparsewire.kernels.walks_cuda import KERNEL_DIR

RNG_MAIN = r"""
#include <cstdio>
#include "sw_rng.cuh"
int main() {
    unsigned long long seed, uid, w, step, d;
    while (std::scanf("%llu %llu %llu %llu %llu", &seed, &uid, &w, &step, &d) == 5) {
        sw_u64 key = sw_walker_key(seed, uid, w);
        std::printf("%llu %llu %lld\n", sw_mix64(seed), key, sw_draw(key, step, d));
    }
    return 0;
}
"""


@njit(cache=True)
def _numba_batch(seeds, uids, ws, steps, ds, mixed, keys, draws):  # noqa: ANN001
    for i in range(seeds.shape[0]):
        mixed[i] = mix64(seeds[i])
        keys[i] = walker_key(seeds[i], uids[i], ws[i])
        draws[i] = draw(keys[i], steps[i], ds[i])


@pytest.fixture(scope="module")
def rng_exe(kernel_build_dir):  # noqa: ANN001, ANN201
    if not shutil.which("g++"):
        pytest.skip("g++ not found on PATH")
    src = kernel_build_dir / "rng_main.cpp"
    src.write_text(RNG_MAIN)
    exe = kernel_build_dir / "rng_main"
    subprocess.run(["g++", "-O2", "-std=c++17", f"-I{KERNEL_DIR}", "-o", str(exe), str(src)], check=True)
    return exe


def test_cpp_rng_equals_python(rng_exe) -> None:  # noqa: ANN001
    rng = np.random.default_rng(2024)
    n = 20_000
    seeds = rng.integers(0, 2**63, size=n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, size=n,
                                                                                           dtype=np.uint64)
    seeds[:4] = [0, 1, 2**64 - 1, 0x5851F42D4C957F2D]  # wrap-around of seed + salt
    uids = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    ws = rng.integers(0, 1024, size=n, dtype=np.uint64)
    steps = rng.integers(1, 200, size=n, dtype=np.uint64)
    ds = rng.integers(1, 2**32, size=n, dtype=np.uint64)
    ds[:1000] = rng.integers(1, 8, size=1000, dtype=np.uint64)
    ds[1000] = 2**32 - 1
    inp = "\n".join(f"{a} {b} {c} {e} {f}" for a, b, c, e, f in zip(seeds, uids, ws, steps, ds, strict=True))
    out = subprocess.run([str(rng_exe)], input=inp, capture_output=True, text=True, check=True).stdout.split()
    got = np.array(out, dtype=object).reshape(n, 3)
    mixed, keys, draws = np.empty(n, np.uint64), np.empty(n, np.uint64), np.empty(n, np.int64)
    _numba_batch(seeds, uids, ws, steps, ds, mixed, keys, draws)
    assert [int(x) for x in got[:, 0]] == [int(x) for x in mixed]
    assert [int(x) for x in got[:, 1]] == [int(x) for x in keys]
    assert [int(x) for x in got[:, 2]] == [int(x) for x in draws]
    for i in range(0, n, 97):  # and the pure-Python twins used by the simulation
        assert mix64_py(int(seeds[i])) == int(got[i, 0])
        key = walker_key_py(int(seeds[i]), int(uids[i]), int(ws[i]))
        assert key == int(got[i, 1])
        assert draw_py(key, int(steps[i]), int(ds[i])) == int(got[i, 2])
    assert ((draws >= 0) & (draws < ds.astype(np.int64))).all()
