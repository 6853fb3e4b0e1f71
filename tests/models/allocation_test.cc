// Steady-state training makes a constant number of heap allocations per iteration, however
// long the sequence: the graph keeps its node vector and arena across Clear(), scopes are
// interned, and no per-node container grows step by step. (oneDNN's own buffers are outside
// this count: its GEMMs here are below the size that takes them.)
#include <atomic>
#include <cstdlib>
#include <new>

#include "autodiff/backward.h"
#include "gtest/gtest.h"
#include "models/lstm_cell.h"
#include "models/optimizers.h"
#include "models/unroll.h"
#include "ops/ops.h"

namespace {
std::atomic<long> allocations{0};
}  // namespace

// Counting replacements for the whole models_test binary (they only count). Every unaligned
// form is replaced, so each allocation is freed by the family that made it: replacing only
// some (delete but not new(nothrow), which std::stable_sort's buffer uses) pairs the
// sanitizer's new with free, an alloc-dealloc mismatch under ASan.
void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept {
  return operator new(n, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace tg {
namespace {

// Allocations of the last of several identical training iterations of an LSTM over T steps.
long AllocationsPerIteration(int steps) {
  ParameterStore store({.seed = 1});
  LstmCell cell = *LstmCell::Create(store, {.input_size = 8, .hidden_size = 16});
  Adam adam(store, {});
  Graph g;
  std::vector<float> x(steps * 4 * 8, 0.1f);
  long last = 0;
  for (int iteration = 0; iteration < 5; ++iteration) {
    long before = allocations.load();
    g.Clear();
    Expr xs = g.Input({steps, 4, 8}, x);
    UnrollResult r = Unroll(g, cell, SplitSteps(xs), cell.ZeroState(g, 4));
    Expr loss = Sum(StackSteps(r.outputs));
    EXPECT_TRUE(Backward(loss).ok());
    EXPECT_TRUE(adam.Step().ok());
    store.ZeroGrad();
    last = allocations.load() - before;
  }
  return last;
}

TEST(AllocationTest, TrainingIterationsAllocateAConstantIndependentOfSequenceLength) {
  long short_run = AllocationsPerIteration(8), long_run = AllocationsPerIteration(128);
  EXPECT_EQ(short_run, long_run);
  EXPECT_LE(short_run, 40);  // a handful of per-iteration vectors, nothing per node
}

}  // namespace
}  // namespace tg
