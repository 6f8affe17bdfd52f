"""Counter-based random numbers shared bit for bit by the CPU (numba) and CUDA walk kernels.

Every random draw is a pure function of ``(seed, update_id, walker, step)``: no state is carried between
draws, so results do not depend on how updates are laid out in batches, threads or launches.

Definitions (all arithmetic modulo 2**64):

* ``mix64(z)`` is the splitmix64 finaliser (Steele, Lea, Flood 2014), a bijection with full avalanche.
* ``walker_key(seed, uid, walker) = mix64(mix64(mix64(seed + C) ^ uid) ^ walker)`` with
  ``C = 0x5851F42D4C957F2D``.
* ``draw(key, step, d) = ((mix64(key + step * GOLDEN) >> 32) * d) >> 32`` is an integer in ``[0, d)``
  (Lemire's multiply-shift on 32 random bits; the bias is below ``d / 2**32``, identical on both devices).

``gpu_kernels/sw_rng.cuh`` implements the same three functions for CUDA; ``tests/kernels`` checks them equal.
"""

from __future__ import annotations

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
SEED_SALT = np.uint64(0x5851F42D4C957F2D)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)


@njit(cache=True, inline="always")
def mix64(z: np.uint64) -> np.uint64:
    """splitmix64 finaliser."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def walker_key(seed: np.uint64, uid: np.uint64, walker: np.uint64) -> np.uint64:
    """Key of one walker of one update."""
    return mix64(mix64(mix64(seed + SEED_SALT) ^ uid) ^ walker)


@njit(cache=True, inline="always")
def draw(key: np.uint64, step: np.uint64, d: np.uint64) -> np.int64:
    """Uniform integer in ``[0, d)`` for draw number ``step`` of the walker with ``key``; ``d < 2**32``."""
    x = mix64(key + step * GOLDEN)
    return np.int64(((x >> _S32) * d) >> _S32)


_MASK = (1 << 64) - 1


def mix64_py(z: int) -> int:
    """Pure-Python ``mix64`` for reference simulations and tests."""
    z &= _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def walker_key_py(seed: int, uid: int, walker: int) -> int:
    return mix64_py(mix64_py(mix64_py(seed + int(SEED_SALT)) ^ uid) ^ walker)


def draw_py(key: int, step: int, d: int) -> int:
    x = mix64_py(key + step * int(GOLDEN))
    return ((x >> 32) * d) >> 32
