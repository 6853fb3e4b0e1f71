// Run is pure: the compiled program is immutable and a RunContext holds what a run changes.
// Two contexts run one program at once, bitwise equal to running them in turn; a context's
// seed position continues the dropout streams; and 100 runs allocate nothing.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "gtest/gtest.h"
#include "models/stack.h"
#include "models/unroll.h"
#include "ops/ops.h"
#include "testing/test_values.h"

#include "tests/sanitizer_build.h"

// The sanitizers bring their own operator new and malloc; there the test is skipped.
#if !TG_SANITIZER_BUILD
#define TG_COUNT_ALLOCATIONS 1
#endif

// Every allocation of this test binary goes through these, so a test can count the ones its
// own thread makes while counting is on: operator new, and malloc itself (tapegrad's aligned
// buffers, anything in C), glibc's own entry points doing the work.
namespace {
thread_local bool counting = false;
thread_local int64_t allocations = 0;
}  // namespace

#ifdef TG_COUNT_ALLOCATIONS
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* malloc(std::size_t n) {
  if (counting) ++allocations;
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  if (counting) ++allocations;
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  if (counting) ++allocations;
  return __libc_realloc(p, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) {
  if (counting) ++allocations;
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) {
  if (counting) ++allocations;
  *out = __libc_memalign(align, n);
  return *out == nullptr ? ENOMEM : 0;
}
}

