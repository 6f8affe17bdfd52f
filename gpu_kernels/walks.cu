// dyGRASS walk kernels: one block per update, one thread per walker (spec dygrass.md §6).
//
// Launch: grid = (number of updates,), block = (W rounded up to a multiple of 32,).  Threads with index >= W
// run no walk and enter the reductions as failed walkers, so every warp is full and the full-mask shuffles
// are well defined for any W in 1 .. 1024.  Results equal the numba CPU backend (walks_cpu.py) exactly,
// except `work`, which here counts every step of every walker (no pruning, no early exit).
#include "sw_walk.cuh"

#define SW_FULL_MASK 0xffffffffu
#define SW_MAX_WARPS 32

__device__ __forceinline__ long long sw_block_sum(long long v, long long* s_sum) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(SW_FULL_MASK, v, off);
    if (lane == 0) s_sum[warp] = v;
    __syncthreads();
    long long tot = 0;
    if (warp == 0) {
        tot = lane < nwarps ? s_sum[lane] : 0;
        for (int off = 16; off > 0; off >>= 1) tot += __shfl_down_sync(SW_FULL_MASK, tot, off);
    }
    return tot;  // valid in thread 0
}

// Insertion test.  found[i]: some walker j < W reached q with w_e * R < K; winner/steps/resist: the lowest
// such walker (the CPU backend's "first success").  Not found: winner -1, steps 0, resist +inf.
extern "C" __global__ void sw_insertion_kernel(
    const long long* __restrict__ start, const int* __restrict__ deg, const int* __restrict__ nbr,
    const double* __restrict__ wt, const long long* __restrict__ ps, const long long* __restrict__ qs,
    const double* __restrict__ ws, const long long* __restrict__ uids, unsigned long long seed, double K,
    int T, int W, int exempt_first, bool* __restrict__ found, int* __restrict__ steps,
    double* __restrict__ resist, int* __restrict__ winner, long long* __restrict__ work) {
    __shared__ int s_idx[SW_MAX_WARPS];
    __shared__ int s_steps[SW_MAX_WARPS];
    __shared__ double s_R[SW_MAX_WARPS];
    __shared__ long long s_sum[SW_MAX_WARPS];
    const long long i = (long long)blockIdx.x;
    const int j = threadIdx.x, lane = j & 31, warp = j >> 5, nwarps = blockDim.x >> 5;

    int idx = SW_NONE, st = 0;
    double R = sw_inf();
    long long wk = 0;
    if (j < W) {
        sw_u64 key = sw_walker_key(seed, (sw_u64)uids[i], (sw_u64)j);
        SwWalk r = sw_walk(start, deg, nbr, wt, ps[i], qs[i], ws[i], K, T, key, true, exempt_first != 0,
                           sw_inf(), (long long*)0);
        wk = r.work;
        if (r.steps > 0) { idx = j; st = r.steps; R = r.R; }
    }
    // warp level: lane 0 ends with the warp's lowest successful index
    for (int off = 16; off > 0; off >>= 1) {
        int o_idx = __shfl_down_sync(SW_FULL_MASK, idx, off);
        int o_st = __shfl_down_sync(SW_FULL_MASK, st, off);
        double o_R = __shfl_down_sync(SW_FULL_MASK, R, off);
        if (sw_ins_better(o_idx, idx)) { idx = o_idx; st = o_st; R = o_R; }
    }
    if (lane == 0) { s_idx[warp] = idx; s_steps[warp] = st; s_R[warp] = R; }
    __syncthreads();
    if (warp == 0) {
        idx = lane < nwarps ? s_idx[lane] : SW_NONE;
        st = lane < nwarps ? s_steps[lane] : 0;
        R = lane < nwarps ? s_R[lane] : sw_inf();
        for (int off = 16; off > 0; off >>= 1) {
            int o_idx = __shfl_down_sync(SW_FULL_MASK, idx, off);
            int o_st = __shfl_down_sync(SW_FULL_MASK, st, off);
            double o_R = __shfl_down_sync(SW_FULL_MASK, R, off);
            if (sw_ins_better(o_idx, idx)) { idx = o_idx; st = o_st; R = o_R; }
        }
    }
    long long tot = sw_block_sum(wk, s_sum);
    if (j == 0) {
        const bool ok = idx != SW_NONE;
        found[i] = ok;
        winner[i] = ok ? idx : -1;
        steps[i] = ok ? st : 0;
        resist[i] = ok ? R : sw_inf();
        work[i] = tot;
    }
}

