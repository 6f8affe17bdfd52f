// Counter-based random numbers shared bit for bit by the CUDA kernels, the host check and the numba
// CPU kernels (gpu_kernels/rng.py).  All arithmetic is unsigned 64-bit, i.e. modulo 2**64.
//
//   mix64(z)                    splitmix64 finaliser
//   walker_key(seed, uid, j)  = mix64(mix64(mix64(seed + 0x5851F42D4C957F2D) ^ uid) ^ j)
//   draw(key, step, d)        = ((mix64(key + step * 0x9E3779B97F4A7C15) >> 32) * d) >> 32   in [0, d)
//
// The header is self-contained (no standard headers) so that NVRTC, nvcc and g++ all accept it.
#pragma once

#ifndef SW_HD
#if defined(__CUDACC__)
#define SW_HD __host__ __device__ __forceinline__
#else
#define SW_HD inline
#endif
#endif

typedef unsigned long long sw_u64;

#define SW_GOLDEN 0x9E3779B97F4A7C15ULL
#define SW_SEED_SALT 0x5851F42D4C957F2DULL

SW_HD sw_u64 sw_mix64(sw_u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

SW_HD sw_u64 sw_walker_key(sw_u64 seed, sw_u64 uid, sw_u64 walker) {
    return sw_mix64(sw_mix64(sw_mix64(seed + SW_SEED_SALT) ^ uid) ^ walker);
}

// Uniform integer in [0, d) for draw number `step` of the walker with `key`; requires d < 2**32.
SW_HD long long sw_draw(sw_u64 key, sw_u64 step, sw_u64 d) {
    sw_u64 x = sw_mix64(key + step * SW_GOLDEN);
    return (long long)(((x >> 32) * d) >> 32);
}