namespace {
void* Allocate(std::size_t n, std::size_t align) {
  if (counting) ++allocations;
  n = std::max<std::size_t>(n, 1);
  void* p = align <= alignof(std::max_align_t) ? __libc_malloc(n) : __libc_memalign(align, n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return Allocate(n, 0); }
void* operator new[](std::size_t n) { return Allocate(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) {
  return Allocate(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return Allocate(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif

namespace tg {
namespace {

constexpr int64_t kSteps = 6, kBatch = 3, kInput = 4, kHidden = 5;
const Shape kXShape{kSteps, kBatch, kInput};

// An f64 LSTM (no oneDNN on the way) with dropout on its outputs, compiled with private
// gradients: stacked, fused and re-seeded steps all run.
// With threads > 1 the program runs its independent steps at once (parallel replay).
struct Compiled {
  explicit Compiled(int threads = 1) : store({.seed = 7}) {
    absl::StatusOr<AnyCell> cell = MakeCell(
        store, {.kind = CellKind::kLstm,
                .recurrent = {.input_size = kInput, .hidden_size = kHidden, .dtype = DType::kF64}});
    EXPECT_TRUE(cell.ok()) << cell.status();
    Graph g({.mode = ExecMode::kRecord, .exec = {.num_threads = threads}});
    Expr x = g.Input(kXShape, std::vector<double>(kXShape.num_elements(), 0.0));
    std::vector<Expr> hs = Unroll(g, *cell, SplitSteps(x), cell->ZeroState(g, kBatch)).outputs;
    Expr loss = Mean(Square(Dropout(StackSteps(hs), 0.3, /*seed=*/11)));
    EXPECT_TRUE(Backward(loss).ok()) << g.status();
    absl::StatusOr<CompiledGraph> c =
        Compile(g, {.feeds = {x}, .outputs = {loss}, .private_gradients = true,
                    .parallel_replay = threads > 1});
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) program = *std::move(c);
  }
  ParameterStore store;
  CompiledGraph program;
};

struct Feed {
  explicit Feed(uint64_t seed) : values(testing::UniformValues(kXShape.num_elements(), seed)) {}
  std::vector<Tensor> Tensors() { return {Tensor(values.data(), DType::kF64, kXShape)}; }
  std::vector<double> values;
};

// The loss and every private gradient of a context's last run, as bytes.
std::vector<unsigned char> Result(const RunContext& c) {
  std::vector<unsigned char> bytes;
  auto append = [&](const Tensor& t) {
    const auto* p = static_cast<const unsigned char*>(t.raw());
    bytes.insert(bytes.end(), p, p + t.num_bytes());
  };
  append(c.output(0));
  for (const PrivateGradient& g : c.private_gradients()) append(g.grad);
  return bytes;
}

void ExpectTwoContextsAtOnceAsInTurn(Compiled& c) {
  Feed first(1), second(2);
  absl::StatusOr<RunContext> a = c.program.NewContext(), b = c.program.NewContext();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(c.program.Run(*a, first.Tensors()).ok());
  ASSERT_TRUE(c.program.Run(*b, second.Tensors()).ok());
  const std::vector<unsigned char> want_a = Result(*a), want_b = Result(*b);
  EXPECT_NE(want_a, want_b);

  for (int round = 0; round < 3; ++round) {
    absl::StatusOr<RunContext> x = c.program.NewContext(), y = c.program.NewContext();
    ASSERT_TRUE(x.ok() && y.ok());
    std::atomic<bool> go{false};
    absl::Status sx, sy;
    std::thread tx([&] {
      while (!go.load()) {
      }
      sx = c.program.Run(*x, first.Tensors());
    });
    std::thread ty([&] {
      while (!go.load()) {
      }
      sy = c.program.Run(*y, second.Tensors());
    });
    go = true;
    tx.join();
    ty.join();
    ASSERT_TRUE(sx.ok()) << sx;
    ASSERT_TRUE(sy.ok()) << sy;
    EXPECT_EQ(Result(*x), want_a) << "round " << round;
    EXPECT_EQ(Result(*y), want_b) << "round " << round;
  }
}

TEST(RunContextTest, TwoContextsRunOneProgramAtOnceAsTheyDoInTurn) {
  Compiled c;
  ExpectTwoContextsAtOnceAsInTurn(c);
}

// Each context running its steps at once on the threads, both at once.
TEST(RunContextTest, TwoContextsRunOneParallelProgramAtOnceAsTheyDoInTurn) {
  Compiled c(2);
  ASSERT_NE(c.program.program().schedule, nullptr);
  ExpectTwoContextsAtOnceAsInTurn(c);
}

TEST(RunContextTest, TheSeedPositionContinuesTheDropoutStreams) {
  Compiled c;
  Feed feed(3);
  absl::StatusOr<RunContext> a = c.program.NewContext(), b = c.program.NewContext();
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<std::vector<unsigned char>> runs;
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(c.program.Run(*a, feed.Tensors()).ok());
    runs.push_back(Result(*a));
  }
  EXPECT_EQ(a->seed_position(), 3u);
  EXPECT_NE(runs[1], runs[2]);  // new masks every run
  b->set_seed_position(2);
  ASSERT_TRUE(c.program.Run(*b, feed.Tensors()).ok());
  EXPECT_EQ(Result(*b), runs[2]);
  EXPECT_EQ(b->seed_position(), 3u);
}

void ExpectHundredRunsAllocateNothing(Compiled& c) {
  Feed feed(4);
  std::vector<Tensor> feeds = feed.Tensors();
  absl::StatusOr<RunContext> context = c.program.NewContext();
  ASSERT_TRUE(context.ok());
  ASSERT_TRUE(c.program.Run(*context, feeds).ok());  // the thread pool, if any, is up
  allocations = 0;
  counting = true;
  bool all_ok = true;
  for (int r = 0; r < 100; ++r) all_ok = c.program.Run(*context, feeds).ok() && all_ok;
  counting = false;
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(allocations, 0);
  // The count sees what it is meant to: one vector is one allocation.
  counting = true;
  std::vector<int> probe(3);
  counting = false;
  EXPECT_EQ(allocations, 1);
}

TEST(RunContextTest, HundredRunsAllocateNothing) {
#ifndef TG_COUNT_ALLOCATIONS
  GTEST_SKIP() << "the sanitizers replace operator new and malloc; the normal build counts";
#endif
  Compiled c;
  ExpectHundredRunsAllocateNothing(c);
}

// Running steps at once allocates nothing either (the caller's thread is counted; the pool's
// workers run the same code).
TEST(RunContextTest, HundredParallelRunsAllocateNothing) {
#ifndef TG_COUNT_ALLOCATIONS
  GTEST_SKIP() << "the sanitizers replace operator new and malloc; the normal build counts";
#endif
  Compiled c(2);
  ASSERT_NE(c.program.program().schedule, nullptr);
  ExpectHundredRunsAllocateNothing(c);
}

// Without its own context a program allocates nothing for runs: Run(feeds) says why, and a
// context from NewContext runs it as the own context would.
TEST(RunContextTest, AProgramWithoutItsOwnContextRunsInNewOnes) {
  ParameterStore store({.seed = 1});
  Parameter w = *store.Add("w", {4, 2}, Init::Uniform(-1, 1), DType::kF64);
  Graph g({.mode = ExecMode::kRecord});
  Expr x = g.Input({3, 4}, std::vector<double>(12, 0.0));
  Expr loss = Sum(Tanh(MatMul(x, g.Param(w))));
  ASSERT_TRUE(Backward(loss).ok());
  absl::StatusOr<CompiledGraph> own = Compile(g, {.feeds = {x}, .outputs = {loss}});
  absl::StatusOr<CompiledGraph> bare =
      Compile(g, {.feeds = {x}, .outputs = {loss}, .own_context = false});
  ASSERT_TRUE(own.ok() && bare.ok());
  std::vector<double> xv = testing::UniformValues(12, 8);
  const std::vector<Tensor> feeds = {Tensor(xv.data(), DType::kF64, {3, 4})};
  const absl::Status refused = bare->Run(feeds);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("NewContext"), std::string::npos) << refused;
  EXPECT_FALSE(bare->output(0).has_data());
  absl::StatusOr<RunContext> context = bare->NewContext();
  ASSERT_TRUE(context.ok());
  ASSERT_TRUE(bare->Run(*context, feeds).ok());
  ASSERT_TRUE(own->Run(feeds).ok());
  EXPECT_EQ(context->output(0).data<double>()[0], own->output(0).data<double>()[0]);
}

TEST(RunContextTest, AContextOfAnotherProgramIsRefused) {
  Compiled one, other;
  Feed feed(5);
  absl::StatusOr<RunContext> theirs = other.program.NewContext();
  ASSERT_TRUE(theirs.ok());
  const absl::Status s = one.program.Run(*theirs, feed.Tensors());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("another program"), std::string::npos) << s;
}

}  // namespace
}  // namespace tg