// Deletion walks (no cap).  The best walker is the lexicographic minimum of (R, walker index) over the
// successful walkers; it re-runs its walk (same key, hence the same path) writing
// paths[i * (T + 1) + 0 .. steps].  `paths` must be pre-filled with -1 by the caller.
extern "C" __global__ void sw_deletion_kernel(
    const long long* __restrict__ start, const int* __restrict__ deg, const int* __restrict__ nbr,
    const double* __restrict__ wt, const long long* __restrict__ ps, const long long* __restrict__ qs,
    const long long* __restrict__ uids, unsigned long long seed, int T, int W, bool* __restrict__ found,
    int* __restrict__ steps, double* __restrict__ resist, int* __restrict__ winner,
    long long* __restrict__ work, long long* __restrict__ paths) {
    __shared__ int s_idx[SW_MAX_WARPS];
    __shared__ int s_steps[SW_MAX_WARPS];
    __shared__ double s_R[SW_MAX_WARPS];
    __shared__ long long s_sum[SW_MAX_WARPS];
    __shared__ int s_win;
    const long long i = (long long)blockIdx.x;
    const int j = threadIdx.x, lane = j & 31, warp = j >> 5, nwarps = blockDim.x >> 5;
    const double inf = sw_inf();

    int idx = SW_NONE, st = 0;
    double R = inf;
    long long wk = 0;
    sw_u64 key = 0;
    if (j < W) {
        key = sw_walker_key(seed, (sw_u64)uids[i], (sw_u64)j);
        SwWalk r = sw_walk(start, deg, nbr, wt, ps[i], qs[i], 1.0, inf, T, key, false, true, inf,
                           (long long*)0);
        wk = r.work;
        if (r.steps > 0) { idx = j; st = r.steps; R = r.R; }
    }
    for (int off = 16; off > 0; off >>= 1) {
        int o_idx = __shfl_down_sync(SW_FULL_MASK, idx, off);
        int o_st = __shfl_down_sync(SW_FULL_MASK, st, off);
        double o_R = __shfl_down_sync(SW_FULL_MASK, R, off);
        if (sw_del_better(o_R, o_idx, R, idx)) { idx = o_idx; st = o_st; R = o_R; }
    }
    if (lane == 0) { s_idx[warp] = idx; s_steps[warp] = st; s_R[warp] = R; }
    __syncthreads();
    if (warp == 0) {
        idx = lane < nwarps ? s_idx[lane] : SW_NONE;
        st = lane < nwarps ? s_steps[lane] : 0;
        R = lane < nwarps ? s_R[lane] : inf;
        for (int off = 16; off > 0; off >>= 1) {
            int o_idx = __shfl_down_sync(SW_FULL_MASK, idx, off);
            int o_st = __shfl_down_sync(SW_FULL_MASK, st, off);
            double o_R = __shfl_down_sync(SW_FULL_MASK, R, off);
            if (sw_del_better(o_R, o_idx, R, idx)) { idx = o_idx; st = o_st; R = o_R; }
        }
    }
    long long tot = sw_block_sum(wk, s_sum);
    if (j == 0) {
        const bool ok = idx != SW_NONE;
        found[i] = ok;
        winner[i] = ok ? idx : -1;
        steps[i] = ok ? st : 0;
        resist[i] = ok ? R : inf;
        work[i] = tot;
        s_win = idx;
    }
    __syncthreads();
    if (j == s_win) {  // s_win == SW_NONE matches no thread
        sw_walk(start, deg, nbr, wt, ps[i], qs[i], 1.0, inf, T, key, false, true, inf,
                paths + i * (long long)(T + 1));
    }
}
