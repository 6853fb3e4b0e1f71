// The machine's FP32 FMA peak, measured with the widest FMA the CPU has: independent FMA
// chains on full SIMD registers (AVX-512 where the CPU has it, else AVX2), one std::thread per
// core, each timed by its own CPU clock (robust on a shared machine). Shared by fma_peak,
// rnn_bench and onednn_lstm so that every "fraction of peak" divides by a figure taken on the
// same machine, in the same process. TG_ISA=avx2 forces the AVX2 loop (the peak of the code
// path the library's x86-64-v3 kernels run), TG_ISA=avx512 the AVX-512 one.
//
// The loops are self-contained (intrinsics in functions with their own target attribute,
// chosen at run time), so the peak does not depend on the -march the library is built for.
#ifndef TAPEGRAD_BENCH_FMA_H_
#define TAPEGRAD_BENCH_FMA_H_

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace tg::bench {

// The FMA instruction set a peak is measured with.
enum class FmaIsa { kAvx2, kAvx512 };

// "avx2" or "avx512": the TG_ISA spelling.
inline const char* FmaIsaName(FmaIsa isa) { return isa == FmaIsa::kAvx512 ? "avx512" : "avx2"; }

// FP32 lanes of one FMA: 8 (256-bit AVX2) or 16 (512-bit AVX-512).
inline int FmaLanes(FmaIsa isa) { return isa == FmaIsa::kAvx512 ? 16 : 8; }

// Whether this CPU runs `isa`'s FMA loop.
inline bool CpuHasFmaIsa(FmaIsa isa) {
  __builtin_cpu_init();
  return isa == FmaIsa::kAvx512 ? __builtin_cpu_supports("avx512f") != 0
                                : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// The ISA to measure: TG_ISA if set (avx2 or avx512; InvalidArgument for another value or
// for one the CPU lacks), else the widest the CPU has.
inline absl::StatusOr<FmaIsa> ChooseFmaIsa() {
  const char* env = std::getenv("TG_ISA");
  if (env == nullptr || *env == '\0') {
    return CpuHasFmaIsa(FmaIsa::kAvx512) ? FmaIsa::kAvx512 : FmaIsa::kAvx2;
  }
  const std::string want = env;
  for (FmaIsa isa : {FmaIsa::kAvx2, FmaIsa::kAvx512}) {
    if (want != FmaIsaName(isa)) continue;
    if (!CpuHasFmaIsa(isa)) {
      return absl::InvalidArgumentError(
          absl::StrCat("TG_ISA=", want, " is not supported by this CPU (it lacks ",
                       isa == FmaIsa::kAvx512 ? "avx512f" : "avx2 or fma", ")"));
    }
    return isa;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("TG_ISA=", want, " is not allowed: must be one of avx2, avx512"));
}

// Independent chains per loop: an FMA has 4 cycles of latency and up to 2 issue per cycle
// (Skylake-X, Zen3, Zen4), so 8 must be in flight. AVX2 has 16 registers: 12 accumulators
// and 2 constants fit; AVX-512 has 32: 24 leave slack for a deeper pipeline.
// Chains of the AVX2 loop.
inline constexpr int kAvx2Chains = 12;
// Chains of the AVX-512 loop.
inline constexpr int kAvx512Chains = 24;

// `iterations` rounds of kAvx2Chains independent 8-lane FMAs; returns a value that depends on
// every chain so the compiler cannot drop them. Not inlined, so the loop is compiled once.
[[gnu::noinline, gnu::target("avx2,fma")]] inline float FmaChainsAvx2(int64_t iterations,
                                                                        float seed) {
  __m256 acc[kAvx2Chains];
  for (int c = 0; c < kAvx2Chains; ++c) acc[c] = _mm256_set1_ps(seed + 0.001f * c);
  // acc -> acc * m + a converges to a / (1 - m) = 1: no overflow, no denormals.
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(0.000001f);
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kAvx2Chains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], m, a);
  }
  __m256 sum = acc[0];
  for (int c = 1; c < kAvx2Chains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}

