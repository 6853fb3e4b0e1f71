// GEMM throughput (wall time). float shapes above the small-product threshold
// run oneDNN's sgemm; the tiny ones run our xsimd kernels. thr > 1 splits C
// across ThreadPool::Shared() (thread_pool.h). BM_OmpSgemm is the path this
// replaced, for comparison: one dnnl_sgemm call parallelised by OpenMP.
#include <benchmark/benchmark.h>
#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "graph/tensor.h"
#include "ops/kernels/gemm.h"

namespace tg::kernels {
namespace {

// Args are (M, K, N, trans_a, trans_b, threads).
template <class T>
GemmArgs Setup(const benchmark::State& state, std::vector<T>& a,
               std::vector<T>& b, std::vector<T>& c) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const bool trans_a = state.range(3) != 0, trans_b = state.range(4) != 0;
  a.resize(m * k), b.resize(k * n), c.resize(m * n);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<T>((i % 7) * 0.25 - 0.75);
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<T>((i % 5) * 0.125 - 0.25);
  return {.trans_a = trans_a,
          .trans_b = trans_b,
          .m = m,
          .n = n,
          .k = k,
          .lda = trans_a ? m : k,
          .ldb = trans_b ? k : n,
          .ldc = n,
          .threads = static_cast<int>(state.range(5))};
}

void SetCounters(benchmark::State& state, const GemmArgs& g) {
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * g.m * g.n * g.k, benchmark::Counter::kIsIterationInvariantRate,
      benchmark::Counter::kIs1000);
}

