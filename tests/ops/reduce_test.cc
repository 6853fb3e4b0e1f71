// sum, sum_to, broadcast_to, softmax and log_softmax against naive double references, the
// accumulate and unaligned kernel paths, the declared row facts and the shape errors.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "graph/graph.h"
#include "graph/op_def.h"
#include "ops/ops.h"
#include "ops/registry.h"
#include "testing/test_values.h"
#include "tests/ops/op_test_util.h"

namespace tg {
namespace {

using testing::kSizes;
using testing::Op;
using testing::RunKernel;
using testing::Uniform;

template <class T>
constexpr double kTol = sizeof(T) == 4 ? 1e-5 : 1e-12;

template <class T>
void ExpectNear(const absl::StatusOr<std::vector<T>>& got, const std::vector<double>& want,
                double atol, const std::string& what) {
  ASSERT_TRUE(got.ok()) << what << ": " << got.status();
  ASSERT_EQ(got->size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR((*got)[i], want[i], atol) << what << " entry " << i;
  }
}

// Sum over axis `axis` of x [rows, cols] in double (axis -1: everything).
template <class T>
std::vector<double> SumRef(const std::vector<T>& x, int64_t rows, int64_t cols, int axis) {
  std::vector<double> out(axis < 0 ? 1 : axis == 0 ? cols : rows, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[axis < 0 ? 0 : axis == 0 ? c : r] += x[r * cols + c];
  }
  return out;
}

template <class T>
void CheckSums() {
  uint64_t seed = 1;
  for (int64_t rows : kSizes) {
    for (int64_t cols : kSizes) {
      const std::vector<T> x = Uniform<T>(rows * cols, -1, 3, seed++);
      const double atol = kTol<T> * static_cast<double>(rows * cols);
      Graph g;
      Expr in = g.Input({rows, cols}, x);
      const std::string what = fmt::format("[{},{}]", rows, cols);
      Expr all = Sum(in);
      EXPECT_EQ(all.shape(), Shape{}) << what;
      ExpectNear(all.ToVector<T>(), SumRef(x, rows, cols, -1), atol, what + " all");
      for (bool keep : {false, true}) {
        for (int axis : {0, 1, -1}) {
          Expr s = Sum(in, axis, {.keepdims = keep});
          const int a = axis < 0 ? axis + 2 : axis;
          const Shape want_shape = keep ? (a == 0 ? Shape{1, cols} : Shape{rows, 1})
                                        : (a == 0 ? Shape{cols} : Shape{rows});
          const std::string w = fmt::format("{} axis {} keepdims {}", what, axis, keep);
          EXPECT_EQ(s.shape(), want_shape) << w;
          ExpectNear(s.ToVector<T>(), SumRef(x, rows, cols, a), atol, w);
        }
      }
      ASSERT_TRUE(g.status().ok()) << g.status();
    }
  }
}

TEST(ReduceOpsTest, SumMatchesReferenceF32) { CheckSums<float>(); }
TEST(ReduceOpsTest, SumMatchesReferenceF64) { CheckSums<double>(); }

TEST(ReduceOpsTest, SumOfMiddleAxisRank3) {
  std::vector<double> x(2 * 3 * 4);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
  Graph g;
  Expr s = Sum(g.Input({2, 3, 4}, x), 1);
  EXPECT_EQ(s.shape(), (Shape{2, 4}));
  ExpectNear(s.ToVector<double>(), {12, 15, 18, 21, 48, 51, 54, 57}, 0, "sum axis 1");
}

struct ToCase {
  Shape big, small;
};
const ToCase kToCases[] = {
    {{3, 4}, {4}}, {{3, 4}, {3, 1}}, {{2, 3, 4}, {3, 1}}, {{3, 4}, {}},
    {{2, 3, 4}, {2, 1, 4}}, {{17, 33}, {1, 33}}, {{5, 1, 7}, {7}}, {{3, 4}, {3, 4}},
};

// The small index that big's flat index i broadcasts from.
int64_t SmallIndex(const Shape& big, const Shape& small, int64_t i) {
  int64_t idx = 0, stride = 1;
  for (int d = big.rank() - 1, e = small.rank() - 1; d >= 0; --d, --e) {
    const int64_t coord = i % big[d];
    i /= big[d];
    if (e >= 0) {
      if (small[e] != 1) idx += coord * stride;
      stride *= small[e];
    }
  }
  return idx;
}

template <class T>
void CheckSumToAndBroadcastTo() {
  uint64_t seed = 100;
  for (const ToCase& c : kToCases) {
    const std::string what = fmt::format("{} <-> {}", c.big, c.small);
    const std::vector<T> big = Uniform<T>(c.big.num_elements(), -1, 3, seed++);
    const std::vector<T> small = Uniform<T>(c.small.num_elements(), -1, 3, seed++);
    std::vector<double> summed(c.small.num_elements(), 0.0), spread(c.big.num_elements());
    for (int64_t i = 0; i < c.big.num_elements(); ++i) {
      summed[SmallIndex(c.big, c.small, i)] += big[i];
      spread[i] = small[SmallIndex(c.big, c.small, i)];
    }
    Graph g;
    Expr s = SumTo(g.Input(c.big, big), c.small);
    Expr b = BroadcastTo(g.Input(c.small, small), c.big);
    EXPECT_EQ(s.shape(), c.small) << what;
    EXPECT_EQ(b.shape(), c.big) << what;
    ExpectNear(s.ToVector<T>(), summed, kTol<T> * 32, "sum_to " + what);
    ExpectNear(b.ToVector<T>(), spread, 0, "broadcast_to " + what);
    ASSERT_TRUE(g.status().ok()) << g.status();
  }
}

TEST(ReduceOpsTest, SumToAndBroadcastToF32) { CheckSumToAndBroadcastTo<float>(); }
TEST(ReduceOpsTest, SumToAndBroadcastToF64) { CheckSumToAndBroadcastTo<double>(); }

// Row-wise softmax and log_softmax in double over the last axis.
template <class T>
void SoftmaxRef(const std::vector<T>& x, int64_t cols, std::vector<double>* soft,
                std::vector<double>* log_soft) {
  soft->resize(x.size());
  log_soft->resize(x.size());
  for (size_t r = 0; r < x.size() / cols; ++r) {
    const T* row = x.data() + r * cols;
    double m = row[0], sum = 0;
    for (int64_t c = 0; c < cols; ++c) m = std::max(m, static_cast<double>(row[c]));
    for (int64_t c = 0; c < cols; ++c) sum += std::exp(row[c] - m);
    for (int64_t c = 0; c < cols; ++c) {
      (*log_soft)[r * cols + c] = (row[c] - m) - std::log(sum);
      (*soft)[r * cols + c] = std::exp((*log_soft)[r * cols + c]);
    }
  }
}

template <class T>
void CheckSoftmax() {
  const Shape shapes[] = {{1}, {17}, {3, 1}, {3, 17}, {2, 3, 33}, {33, 3}};
  uint64_t seed = 200;
  for (const Shape& shape : shapes) {
    for (double scale : {1.0, 1000.0}) {
      const std::vector<T> x = Uniform<T>(shape.num_elements(), -scale, 3 * scale, seed++);
      std::vector<double> soft, log_soft;
      SoftmaxRef(x, shape[shape.rank() - 1], &soft, &log_soft);
      Graph g;
      Expr in = g.Input(shape, x);
      const std::string what = fmt::format("{} scale {}", shape, scale);
      // f32 logits near 1000 carry ~1e-4 absolute rounding into x - max.
      const double atol = scale > 1 ? 1e-3 : kTol<T> * 10;
      ExpectNear(Softmax(in).ToVector<T>(), soft, atol, "softmax " + what);
      ExpectNear(LogSoftmax(in).ToVector<T>(), log_soft, atol, "log_softmax " + what);
      ASSERT_TRUE(g.status().ok()) << g.status();
    }
  }
}

TEST(ReduceOpsTest, SoftmaxMatchesReferenceF32) { CheckSoftmax<float>(); }
TEST(ReduceOpsTest, SoftmaxMatchesReferenceF64) { CheckSoftmax<double>(); }

TEST(ReduceOpsTest, SoftmaxStableAtExtremeLogits) {
  Graph g;
  Expr x = g.Input({2, 2}, std::vector<float>{1000, 0, -1000, -1000});
  const std::vector<float> soft = *Softmax(x).ToVector<float>();
  const std::vector<float> log_soft = *LogSoftmax(x).ToVector<float>();
  ASSERT_TRUE(g.status().ok()) << g.status();
  for (float v : soft) EXPECT_TRUE(std::isfinite(v));
  for (float v : log_soft) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(soft[0], 1, 1e-6);
  EXPECT_NEAR(soft[1], 0, 1e-6);
  EXPECT_NEAR(soft[2], 0.5, 1e-6);
  EXPECT_NEAR(log_soft[0], 0, 1e-6);
  EXPECT_NEAR(log_soft[1], -1000, 1e-3);
  EXPECT_NEAR(log_soft[2], -std::log(2.0), 1e-6);
}

// Calls `op`'s kernel with accumulate set on an input starting one element into its buffer
// and checks out == old + (the graph's result for the same input).
template <class T>
void CheckAccumulate(const OpDef& op, const Shape& in_shape, const Attrs& attrs,
                     const Shape& out_shape, Expr (*build)(Expr)) {
  std::vector<T> buf = Uniform<T>(in_shape.num_elements() + 1, -1, 3, 300);
  const std::vector<T> x(buf.begin() + 1, buf.end());
  Graph g;
  const Expr fresh_expr = build(g.Input(in_shape, x));
  const absl::StatusOr<std::vector<T>> fresh = fresh_expr.ToVector<T>();
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  const std::vector<T> old = Uniform<T>(out_shape.num_elements(), -1, 3, 301);
  std::vector<T> out = old;
  const absl::Status s = RunKernel(op, {Tensor(buf.data() + 1, DTypeOf<T>(), in_shape)},
                                   Tensor(out.data(), DTypeOf<T>(), out_shape), attrs, true);
  ASSERT_TRUE(s.ok()) << s;
  std::vector<double> want(old.size());
  for (size_t i = 0; i < old.size(); ++i) want[i] = old[i] + (*fresh)[i];
  ExpectNear(absl::StatusOr<std::vector<T>>(out), want, kTol<T> * 10, std::string(op.name));
}

template <class T>
void CheckAllAccumulate() {
  Attrs none, axis1, to_row, to_big;
  axis1.ints = {1, 0};
  to_row.shape = {3, 1};
  to_big.shape = {2, 3, 17};
  CheckAccumulate<T>(Op("sum"), {3, 17}, none, {}, [](Expr x) { return Sum(x); });
  CheckAccumulate<T>(Op("sum"), {3, 17}, axis1, {3},
                     [](Expr x) { return Sum(x, 1); });
  CheckAccumulate<T>(Op("sum_to"), {2, 3, 17}, to_row, {3, 1},
                     [](Expr x) { return SumTo(x, {3, 1}); });
  CheckAccumulate<T>(Op("broadcast_to"), {3, 1}, to_big, {2, 3, 17},
                     [](Expr x) { return BroadcastTo(x, {2, 3, 17}); });
  CheckAccumulate<T>(Op("softmax"), {3, 17}, none, {3, 17},
                     [](Expr x) { return Softmax(x); });
  CheckAccumulate<T>(Op("log_softmax"), {3, 17}, none, {3, 17},
                     [](Expr x) { return LogSoftmax(x); });
}

TEST(ReduceOpsTest, KernelsAccumulateFromUnalignedInputsF32) { CheckAllAccumulate<float>(); }
TEST(ReduceOpsTest, KernelsAccumulateFromUnalignedInputsF64) { CheckAllAccumulate<double>(); }

TEST(ReduceOpsTest, RowFacts) {
  auto kind = [](std::string_view name, Shape shape, std::vector<int64_t> ints) {
    const OpDef& op = Op(name);
    if (op.rows == nullptr) return RowKind::kNone;
    Attrs attrs;
    attrs.ints.assign(ints.begin(), ints.end());
    const TensorType t[] = {{DType::kF32, std::move(shape)}};
    return op.rows(attrs, absl::MakeConstSpan(t)).kind;
  };
  EXPECT_EQ(kind("softmax", {4, 5}, {}), RowKind::kIndependent);
  EXPECT_EQ(kind("log_softmax", {2, 4, 5}, {}), RowKind::kIndependent);
  EXPECT_EQ(kind("softmax", {5}, {}), RowKind::kNone);
  EXPECT_EQ(kind("sum", {4, 5}, {1, 0}), RowKind::kIndependent);
  EXPECT_EQ(kind("sum", {4, 5}, {0, 0}), RowKind::kNone);
  EXPECT_EQ(kind("sum", {4, 5}, {}), RowKind::kNone);
  EXPECT_EQ(kind("sum", {5}, {0, 0}), RowKind::kNone);
  EXPECT_EQ(kind("sum_to", {4, 5}, {}), RowKind::kNone);
}

// softmax is declared row-independent: stacked rows give the same values as each part.
TEST(ReduceOpsTest, SoftmaxRowsStack) {
  const std::vector<double> x = Uniform<double>(5 * 7, -1, 3, 400);
  Graph g;
  const std::vector<double> all = *Softmax(g.Input({5, 7}, x)).ToVector<double>();
  std::vector<double> parts =
      *Softmax(g.Input({2, 7}, absl::MakeConstSpan(x).subspan(0, 14))).ToVector<double>();
  const std::vector<double> rest =
      *Softmax(g.Input({3, 7}, absl::MakeConstSpan(x).subspan(14))).ToVector<double>();
  parts.insert(parts.end(), rest.begin(), rest.end());
  ASSERT_TRUE(g.status().ok()) << g.status();
  EXPECT_EQ(all, parts);
}

TEST(ReduceOpsTest, SumAxisOutOfRangeNamesAxis) {
  Graph g;
  Expr s = Sum(g.Input({3, 4}, std::vector<float>(12)), 5);
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(g.status().message());
  EXPECT_NE(msg.find("sum"), std::string::npos) << msg;
  EXPECT_NE(msg.find("axis 5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3,4]"), std::string::npos) << msg;
  EXPECT_FALSE(s.value().ok());
}

TEST(ReduceOpsTest, NegativeAxisOutOfRangeNamesAxis) {
  Graph g;
  Sum(g.Input({3, 4}, std::vector<float>(12)), -3);
  EXPECT_NE(std::string(g.status().message()).find("axis -3"), std::string::npos)
      << g.status();
}

TEST(ReduceOpsTest, BadTargetsRefused) {
  {
    Graph g;
    SumTo(g.Input({3, 4}, std::vector<float>(12)), {5});
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(g.status().message()).find("sum_to"), std::string::npos);
  }
  {
    Graph g;
    BroadcastTo(g.Input({3, 4}, std::vector<float>(12)), {4});
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(g.status().message()).find("cannot broadcast [3,4] to [4]"),
              std::string::npos)
        << g.status();
  }
  {
    Graph g;
    Softmax(g.Input({}, std::vector<float>{1}));
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace tg