// The same with kAvx512Chains 16-lane FMAs; run only where the CPU has AVX-512F.
[[gnu::noinline, gnu::target("avx512f")]] inline float FmaChainsAvx512(int64_t iterations,
                                                                         float seed) {
  __m512 acc[kAvx512Chains];
  for (int c = 0; c < kAvx512Chains; ++c) acc[c] = _mm512_set1_ps(seed + 0.001f * c);
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(0.000001f);
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 24
    for (int c = 0; c < kAvx512Chains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], m, a);
  }
  __m512 sum = acc[0];
  for (int c = 1; c < kAvx512Chains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  // A store, not _mm512_reduce_add_ps: g++ 12 warns inside that one (-Werror=uninitialized).
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}

// `isa`'s loop: `iterations` rounds; the FLOPs of one round are FlopsPerIteration(isa).
inline float FmaChains(FmaIsa isa, int64_t iterations, float seed) {
  return isa == FmaIsa::kAvx512 ? FmaChainsAvx512(iterations, seed)
                                : FmaChainsAvx2(iterations, seed);
}

// FLOPs of one FmaChains round: an FMA is 2 FLOPs per lane.
inline double FlopsPerIteration(FmaIsa isa) {
  const int chains = isa == FmaIsa::kAvx512 ? kAvx512Chains : kAvx2Chains;
  return 2.0 * chains * FmaLanes(isa);
}

// A measured FMA peak.
struct FmaPeak {
  // Sum over the threads of FLOPs / the thread's own CPU time: the rate while on a core, so
  // a neighbour that takes the core away for a while does not lower it. The denominator for
  // "fraction of peak".
  double gflops = 0;
  // FLOPs of all threads / wall time: what the machine delivered at that moment (a busy
  // second core shows here, and in the 2-thread benchmark rows).
  double wall_gflops = 0;
};

// CPU seconds the calling thread has run.
inline double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// `threads` threads running `isa`'s FmaChains at once, `trials` times for about `seconds`
// each; the best trial of each measure (a peak is a ceiling: interference only ever lowers
// it). `isa` must be one the CPU has (ChooseFmaIsa).
inline FmaPeak MeasureFmaPeak(FmaIsa isa, int threads, double seconds = 0.05, int trials = 8) {
  using Clock = std::chrono::steady_clock;
  threads = std::max(1, threads);
  // Calibrate the iteration count on one thread so that a trial lasts about `seconds`.
  int64_t iterations = 1 << 14;
  for (;;) {
    const double t0 = ThreadCpuSeconds();
    volatile float sink = FmaChains(isa, iterations, 1.0f);
    (void)sink;
    const double dt = ThreadCpuSeconds() - t0;
    if (dt > seconds / 4 || iterations > (int64_t{1} << 40)) {
      iterations = static_cast<int64_t>(static_cast<double>(iterations) * seconds / dt) + 1;
      break;
    }
    iterations *= 4;
  }
  const double flops = static_cast<double>(iterations) * FlopsPerIteration(isa);
  FmaPeak best;
  for (int trial = 0; trial < trials; ++trial) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<double> cpu_seconds(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        ready.fetch_add(1);
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        const double t0 = ThreadCpuSeconds();
        volatile float sink = FmaChains(isa, iterations, 1.0f + static_cast<float>(t));
        (void)sink;
        cpu_seconds[t] = ThreadCpuSeconds() - t0;
      });
    }
    while (ready.load() < threads) std::this_thread::yield();
    const auto t0 = Clock::now();
    go.store(true, std::memory_order_release);
    for (auto& th : pool) th.join();
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    double on_core = 0;
    for (double cs : cpu_seconds) on_core += flops / cs * 1e-9;
    best.gflops = std::max(best.gflops, on_core);
    best.wall_gflops = std::max(best.wall_gflops, threads * flops / wall * 1e-9);
  }
  return best;
}

}  // namespace tg::bench

#endif  // TAPEGRAD_BENCH_FMA_H_
