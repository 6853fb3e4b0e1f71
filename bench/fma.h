// The machine's FP32 FMA peak, measured on the instruction set the library's kernels run on
// (ops/kernels/isa.h: the widest the CPU has, or the one TG_ISA forces): independent FMA chains
// on full SIMD registers (ops/kernels/fma_chains.h, built per ISA with the kernels), one
// std::thread per core, each timed by its own CPU clock (robust on a shared machine). Shared by
// fma_peak, rnn_bench and onednn_lstm so that every "fraction of peak" divides by a figure
// taken on the same machine, in the same process, on the same ISA as the kernels measured.
#ifndef TAPEGRAD_BENCH_FMA_H_
#define TAPEGRAD_BENCH_FMA_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/kernels/fma_chains.h"
#include "ops/kernels/isa.h"

namespace tg::bench {

// The FMA instruction set a peak is measured with: the kernels' ISA.
using FmaIsa = kernels::Isa;

// "avx2" or "avx512": the TG_ISA spelling.
inline const char* FmaIsaName(FmaIsa isa) { return isa == FmaIsa::kAvx512 ? "avx512" : "avx2"; }

// FP32 lanes of one FMA: 8 (256-bit AVX2) or 16 (512-bit AVX-512).
inline int FmaLanes(FmaIsa isa) { return isa == FmaIsa::kAvx512 ? 16 : 8; }

// The ISA the kernels run on: TG_ISA if set (an unknown value, or one the CPU lacks, is
// InvalidArgument naming TG_ISA and the allowed values), else the widest the CPU has.
inline absl::StatusOr<FmaIsa> ChooseFmaIsa() { return kernels::IsaFromEnvironment(); }

// FLOPs of one kernels::FmaChains round on `isa`: an FMA is 2 FLOPs per lane.
inline double FlopsPerIteration(FmaIsa isa) { return 2.0 * kernels::kFmaChains * FmaLanes(isa); }

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

// `threads` threads running kernels::FmaChains at once, `trials` times for about `seconds`
// each; the best trial of each measure (a peak is a ceiling: interference only ever lowers
// it). `isa` is the kernels' (ChooseFmaIsa), which sets the FLOPs of a round.
inline FmaPeak MeasureFmaPeak(FmaIsa isa, int threads, double seconds = 0.05, int trials = 8) {
  using Clock = std::chrono::steady_clock;
  threads = std::max(1, threads);
  // Calibrate the iteration count on one thread so that a trial lasts about `seconds`.
  int64_t iterations = 1 << 14;
  for (;;) {
    const double t0 = ThreadCpuSeconds();
    volatile float sink = kernels::FmaChains(iterations, 1.0f);
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
        volatile float sink = kernels::FmaChains(iterations, 1.0f + static_cast<float>(t));
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