template <class T>
void BM_Gemm(benchmark::State& state) {
  std::vector<T> a, b, c;
  const GemmArgs g = Setup(state, a, b, c);
  for (auto _ : state) {
    Gemm(g, a.data(), b.data(), c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, g);
}

void BM_OmpSgemm(benchmark::State& state) {
  std::vector<float> a, b, c;
  const GemmArgs g = Setup(state, a, b, c);
  omp_set_num_threads(g.threads);
  for (auto _ : state) {
    dnnl_sgemm(g.trans_a ? 'T' : 'N', g.trans_b ? 'T' : 'N', g.m, g.n, g.k,
               1.0f, a.data(), g.lda, b.data(), g.ldb, 0.0f, c.data(), g.ldc);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  omp_set_num_threads(1);
  SetCounters(state, g);
}

// Our kernel regardless of the dispatch rules (GemmEngine::kOwn), on the calling thread: the
// other side of BM_OmpSgemm with thr = 1 when the rules of gemm_dispatch.cc are measured. Run
// it under TG_ISA=avx2 (with ONEDNN_MAX_CPU_ISA=AVX2 for oneDNN's side) and unset, for each ISA.
void BM_OwnSgemm(benchmark::State& state) {
  std::vector<float> a, b, c;
  GemmArgs g = Setup(state, a, b, c);
  g.engine = GemmEngine::kOwn;
  g.threads = 1;
  for (auto _ : state) {
    Gemm(g, a.data(), b.data(), c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, g);
}

// Products over a B packed once before the loop (PrepareGemmB, GemmPreparedB): what a compiled
// program runs for a weight it prepares once per run and reads at every step. Compare with
// BM_OmpSgemm and BM_OwnSgemm on the same shapes (PreparedShapes).
template <class T>
void BM_PreparedGemm(benchmark::State& state) {
  std::vector<T> a, b, c;
  const GemmArgs g = Setup(state, a, b, c);
  std::vector<T> packed(static_cast<size_t>(PreparedGemmBElements<T>(g.k, g.n)));
  PrepareGemmB(g, b.data(), packed.data());
  for (auto _ : state) {
    GemmPreparedB(g, a.data(), packed.data(), c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, g);
}

// The packing itself (once per run of a compiled program, per prepared weight).
void BM_PrepareSgemmB(benchmark::State& state) {
  std::vector<float> a, b, c;
  const GemmArgs g = Setup(state, a, b, c);
  std::vector<float> packed(static_cast<size_t>(PreparedGemmBElements<float>(g.k, g.n)));
  for (auto _ : state) {
    PrepareGemmB(g, b.data(), packed.data());
    benchmark::DoNotOptimize(packed.data());
    benchmark::ClobberMemory();
  }
}

// The recurrent products of the S/M/L LSTM layers (rnn_bench): h W_hh^T and dz W_hh at batch
// 1, 32 and 64 with hidden 32, 256 and 512, one thread.
void PreparedShapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N", "tA", "tB", "thr"})->UseRealTime();
  for (const auto& s : std::vector<std::vector<int64_t>>{{1, 32, 128, 0, 1},
                                                         {1, 128, 32, 0, 0},
                                                         {32, 256, 1024, 0, 1},
                                                         {32, 1024, 256, 0, 0},
                                                         {64, 512, 2048, 0, 1},
                                                         {64, 2048, 512, 0, 0}}) {
    b->Args({s[0], s[1], s[2], s[3], s[4], 1});
  }
}
BENCHMARK(BM_PreparedGemm<float>)->Apply(PreparedShapes);
// L's recurrent products split over two threads (a serial replay with ExecOptions::num_threads
// = 2), to compare with one.
BENCHMARK(BM_PreparedGemm<float>)
    ->ArgNames({"M", "K", "N", "tA", "tB", "thr"})
    ->UseRealTime()
    ->Args({64, 512, 2048, 0, 1, 2})
    ->Args({64, 2048, 512, 0, 0, 2});
BENCHMARK(BM_PrepareSgemmB)->Apply(PreparedShapes);
BENCHMARK(BM_OwnSgemm)->Apply(PreparedShapes);
BENCHMARK(BM_OmpSgemm)->Apply(PreparedShapes);

// The shapes around the rules of gemm_dispatch.cc, one thread: products near the small-product
// threshold kSmallSgemm (64K multiply-adds), and weight gradients A^T B with B in L1 or deep.
void RuleShapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N", "tA", "tB", "thr"})->UseRealTime();
  for (const auto& s : std::vector<std::vector<int64_t>>{
           {16, 64, 64, 0, 0},   {4, 256, 64, 0, 0},   {8, 128, 64, 0, 1},   {32, 64, 64, 0, 0},
           {16, 128, 128, 0, 0}, {16, 128, 128, 0, 1}, {32, 128, 128, 0, 0}, {32, 256, 128, 0, 1},
           {1024, 32, 256, 1, 0}, {512, 50, 128, 1, 0}, {2048, 64, 512, 1, 0},
           {1024, 512, 256, 1, 0}, {1024, 1024, 256, 1, 0}, {1024, 3200, 256, 1, 0},
           {1024, 3200, 64, 1, 0}}) {
    b->Args({s[0], s[1], s[2], s[3], s[4], 1});
  }
}
BENCHMARK(BM_OwnSgemm)->Apply(RuleShapes);
BENCHMARK(BM_OmpSgemm)->Apply(RuleShapes);

// LSTM-sized products ([batch 32, hidden 256, 4 gates]: x W, h U, dG U^T,
// X^T dG) and smaller ones around the threading threshold, 1 and 2 threads.
void ThreadedShapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N", "tA", "tB", "thr"})->UseRealTime();
  for (int thr : {1, 2}) {
    b->Args({64, 1024, 2048, 0, 0, thr});
    b->Args({32, 64, 1024, 0, 0, thr});
    b->Args({32, 256, 1024, 0, 0, thr});
    b->Args({32, 1024, 256, 0, 1, thr});
    // char_lm's sequential products: h_t W_hh^T (W_hh [1024,256]) and dz_t W_hh.
    b->Args({32, 256, 1024, 0, 1, thr});
    b->Args({32, 1024, 256, 0, 0, thr});
    b->Args({256, 32, 1024, 1, 0, thr});
    b->Args({32, 256, 512, 0, 0, thr});
    b->Args({16, 128, 512, 0, 0, thr});
    b->Args({16, 128, 256, 0, 0, thr});
    b->Args({8, 128, 256, 0, 0, thr});
    // The compiled char_lm update's time-batched products (100 steps of batch 32 stacked):
    // weight gradients dz^T h and dz^T x, and dX = dz W_ih.
    b->Args({1024, 3200, 256, 1, 0, thr});
    b->Args({1024, 3200, 64, 1, 0, thr});
    b->Args({3200, 1024, 64, 0, 0, thr});
    b->Args({1024, 1024, 256, 1, 0, thr});  // where ours starts to beat oneDNN's A^T B
    b->Args({1024, 512, 256, 1, 0, thr});
    b->Args({2048, 6400, 512, 1, 0, thr});
    // rnn_bench M's stacked weight gradients (50 steps of batch 32): GRU and LSTM.
    b->Args({768, 1600, 256, 1, 0, thr});
    b->Args({768, 1600, 64, 1, 0, thr});
    b->Args({1024, 1600, 256, 1, 0, thr});
    b->Args({1024, 1600, 64, 1, 0, thr});
  }
}

BENCHMARK(BM_Gemm<float>)->Apply(ThreadedShapes);
BENCHMARK(BM_OmpSgemm)->Apply(ThreadedShapes);
BENCHMARK(BM_Gemm<float>)
    ->ArgNames({"M", "K", "N", "tA", "tB", "thr"})
    ->Args({1, 256, 512, 0, 0, 1})
    ->Args({1, 32, 128, 0, 0, 1})  // tiny: ours
    ->Args({1, 128, 32, 0, 1, 1})  // tiny, dX = dY W^T: ours
    ->Args({4, 64, 64, 0, 0, 1})   // tiny: ours
    // a 2-input LSTM layer (the adding problem, batch 50, hidden 128):
    ->Args({50, 2, 512, 0, 1, 1})  // input projection x W_ih^T
    ->Args({512, 50, 2, 1, 0, 1})  // its weight gradient dG^T x: 2 columns
    ->Args({50, 128, 1, 0, 1, 1})  // a 1-output head
    // one step of char_lm's LSTM (batch 32, input 64, hidden 256): forward, dX, dW
    ->Args({32, 256, 1024, 0, 1, 1})->Args({32, 64, 1024, 0, 1, 1})
    ->Args({32, 1024, 256, 0, 0, 1})->Args({32, 1024, 64, 0, 0, 1})
    ->Args({1024, 32, 256, 1, 0, 1})->Args({1024, 32, 64, 1, 0, 1})  // dW: ours (B in L1)
    // the adding problem's recurrent products (batch 50, hidden 128)
    ->Args({50, 128, 512, 0, 1, 1})->Args({512, 50, 128, 1, 0, 1})->Args({50, 512, 128, 0, 0, 1})
    // rnn_bench L (batch 64, hidden 512): dW with B of 128 KB stays with oneDNN
    ->Args({64, 512, 2048, 0, 1, 1})->Args({2048, 64, 512, 1, 0, 1});
// Gemm with every operand starting on a cache line, as a compiled program's buffers and the
// parameters do (a large std::vector's data starts 16 bytes past one, where oneDNN's sgemm may
// run at another speed: docs/performance.md, "Prepared operands").
void BM_GemmLineAligned(benchmark::State& state) {
  std::vector<float> a, b, c;
  const GemmArgs g = Setup(state, a, b, c);
  // Copies into 64-byte-aligned storage (what parameters get).
  auto on_a_line = [](const std::vector<float>& v) {
    AlignedBuffer buffer = AllocateAligned(v.size() * sizeof(float));
    std::copy(v.begin(), v.end(), reinterpret_cast<float*>(buffer.get()));
    return buffer;
  };
  const AlignedBuffer a_line = on_a_line(a), b_line = on_a_line(b), c_line = on_a_line(c);
  auto* c_data = reinterpret_cast<float*>(c_line.get());
  for (auto _ : state) {
    Gemm(g, reinterpret_cast<const float*>(a_line.get()),
         reinterpret_cast<const float*>(b_line.get()), c_data);
    benchmark::DoNotOptimize(c_data);
    benchmark::ClobberMemory();
  }
  SetCounters(state, g);
}

// rnn_bench L's stacked products with d loss / d x (100 steps of batch 64, hidden 512): the
// input gradient dz W_ih and the input projection x W_ih^T, on 1 and 2 threads.
void StackedLShapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N", "tA", "tB", "thr"})->UseRealTime();
  for (int thr : {1, 2}) {
    b->Args({6400, 2048, 512, 0, 0, thr});
    b->Args({6400, 512, 2048, 0, 1, thr});
  }
  b->Args({6400, 2048, 256, 0, 0, 1});  // one thread's half of the first
}
BENCHMARK(BM_OwnSgemm)->Apply(StackedLShapes);
BENCHMARK(BM_GemmLineAligned)->Apply(StackedLShapes);
BENCHMARK(BM_Gemm<float>)->Apply(StackedLShapes);

BENCHMARK(BM_Gemm<double>)
    ->ArgNames({"M", "K", "N", "tA", "tB", "thr"})
    ->UseRealTime()
    ->Args({64, 256, 512, 0, 0, 1})
    ->Args({64, 256, 512, 0, 1, 1})
    ->Args({64, 256, 512, 0, 0, 2});

}  // namespace
}  // namespace tg::kernels
