// Host check: runs the dyGRASS walks on the CPU with the very header code the CUDA kernels use
// (sw_rng.cuh, sw_walk.cuh), so that tests on machines without a GPU can compare it with the numba backend.
//
// Build:  g++ -O2 -std=c++17 -ffp-contract=off -o host_check host_check.cpp
//    or:  nvcc -x cu -O2 --std=c++17 -fmad=false -o host_check host_check.cpp
//
// Usage:  host_check IN OUT
//
// IN  (little-endian, packed): int64 mode (0 insertion, 1 deletion), int64 strategy (0 kernel: every walker
//     runs unpruned and the results are folded with the kernels' reduction orders; 1 sequential: walkers in
//     index order with the CPU backend's early exit / pruning bound), int64 n, int64 pool, int64 nupd,
//     int64 T, int64 W, uint64 seed, float64 K, int64 exempt_first;
//     then int64 start[n], int32 deg[n], int32 nbr[pool], float64 wt[pool],
//     int64 ps[nupd], int64 qs[nupd], float64 ws[nupd], int64 uids[nupd].
// OUT: int32 found[nupd], int32 steps[nupd], float64 resist[nupd], int32 winner[nupd], int64 work[nupd],
//     int64 paths[nupd * (T + 1)] (deletion mode only; -1 padded).
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "sw_walk.cuh"

template <class X>
static void rd(std::FILE* f, X* p, long long n) {
    if (n > 0 && std::fread(p, sizeof(X), (size_t)n, f) != (size_t)n) {
        std::fprintf(stderr, "host_check: short read\n");
        std::exit(2);
    }
}

template <class X>
static void wr(std::FILE* f, const std::vector<X>& v) {
    if (!v.empty() && std::fwrite(v.data(), sizeof(X), v.size(), f) != v.size()) {
        std::fprintf(stderr, "host_check: short write\n");
        std::exit(2);
    }
}

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: host_check IN OUT\n");
        return 2;
    }
    std::FILE* in = std::fopen(argv[1], "rb");
    if (!in) { std::perror(argv[1]); return 2; }
    long long hdr[7];
    sw_u64 seed;
    double K;
    long long exempt;
    rd(in, hdr, 7);
    rd(in, &seed, 1);
    rd(in, &K, 1);
    rd(in, &exempt, 1);
    const long long mode = hdr[0], strategy = hdr[1], n = hdr[2], pool = hdr[3], nupd = hdr[4];
    const int T = (int)hdr[5], W = (int)hdr[6];
    std::vector<long long> start(n), ps(nupd), qs(nupd), uids(nupd);
    std::vector<int> deg(n), nbr(pool);
    std::vector<double> wt(pool), ws(nupd);
    rd(in, start.data(), n);
    rd(in, deg.data(), n);
    rd(in, nbr.data(), pool);
    rd(in, wt.data(), pool);
    rd(in, ps.data(), nupd);
    rd(in, qs.data(), nupd);
    rd(in, ws.data(), nupd);
    rd(in, uids.data(), nupd);
    std::fclose(in);

    const double inf = sw_inf();
    const bool del = mode == 1;
    std::vector<int> found(nupd), steps(nupd), winner(nupd);
    std::vector<double> resist(nupd);
    std::vector<long long> work(nupd), paths(del ? nupd * (T + 1) : 0, -1);
    for (long long i = 0; i < nupd; ++i) {
        int idx = SW_NONE, st = 0;
        double R = inf;
        long long tot = 0;
        for (int j = 0; j < W; ++j) {
            const sw_u64 key = sw_walker_key(seed, (sw_u64)uids[i], (sw_u64)j);
            const double bound = (del && strategy == 1) ? R : inf;  // R of the best so far (+inf if none)
            SwWalk r = del ? sw_walk(start.data(), deg.data(), nbr.data(), wt.data(), ps[i], qs[i], 1.0, inf, T,
                                     key, false, true, bound, nullptr)
                           : sw_walk(start.data(), deg.data(), nbr.data(), wt.data(), ps[i], qs[i], ws[i], K, T,
                                     key, true, exempt != 0, inf, nullptr);
            tot += r.work;
            if (r.steps > 0) {
                const bool better = del ? sw_del_better(r.R, j, R, idx) : sw_ins_better(j, idx);
                if (better) { idx = j; st = r.steps; R = r.R; }
                if (!del && strategy == 1) break;  // first success
            }
        }
        const bool ok = idx != SW_NONE;
        found[i] = ok;
        winner[i] = ok ? idx : -1;
        steps[i] = ok ? st : 0;
        resist[i] = ok ? R : inf;
        work[i] = tot;
        if (del && ok) {
            const sw_u64 key = sw_walker_key(seed, (sw_u64)uids[i], (sw_u64)idx);
            sw_walk(start.data(), deg.data(), nbr.data(), wt.data(), ps[i], qs[i], 1.0, inf, T, key, false, true,
                    inf, paths.data() + i * (T + 1));
        }
    }
    std::FILE* out = std::fopen(argv[2], "wb");
    if (!out) { std::perror(argv[2]); return 2; }
    wr(out, found);
    wr(out, steps);
    wr(out, resist);
    wr(out, winner);
    wr(out, work);
    wr(out, paths);
    std::fclose(out);
    return 0;
}
