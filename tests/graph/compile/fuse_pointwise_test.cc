// Pointwise fusion: runs of same-shape pointwise steps become one chunked pass with the same
// bits, and a run ends where two members touch the same memory at different offsets (chunk c
// of one would not be chunk c of the other). The steps here hold fixed addresses (the
// vectors' memory), so a run needs no context.
#include "graph/compile/fuse_pointwise.h"

#include <cmath>
#include <vector>

#include "base/thread_pool.h"
#include "gtest/gtest.h"
#include "tests/graph/compile/fixed_steps.h"
#include "ops/ops.h"

namespace tg::compile {
namespace {

// The tanh and mul OpDefs, taken from recorded nodes (the compiler sees only OpDefs).
struct Ops {
  Ops() {
    Graph g({.mode = ExecMode::kRecord});
    Expr x = g.Input({2}, std::vector<float>{0, 0});
    tanh = g.node(Tanh(x).id()).op;
    mul = g.node(Mul(x, x).id()).op;
  }
  const OpDef* tanh;
  const OpDef* mul;
};

using testing::Apply;
using testing::Fixed;
using testing::Shapes;

const Attrs kNoAttrs;  // the attributes of every step

using Steps = std::vector<Step>;

Steps FusePointwise(Steps steps) {
  return compile::FusePointwise(std::move(steps), Shapes().shapes(),
                                absl::MakeConstSpan(&kNoAttrs, 1));
}

void RunFused(const Step& fused, int threads) {
  compile::RunFused(fused, Fixed(), &kNoAttrs, threads);
}

constexpr int64_t kN = 3000;  // several chunks

TEST(FusePointwiseTest, FusesARunAndKeepsTheBits) {
  Ops ops;
  std::vector<float> x(kN), t_fused(kN), p_fused(kN), t_plain(kN), p_plain(kN);
  for (int64_t i = 0; i < kN; ++i) x[i] = std::sin(0.01f * static_cast<float>(i));
  auto tensor = [](std::vector<float>& v) { return Tensor(v.data(), DType::kF32, {kN}); };
  Steps program = {Apply(ops.tanh, {tensor(x)}, tensor(t_fused)),
                     Apply(ops.mul, {tensor(t_fused), tensor(x)}, tensor(p_fused))};
  Steps fused = FusePointwise(program);
  ASSERT_EQ(fused.size(), 1u);
  ASSERT_EQ(fused[0].fused.size(), 2u);
  RunFused(fused[0], /*threads=*/1);
  // The same two ops one after the other, through their kernels.
  for (const auto& [in, out] : {std::pair{&program[0], &t_plain}, std::pair{&program[1], &p_plain}}) {
    std::vector<Tensor> inputs;
    for (const Operand& o : in->inputs) inputs.push_back(Fixed().Bind(o));
    if (in->op == ops.mul) inputs[0] = tensor(t_plain);
    ASSERT_TRUE(in->op->forward(KernelContext{inputs, tensor(*out), kNoAttrs, false, {}}).ok());
  }
  EXPECT_EQ(t_fused, t_plain);
  EXPECT_EQ(p_fused, p_plain);
}

// A run with enough work is split over the pool, chunk-aligned, so every element gets the
// bits one thread gives it.
TEST(FusePointwiseTest, SplitsALargeRunOverThreadsWithTheSameBits) {
  Ops ops;
  constexpr int64_t n = 20000;  // x 2 members: above kParallelFusedWork, an odd tail chunk
  static_assert(2 * n >= kParallelFusedWork);
  std::vector<float> x(n), t1(n), p1(n), t2(n), p2(n);
  for (int64_t i = 0; i < n; ++i) x[i] = std::sin(0.01f * static_cast<float>(i));
  auto tensor = [](std::vector<float>& v) {
    return Tensor(v.data(), DType::kF32, {static_cast<int64_t>(v.size())});
  };
  auto run = [&](std::vector<float>& t, std::vector<float>& p, int threads) {
    Steps fused = FusePointwise({Apply(ops.tanh, {tensor(x)}, tensor(t)),
                                   Apply(ops.mul, {tensor(t), tensor(x)}, tensor(p))});
    ASSERT_EQ(fused.size(), 1u);
    RunFused(fused[0], threads);
  };
  run(t1, p1, 1);
  const int64_t calls = ThreadPool::Shared().calls();
  run(t2, p2, 2);
  EXPECT_EQ(ThreadPool::Shared().calls(), calls + 1);  // the pool ran it
  EXPECT_EQ(t2, t1);
  EXPECT_EQ(p2, p1);
  EXPECT_FLOAT_EQ(p2[n - 1], std::tanh(x[n - 1]) * x[n - 1]);
}

TEST(FusePointwiseTest, LeavesAnOpThatDrawsRandomNumbersOnItsOwn) {
  Ops ops;
  OpDef random_tanh = *ops.tanh;  // as a user's op with tiles and a seed would declare
  random_tanh.seed_attr = 0;
  std::vector<float> x(kN), a(kN), b(kN), c(kN);
  auto tensor = [](std::vector<float>& v) { return Tensor(v.data(), DType::kF32, {kN}); };
  Steps program = {Apply(ops.tanh, {tensor(x)}, tensor(a)),
                     Apply(&random_tanh, {tensor(a)}, tensor(b)),
                     Apply(ops.mul, {tensor(b), tensor(x)}, tensor(c))};
  Steps fused = FusePointwise(program);
  ASSERT_EQ(fused.size(), 3u);  // Run re-seeds whole instructions only
  EXPECT_EQ(fused[1].op, &random_tanh);
  EXPECT_TRUE(fused[1].fused.empty());
}

TEST(FusePointwiseTest, EndsTheRunWhereMembersShareMemoryAtAnotherOffset) {
  Ops ops;
  std::vector<float> x(kN), y(2 * kN), z(kN);
  Tensor y_head(y.data(), DType::kF32, {kN});
  Tensor y_shifted(y.data() + 7, DType::kF32, {kN});  // overlaps y_head, 7 elements on
  Steps program = {Apply(ops.tanh, {Tensor(x.data(), DType::kF32, {kN})}, y_head),
                     Apply(ops.tanh, {y_shifted}, Tensor(z.data(), DType::kF32, {kN}))};
  Steps out = FusePointwise(program);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].fused.empty());
  EXPECT_TRUE(out[1].fused.empty());
}

}  // namespace
}  // namespace tg::compile
