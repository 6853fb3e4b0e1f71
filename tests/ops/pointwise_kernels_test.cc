// Pointwise kernels and tiles called through their OpDefs: unaligned views, accumulation,
// threads (bitwise equal to one), tiles equal to kernels, and each op's declared facts.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "graph/graph.h"
#include "graph/op_def.h"
#include "graph/op_registry.h"
#include "ops/kernels/pointwise.h"
#include "base/thread_pool.h"
#include "ops/ops.h"
#include "ops/registry.h"
#include "testing/op_samples.h"
#include "tests/ops/pointwise_test_util.h"

namespace tg {
namespace {

using namespace tg::testing;  // NOLINT: the shared helpers of the pointwise tests

// ---- kernels and tiles, called through the OpDefs ----

// Every registered op that declares pointwise tiles: a new pointwise op, in any family or
// registered by a user, is covered by every test below without being named here.
std::vector<const OpDef*> TiledOps() {
  EXPECT_TRUE(RegisterBuiltinOps().ok());
  std::vector<const OpDef*> tiled;
  for (const OpDef* op : RegisteredOps()) {
    // Tiles that apply to some applications only (row sums, column slices, broadcasts) are
    // covered by the compiler's tests.
    if (op->pointwise.applies != nullptr) continue;
    if (op->pointwise.f32 != nullptr || op->pointwise.f64 != nullptr) tiled.push_back(op);
  }
  return tiled;
}

// Whether an op's sample inputs (testing/op_samples.h) draw input k from positive values only.
bool PositiveOnly(const OpDef& op, int k) {
  for (const OpSample& sample : OpSamples()) {
    if (sample.op == op.name && k < static_cast<int>(sample.inputs.size()) &&
        sample.inputs[k].domain == Domain::kPositive) {
      return true;
    }
  }
  return false;
}

// Inputs for a direct kernel call: in the op's domain, so no NaN hides a wrong element.
template <class T>
std::vector<std::vector<T>> KernelInputs(const OpDef& op, int64_t n) {
  std::vector<std::vector<T>> in;
  for (int k = 0; k < op.arity; ++k) {
    in.push_back(Uniform<T>(n, PositiveOnly(op, k) ? 0.1 : -2, 2, 51 + 7 * k + n));
  }
  return in;
}

// Calls check(op, n, inputs, input shapes) for every pointwise op and every size in kSizes,
// with the op, dtype and size in the failure trace.
template <class T, class Check>
void ForEachOpAndSize(Check&& check) {
  for (const OpDef* op : TiledOps()) {
    for (int64_t n : kSizes) {
      SCOPED_TRACE(fmt::format("{} {} n={}", op->name, DTypeLabel<T>(), n));
      check(*op, n, KernelInputs<T>(*op, n), std::vector<Shape>(op->arity, Shape{n}));
    }
  }
}

Attrs KernelAttrs() {
  Attrs attrs;
  attrs.scalar = 0.75;  // read by scale and add_scalar, ignored by the rest
  return attrs;
}

// Runs op's kernel with each input starting `in_offset` elements into its buffer and the output
// starting `out_offset` elements into its buffer, pre-filled with `out_init`; returns the output.
// Checks that nothing before the output's start was written.
template <class T>
std::vector<T> RunKernel(const OpDef& op, const std::vector<std::vector<T>>& in,
                         const std::vector<Shape>& shapes, const Shape& out_shape,
                         const std::vector<T>& out_init, int64_t in_offset, int64_t out_offset,
                         bool accumulate, int threads = 1) {
  std::vector<std::vector<T>> buffers;
  std::vector<Tensor> inputs;
  buffers.reserve(in.size());
  for (size_t k = 0; k < in.size(); ++k) {
    std::vector<T>& buf = buffers.emplace_back(in_offset, T(-77));
    buf.insert(buf.end(), in[k].begin(), in[k].end());
    inputs.emplace_back(buf.data() + in_offset, DTypeOf<T>(), shapes[k]);
  }
  std::vector<T> out_buf(out_offset, T(-99));
  out_buf.insert(out_buf.end(), out_init.begin(), out_init.end());
  const Tensor output(out_buf.data() + out_offset, DTypeOf<T>(), out_shape);
  absl::Status s = testing::RunKernel(op, inputs, output, KernelAttrs(), accumulate, threads);
  EXPECT_TRUE(s.ok()) << s;
  for (int64_t i = 0; i < out_offset; ++i) EXPECT_EQ(out_buf[i], T(-99)) << "wrote before start";
  return std::vector<T>(out_buf.begin() + out_offset, out_buf.end());
}

bool SameBits(const void* a, const void* b, size_t bytes) { return std::memcmp(a, b, bytes) == 0; }

// (input offset, output offset) pairs, in elements.
const std::pair<int64_t, int64_t> kOffsets[] = {{1, 0}, {0, 1}, {1, 1}, {3, 5}};

template <class T>
void CheckUnalignedViews() {
  ForEachOpAndSize<T>([](const OpDef& op, int64_t n, const auto& in, const auto& shapes) {
    const std::vector<T> init(n, T(0));
    const std::vector<T> aligned = RunKernel(op, in, shapes, Shape{n}, init, 0, 0, false);
    for (auto [in_off, out_off] : kOffsets) {
      const std::vector<T> got = RunKernel(op, in, shapes, Shape{n}, init, in_off, out_off, false);
      EXPECT_TRUE(SameBits(got.data(), aligned.data(), n * sizeof(T)))
          << "input offset " << in_off << ", output offset " << out_off;
    }
  });
  // A broadcast operand read through an unaligned view: [3,4] + [4], both starting at element 1.
  const OpDef& add = Op("add");
  const std::vector<std::vector<T>> in = {Uniform<T>(12, -2, 2, 61), Uniform<T>(4, -2, 2, 62)};
  const std::vector<T> got =
      RunKernel(add, in, {Shape{3, 4}, Shape{4}}, Shape{3, 4}, std::vector<T>(12), 1, 1, false);
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(got[i], in[0][i] + in[1][i % 4]) << "at " << i;
}

TEST(PointwiseOpsTest, KernelsTakeUnalignedViewsInF32AndF64) {
  CheckUnalignedViews<float>();
  CheckUnalignedViews<double>();
}

template <class T>
void CheckAccumulation() {
  ForEachOpAndSize<T>([](const OpDef& op, int64_t n, const auto& in, const auto& shapes) {
    const std::vector<T> old = Uniform<T>(n, -5, 5, 71 + n);
    // Overwriting ignores whatever the output held.
    const std::vector<T> result = RunKernel(op, in, shapes, Shape{n}, old, 0, 0, false);
    const std::vector<T> fresh =
        RunKernel(op, in, shapes, Shape{n}, std::vector<T>(n, T(0)), 0, 0, false);
    EXPECT_TRUE(SameBits(result.data(), fresh.data(), n * sizeof(T)));
    const std::vector<T> sum = RunKernel(op, in, shapes, Shape{n}, old, 0, 1, true);
    for (int64_t i = 0; i < n; ++i) {
      // One rounding of old + result (the compiler may fuse it into an FMA).
      const double tol =
          4 * std::numeric_limits<T>::epsilon() * (std::fabs(old[i]) + std::fabs(result[i]));
      EXPECT_NEAR(sum[i], double(old[i]) + double(result[i]), tol) << "at " << i;
    }
  });
  // Accumulating through the broadcast path: [3,1] * [1,4] into a pre-filled [3,4].
  const OpDef& mul = Op("mul");
  const std::vector<std::vector<T>> in = {Uniform<T>(3, -2, 2, 81), Uniform<T>(4, -2, 2, 82)};
  const std::vector<T> old = Uniform<T>(12, -2, 2, 83);
  const std::vector<T> got =
      RunKernel(mul, in, {Shape{3, 1}, Shape{1, 4}}, Shape{3, 4}, old, 0, 1, true);
  for (int64_t i = 0; i < 12; ++i) {
    const double product = double(in[0][i / 4]) * double(in[1][i % 4]);
    const double tol =
        4 * std::numeric_limits<T>::epsilon() * (std::fabs(old[i]) + std::fabs(product));
    EXPECT_NEAR(got[i], double(old[i]) + product, tol) << "at " << i;
  }
}

TEST(PointwiseOpsTest, KernelsAccumulateInF32AndF64) {
  CheckAccumulation<float>();
  CheckAccumulation<double>();
}

// With num_threads > 1, large kernels split their output across the pool: the bits equal
// one thread's, for every op, unaligned outputs, accumulation and broadcasting.
template <class T>
void CheckThreadedKernels() {
  const int64_t n = kernels::kParallelPointwise + 37;  // odd
  const std::vector<T> old = Uniform<T>(n, -5, 5, 101);
  for (const OpDef* op : TiledOps()) {
    const auto in = KernelInputs<T>(*op, n);
    const std::vector<Shape> shapes(op->arity, Shape{n});
    for (bool accumulate : {false, true}) {
      for (int64_t out_off : {0, 1}) {
        const std::vector<T> one =
            RunKernel(*op, in, shapes, Shape{n}, old, 1, out_off, accumulate, 1);
        for (int threads : {2, 3, 8}) {
          SCOPED_TRACE(fmt::format("{} {} accumulate={} offset={} threads={}", op->name,
                                   DTypeLabel<T>(), accumulate, out_off, threads));
          const std::vector<T> got =
              RunKernel(*op, in, shapes, Shape{n}, old, 1, out_off, accumulate, threads);
          EXPECT_TRUE(SameBits(got.data(), one.data(), n * sizeof(T)));
        }
      }
    }
  }
  // Broadcasting: many short runs, a few long runs split inside, one operand a scalar.
  struct Case {
    Shape a, b, out;
  };
  const Case cases[] = {
      {{257, 301}, {301}, {257, 301}},
      {{257, 1}, {1, 301}, {257, 301}},
      {{2, 40001}, {2, 1}, {2, 40001}},
      {{}, {70001}, {70001}},
      {{3, 1, 7}, {1, 3121, 1}, {3, 3121, 7}},
  };
  for (std::string_view name : {"add", "sub", "mul", "div"}) {
    const OpDef& op = Op(name);
    for (const Case& c : cases) {
      const std::vector<std::vector<T>> in = {Uniform<T>(c.a.num_elements(), -2, 2, 111),
                                              Uniform<T>(c.b.num_elements(), 0.5, 2, 112)};
      const int64_t m = c.out.num_elements();
      const std::vector<T> init = Uniform<T>(m, -5, 5, 113);
      for (bool accumulate : {false, true}) {
        const std::vector<T> one =
            RunKernel(op, in, {c.a, c.b}, c.out, init, 0, 1, accumulate, 1);
        for (int threads : {2, 3, 8}) {
          SCOPED_TRACE(fmt::format("{} {} {} {} accumulate={} threads={}", name,
                                   DTypeLabel<T>(), c.a, c.b, accumulate, threads));
          const std::vector<T> got =
              RunKernel(op, in, {c.a, c.b}, c.out, init, 0, 1, accumulate, threads);
          EXPECT_TRUE(SameBits(got.data(), one.data(), m * sizeof(T)));
        }
      }
    }
  }
}

TEST(PointwiseOpsTest, ThreadedKernelsEqualOneThreadBitwiseInF32AndF64) {
  CheckThreadedKernels<float>();
  CheckThreadedKernels<double>();
}

// The graph hands ExecOptions::num_threads to the kernels; small ops never reach the pool.
TEST(PointwiseOpsTest, GraphThreadsReachLargeOpsOnly) {
  const ThreadPool& pool = ThreadPool::Shared();
  const Shape shape{kernels::kParallelPointwise / 5 + 3, 5};  // [3279, 5]
  const std::vector<float> x = Uniform<float>(shape.num_elements(), -3, 3, 121);
  const std::vector<float> bias = Uniform<float>(5, -1, 1, 122);
  std::vector<float> want;
  {
    Graph g;
    want = Read<float>(Tanh(g.Input(shape, x)) + g.Input(Shape{5}, bias));
  }
  Graph g({.exec = {.num_threads = 2}});
  const int64_t calls = pool.calls();
  const Expr small = Tanh(g.Input(Shape{1000}, absl::MakeConstSpan(x).first(1000)));
  ASSERT_EQ(Read<float>(small).size(), 1000u);
  EXPECT_EQ(pool.calls(), calls);
  const std::vector<float> got = Read<float>(Tanh(g.Input(shape, x)) + g.Input(Shape{5}, bias));
  EXPECT_EQ(pool.calls(), calls + 2);  // tanh and the broadcast add
  ASSERT_EQ(got.size(), want.size());
  EXPECT_TRUE(SameBits(got.data(), want.data(), got.size() * sizeof(float)));
}

template <class T>
TileFn<T> TileOf(const OpDef& op) {
  if constexpr (std::is_same_v<T, float>) {
    return op.pointwise.f32;
  } else {
    return op.pointwise.f64;
  }
}

template <class T>
void CheckTiles() {
  for (const OpDef* op : TiledOps()) {
    ASSERT_TRUE(TileOf<T>(*op) != nullptr) << op->name << " has no " << DTypeLabel<T>() << " tile";
    for (int64_t n : kSizes) {
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(fmt::format("{} {} n={} accumulate={}", op->name, DTypeLabel<T>(), n,
                                 accumulate));
        const auto in = KernelInputs<T>(*op, n);
        const std::vector<T> old = Uniform<T>(n, -5, 5, 91 + n);
        const std::vector<T> want =
            RunKernel(*op, in, std::vector<Shape>(op->arity, Shape{n}), Shape{n}, old, 0, 0,
                      accumulate);
        std::vector<const T*> ptrs;
        for (const std::vector<T>& v : in) ptrs.push_back(v.data());
        std::vector<T> got = old;
        const TileFn<T> tile = TileOf<T>(*op);
        tile(ptrs, std::vector<int64_t>(ptrs.size(), 1), got.data(), n, KernelAttrs(), accumulate);
        EXPECT_TRUE(SameBits(got.data(), want.data(), n * sizeof(T)));
      }
    }
  }
}

TEST(PointwiseOpsTest, TilesEqualKernelsInF32AndF64) {
  CheckTiles<float>();
  CheckTiles<double>();
}

TEST(PointwiseOpsTest, FamilyListsEveryOpWithItsFacts) {
  const std::vector<const OpDef*> tiled = TiledOps();
  for (const OpDef* op : PointwiseOps()) {
    EXPECT_NE(std::find(tiled.begin(), tiled.end(), op), tiled.end())
        << op->name << " is in PointwiseOps() but not registered with tiles";
    EXPECT_NE(op->vjp, nullptr) << op->name;
  }
  for (const OpDef* op : tiled) {
    EXPECT_NE(op->infer, nullptr) << op->name;
    EXPECT_NE(op->forward, nullptr) << op->name;
    EXPECT_NE(op->rows, nullptr) << op->name;
    EXPECT_FALSE(op->is_leaf) << op->name;
    EXPECT_GE(op->arity, 1) << op->name << ": a tile takes a fixed number of operands";
  }
  EXPECT_EQ(Op("relu_grad").no_grad_inputs, 1u);
  EXPECT_FALSE(Op("relu_grad").Differentiable(0));
  EXPECT_TRUE(Op("relu_grad").Differentiable(1));
  // Row facts: every full-shape operand carries rows; a broadcast row vector does not.
  const TensorType full{DType::kF32, Shape{8, 4}}, row{DType::kF32, Shape{4}};
  const RowFacts facts = Op("add").rows({}, {full, row});
  EXPECT_EQ(facts.kind, RowKind::kIndependent);
  EXPECT_EQ(facts.row_operands, 1u);
}

// ---- non-finite inputs (fuzz/graph_ops_fuzz.cc: UBSan caught xsimd's double exp converting
// inf to int64 in a lane its select then drops; cmake/ubsan_ignorelist.txt exempts xsimd) ----

// exp, tanh and sigmoid of +-inf, NaN and values far beyond the finite range give their
// limits in every lane, SIMD body and scalar tail alike.
template <class T>
void CheckNonFiniteLimits() {
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  const std::vector<T> special = {inf, -inf, nan, T(1000), T(-1000), T(0), T(1e30), T(-1e30)};
  std::vector<T> x;
  for (int i = 0; i < 5; ++i) x.insert(x.end(), special.begin(), special.end());  // 40: body + tail
  struct Case {
    Expr (*op)(Expr);
    T (*reference)(T);
  };
  const Case cases[] = {{Exp, [](T v) { return std::exp(v); }},
                        {Tanh, [](T v) { return std::tanh(v); }},
                        {Sigmoid, [](T v) { return T(1) / (T(1) + std::exp(-v)); }}};
  for (const Case& c : cases) {
    Graph g;
    absl::StatusOr<std::vector<T>> y =
        c.op(g.Input(Shape{static_cast<int64_t>(x.size())}, x)).template ToVector<T>();
    ASSERT_TRUE(y.ok()) << y.status();
    for (size_t i = 0; i < x.size(); ++i) {
      const T want = c.reference(x[i]);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan((*y)[i])) << "x = " << x[i];
      } else {
        EXPECT_EQ((*y)[i], want) << "x = " << x[i];
      }
    }
  }
}

TEST(PointwiseOpsTest, NonFiniteAndHugeInputsGiveTheirLimitsInF32AndF64) {
  CheckNonFiniteLimits<float>();
  CheckNonFiniteLimits<double>();
}

}  // namespace
}  // namespace tg
