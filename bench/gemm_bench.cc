// Single-thread GEMM throughput. float shapes above the small-product
// threshold run oneDNN's sgemm; the tiny ones run our xsimd kernels.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "ops/kernels/gemm.h"

namespace tg::kernels {
namespace {

template <class T>
void BM_Gemm(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const bool trans_b = state.range(3) != 0;
  std::vector<T> a(m * k), b(k * n), c(m * n);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<T>((i % 7) * 0.25 - 0.75);
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<T>((i % 5) * 0.125 - 0.25);
  SetGemmThreads(1);
  const GemmArgs g{.trans_b = trans_b,
                   .m = m,
                   .n = n,
                   .k = k,
                   .lda = k,
                   .ldb = trans_b ? k : n,
                   .ldc = n};
  for (auto _ : state) {
    Gemm(g, a.data(), b.data(), c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate,
      benchmark::Counter::kIs1000);
}

// Args are (M, K, N, trans_b).
BENCHMARK(BM_Gemm<float>)
    ->ArgNames({"M", "K", "N", "tB"})
    ->Args({64, 1024, 2048, 0})
    ->Args({32, 256, 512, 0})
    ->Args({1, 256, 512, 0})
    ->Args({16, 128, 512, 0})
    ->Args({1, 32, 128, 0})  // tiny: ours
    ->Args({1, 128, 32, 1})  // tiny, dX = dY W^T: ours
    ->Args({4, 64, 64, 0});  // tiny: ours
BENCHMARK(BM_Gemm<double>)
    ->ArgNames({"M", "K", "N", "tB"})
    ->Args({64, 256, 512, 0})
    ->Args({64, 256, 512, 1});

}  // namespace
}  // namespace tg::kernels
