// Pointwise kernels, 1 thread vs split across ThreadPool::Shared(), at sizes
// around kParallelPointwise (ops/kernels/pointwise.h). The split path is
// forced (min_parallel = 0) so that it is measured below the threshold too:
// where "split" stops beating "thr=1" is where the threshold belongs. f32 add
// is memory-bound (the cheapest op); tanh and sigmoid (an exp and a division, three
// of an LSTM step's five transcendental ops) are compute-bound.
// Args are (n, threads).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "ops/kernels/pointwise.h"

namespace tg::kernels {
namespace {

template <class F>
void BM_Binary(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  std::vector<float> a(n, 0.5f), b(n, 0.25f), out(n);
  for (auto _ : state) {
    ParallelRanges<float>(
        n, threads,
        [&](int64_t begin, int64_t end) {
          Binary(F{}, a.data() + begin, 1, b.data() + begin, 1, out.data() + begin,
                 end - begin, false);
        },
        /*run=*/0, /*min_parallel=*/0);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

template <class F>
void BM_Unary(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  std::vector<float> x(n, 0.5f), out(n);
  for (auto _ : state) {
    ParallelRanges<float>(
        n, threads,
        [&](int64_t begin, int64_t end) {
          Unary(F{}, x.data() + begin, out.data() + begin, end - begin, false);
        },
        /*run=*/0, /*min_parallel=*/0);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {4096, 16384, 65536, 262144, 1048576}) {
    for (int threads : {1, 2}) b->Args({n, threads});
  }
}

BENCHMARK(BM_Binary<AddFn>)->Apply(Sizes)->UseRealTime();
BENCHMARK(BM_Unary<TanhFn>)->Apply(Sizes)->UseRealTime();
BENCHMARK(BM_Unary<SigmoidFn>)->Apply(Sizes)->UseRealTime();

}  // namespace
}  // namespace tg::kernels
