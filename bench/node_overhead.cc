// Per-node cost of the eager engine on a long chain of tiny ops ([1,4] tanh): recording,
// shape inference, arena allocation, dispatch and the kernel, forward and backward. The
// kernel's own arithmetic on 4 elements is a few ns, so this is close to pure overhead.
#include <vector>

#include "autodiff/backward.h"
#include "benchmark/benchmark.h"
#include "ops/ops.h"

namespace {

constexpr int kChain = 10000;

void BM_ForwardPerNode(benchmark::State& state) {
  tg::Graph g;
  std::vector<float> v(4, 0.5f);
  for (auto _ : state) {
    g.Clear();
    tg::Expr h = g.Input({1, 4}, v);
    for (int i = 0; i < kChain; ++i) h = tg::Tanh(h);
    benchmark::DoNotOptimize(h);
  }
  state.counters["ns/node"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kChain,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_ForwardBackwardPerNode(benchmark::State& state) {
  tg::Graph g;
  std::vector<float> v(4, 0.5f);
  for (auto _ : state) {
    g.Clear();
    tg::Expr x = g.Input({1, 4}, v, {.requires_grad = true});
    tg::Expr h = x;
    for (int i = 0; i < kChain; ++i) h = tg::Tanh(h);
    auto grads = tg::Backward(tg::Sum(h), {x});
    benchmark::DoNotOptimize(grads);
  }
  state.counters["ns/fwd node"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kChain,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK(BM_ForwardPerNode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ForwardBackwardPerNode)->Unit(benchmark::kMillisecond);

}  // namespace
