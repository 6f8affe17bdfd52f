// One dyGRASS walker (localized non-backtracking random walk, spec dygrass.md §2), written once for the
// CUDA kernels (walks.cu) and the host check (host_check.cpp).  Semantics are those of `_walk` in
// gpu_kernels/walks_cpu.py, bit for bit:
//
//   for s = 1 .. T:
//     d = deg[cur]; d == 0 -> die;  after the first step d == 1 -> die (dead end)
//     first step: k = draw(key, s, d); later: k = draw(key, s, d - 1), and k = d - 1 if nbr[k] == prev
//     R += 1.0 / w   (double; build with -fmad=false / -ffp-contract=off)
//     capped and (s >= 2 or !exempt_first) and w_e * R >= K -> fail
//     R >= best -> fail (pruning bound; pass +inf for none)
//     reached q -> success with (s, R)
//
// Graph layout: vertex v's neighbours are nbr[start[v] .. start[v] + deg[v]) with weights wt[...]; offsets are
// 64-bit, vertex ids 32-bit.
#pragma once

#include "sw_rng.cuh"

// Sentinel walker index of a failed walker in the reductions (larger than any walker index).
#define SW_NONE 0x7fffffff

struct SwWalk {
    int steps;      // > 0 on success: number of edges taken to reach q; 0 on failure
    double R;       // accumulated resistance (sum of 1 / w over the edges taken)
    long long work; // steps actually taken (the CPU backend's work metric)
};

SW_HD double sw_inf() {
#if defined(__CUDA_ARCH__)
    return __longlong_as_double(0x7ff0000000000000LL);
#else
    return __builtin_huge_val();
#endif
}

// Run one walker.  `path`, when not null, receives the visited vertices path[0] = p, path[s] = vertex after
// step s (entries past the last step are left untouched).
SW_HD SwWalk sw_walk(const long long* start, const int* deg, const int* nbr, const double* wt,
                     long long p, long long q, double w_e, double K, int T, sw_u64 key,
                     bool capped, bool exempt_first, double best, long long* path) {
    SwWalk out;
    out.steps = 0;
    out.R = 0.0;
    out.work = 0;
    long long prev = -1;
    long long cur = p;
    double R = 0.0;
    if (path) path[0] = p;
    for (int s = 1; s <= T; ++s) {
        long long d = (long long)deg[cur];
        long long base = start[cur];
        if (d == 0) { out.R = R; out.work = s - 1; return out; }
        long long k;
        if (prev < 0) {
            k = sw_draw(key, (sw_u64)s, (sw_u64)d);
        } else {
            if (d == 1) { out.R = R; out.work = s - 1; return out; }
            k = sw_draw(key, (sw_u64)s, (sw_u64)(d - 1));
            if ((long long)nbr[base + k] == prev) k = d - 1;
        }
        long long nxt = (long long)nbr[base + k];
        R += 1.0 / wt[base + k];
        if (path) path[s] = nxt;
        if (capped && (s >= 2 || !exempt_first) && w_e * R >= K) { out.R = R; out.work = s; return out; }
        if (R >= best) { out.R = R; out.work = s; return out; }
        if (nxt == q) { out.steps = s; out.R = R; out.work = s; return out; }
        prev = cur;
        cur = nxt;
    }
    out.R = R;
    out.work = T;
    return out;
}

// Reduction orders.  Insertion: the lowest successful walker index wins.  Deletion: the lexicographic
// minimum of (R, walker index) over successful walkers; failed walkers carry (+inf, SW_NONE).
SW_HD bool sw_ins_better(int idx_b, int idx_a) { return idx_b < idx_a; }

SW_HD bool sw_del_better(double R_b, int idx_b, double R_a, int idx_a) {
    return R_b < R_a || (R_b == R_a && idx_b < idx_a);
}
