// Forward values, accumulation and errors of the neural-network ops (ops/nn.cc).
// Gradients are covered by the registry-driven finite-difference test; MseLoss is a
// composition of other families' ops and is tested with them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fmt/format.h"
#include "graph/graph.h"
#include "base/thread_pool.h"
#include "ops/ops.h"
#include "ops/registry.h"
#include "tests/ops/op_test_util.h"

namespace tg {
namespace {

using ::testing::HasSubstr;
using testing::AddedByKernel;
using testing::DistinctValues;
using testing::ExpectError;
using testing::kSizes;
using testing::Op;
using testing::Read;
using testing::RunKernel;

// Ids with repeats: position p holds (p * 7 + 3) % limit.
std::vector<int32_t> Ids(int64_t n, int64_t limit) {
  std::vector<int32_t> ids(n);
  for (int64_t p = 0; p < n; ++p) ids[p] = static_cast<int32_t>((p * 7 + 3) % limit);
  return ids;
}

template <class T>
std::vector<T> EmbeddingRef(const std::vector<T>& table, int64_t d,
                            const std::vector<int32_t>& ids) {
  std::vector<T> out;
  for (int32_t id : ids) out.insert(out.end(), table.begin() + id * d, table.begin() + id * d + d);
  return out;
}

template <class T>
void CheckEmbedding() {
  for (int64_t v : kSizes) {
    for (int64_t d : kSizes) {
      Graph g;
      const std::vector<T> table = DistinctValues<T>(v * d);
      const std::vector<int32_t> ids = Ids(6, v);  // repeats whenever v < 6
      Expr y = Embedding(g.Input({v, d}, table), g.Input({2, 3}, ids));
      EXPECT_EQ(y.shape(), (Shape{2, 3, d}));
      EXPECT_EQ(Read<T>(y), EmbeddingRef(table, d, ids));

      // The gradient scatter: repeated ids sum.
      const int64_t n = 2 * v + 1;
      const std::vector<T> dy = DistinctValues<T>(n * d, 1);
      const std::vector<int32_t> gids = Ids(n, v);
      std::vector<T> want(v * d, T(0));
      for (int64_t p = 0; p < n; ++p) {
        for (int64_t j = 0; j < d; ++j) want[gids[p] * d + j] += dy[p * d + j];
      }
      Expr grad = EmbeddingGrad(g.Input({n, d}, dy), g.Input({n}, gids), v);
      EXPECT_EQ(grad.shape(), (Shape{v, d}));
      EXPECT_EQ(Read<T>(grad), want);
      EXPECT_TRUE(g.status().ok()) << g.status();
    }
  }
}

TEST(NnOpsTest, EmbeddingLooksUpRowsAndItsGradientSumsRepeatedIds) {
  CheckEmbedding<float>();
  CheckEmbedding<double>();
}

template <class T>
void CheckOneHot() {
  for (int64_t depth : kSizes) {
    for (int64_t n : kSizes) {
      Graph g;
      const std::vector<int32_t> ids = Ids(n, depth);
      Expr y = OneHot(g.Input({n}, ids), depth, DTypeOf<T>());
      std::vector<T> want(n * depth, T(0));
      for (int64_t p = 0; p < n; ++p) want[p * depth + ids[p]] = T(1);
      EXPECT_EQ(y.shape(), (Shape{n, depth}));
      EXPECT_EQ(y.dtype(), DTypeOf<T>());
      EXPECT_EQ(Read<T>(y), want);
    }
  }
  Graph g;
  EXPECT_EQ(OneHot(g.Input({1, 2}, std::vector<int32_t>{2, 0}), 3, DTypeOf<T>()).shape(),
            (Shape{1, 2, 3}));
}

TEST(NnOpsTest, OneHotMarksEachId) {
  CheckOneHot<float>();
  CheckOneHot<double>();
}

// mean_b [logsumexp(x_b) - x_b[t_b]] in long double.
template <class T>
long double XentRef(const std::vector<T>& x, const std::vector<int32_t>& t, int64_t c) {
  const int64_t b = static_cast<int64_t>(t.size());
  long double total = 0;
  for (int64_t r = 0; r < b; ++r) {
    long double m = x[r * c];
    for (int64_t j = 0; j < c; ++j) m = std::max<long double>(m, x[r * c + j]);
    long double s = 0;
    for (int64_t j = 0; j < c; ++j) s += std::exp(static_cast<long double>(x[r * c + j]) - m);
    total += m + std::log(s) - x[r * c + t[r]];
  }
  return total / b;
}

template <class T>
double Tol() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-14;
}

template <class T>
void CheckXent(double amplitude) {
  for (int64_t b : {1, 3, 17, 33, 300}) {  // 300: more rows than the kernel's stack chunk
    for (int64_t c : kSizes) {
      Graph g;
      std::vector<T> x(b * c);
      for (int64_t i = 0; i < b * c; ++i) {
        // A fixed spread over [-amplitude, amplitude], all signs and both extremes.
        x[i] = static_cast<T>(amplitude * (((i * 53 + 7) % 97) / 48.0 - 1.0));
      }
      const std::vector<int32_t> t = Ids(b, c);
      absl::StatusOr<double> loss =
          SoftmaxCrossEntropy(g.Input({b, c}, x), g.Input({b}, t)).Scalar();
      ASSERT_TRUE(loss.ok()) << loss.status();
      const double want = static_cast<double>(XentRef(x, t, c));
      EXPECT_TRUE(std::isfinite(*loss));
      EXPECT_NEAR(*loss, want, Tol<T>() * std::max(1.0, std::abs(want)) * 8)
          << b << "x" << c << " amplitude " << amplitude;
    }
  }
}

TEST(NnOpsTest, SoftmaxCrossEntropyMatchesALongDoubleReference) {
  CheckXent<float>(3.0);
  CheckXent<double>(3.0);
}

TEST(NnOpsTest, SoftmaxCrossEntropyIsStableAtLogitsOf500) {
  CheckXent<float>(500.0);
  CheckXent<double>(500.0);
  Graph g;  // the target's logit is -500 while another is +500: loss 1000, not inf
  std::vector<float> x = {500, -500};
  absl::StatusOr<double> loss =
      SoftmaxCrossEntropy(g.Input({1, 2}, x), g.Input({1}, std::vector<int32_t>{1})).Scalar();
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_NEAR(*loss, 1000.0, 1e-3);
}

TEST(NnOpsTest, StopGradientPassesTheValue) {
  Graph g;
  const std::vector<double> v = DistinctValues<double>(17);
  Expr x = g.Input({17}, v, {.requires_grad = true});
  Expr y = StopGradient(x);
  EXPECT_EQ(Read<double>(y), v);
  EXPECT_EQ(y.value()->raw(), x.value()->raw());  // a view, no copy
  EXPECT_FALSE(g.node(y.id()).requires_grad);
}

template <class T>
void CheckAccumulate() {
  const std::vector<T> table = DistinctValues<T>(5 * 3), pre = DistinctValues<T>(64, 4);
  const std::vector<int32_t> ids = {4, 0, 4, 2};
  const Tensor tt(const_cast<T*>(table.data()), DTypeOf<T>(), {5, 3});
  const Tensor ti(const_cast<int32_t*>(ids.data()), DType::kI32, {4});
  EXPECT_EQ(AddedByKernel("embedding", {tt, ti}, {4, 3}, {}, pre), EmbeddingRef(table, 3, ids));
  EXPECT_EQ(AddedByKernel("stop_gradient", {tt}, {5, 3}, {}, pre), table);
  Attrs rows;
  rows.ints = {5};
  const Tensor dy(const_cast<T*>(table.data()), DTypeOf<T>(), {4, 3});
  std::vector<T> want(15, T(0));
  for (int p = 0; p < 4; ++p) {
    for (int j = 0; j < 3; ++j) want[ids[p] * 3 + j] += table[p * 3 + j];
  }
  std::vector<T> got = AddedByKernel("embedding_grad", {dy, ti}, {5, 3}, rows, pre);
  for (int i = 0; i < 15; ++i) EXPECT_NEAR(got[i], want[i], 1e-5);  // pre + x - pre rounds
  Attrs hot;
  hot.ints = {5, static_cast<int64_t>(DTypeOf<T>())};
  std::vector<T> one_hot(20, T(0));
  for (int p = 0; p < 4; ++p) one_hot[p * 5 + ids[p]] = T(1);
  got = AddedByKernel("one_hot", {ti}, {4, 5}, hot, pre);
  for (int i = 0; i < 20; ++i) EXPECT_NEAR(got[i], one_hot[i], 1e-6);
  const Tensor logits(const_cast<T*>(table.data()), DTypeOf<T>(), {4, 3});
  const std::vector<int32_t> targets = {0, 2, 1, 1};
  const Tensor tt_targets(const_cast<int32_t*>(targets.data()), DType::kI32, {4});
  got = AddedByKernel("softmax_xent", {logits, tt_targets}, {}, {}, pre);
  const std::vector<T> first12(table.begin(), table.begin() + 12);
  EXPECT_NEAR(got[0], static_cast<double>(XentRef(first12, targets, 3)), 1e-5);
}

TEST(NnOpsTest, KernelsAccumulateIntoTheirOutput) {
  CheckAccumulate<float>();
  CheckAccumulate<double>();
}

template <class T>
void CheckUnaligned() {
  for (int64_t n : kSizes) {
    Graph g;
    // Row 1 onwards of [n+1, 3] is a view starting 3 elements in.
    Expr whole = g.Input({n + 1, 3}, DistinctValues<T>((n + 1) * 3));
    Expr table = Slice(whole, 0, 1, n + 1);
    const std::vector<T> tv = Read<T>(table);
    Expr all_ids = g.Input({n + 1}, Ids(n + 1, n));
    Expr ids = Slice(all_ids, 0, 1, n + 1);
    const std::vector<int32_t> iv = Read<int32_t>(ids);
    EXPECT_EQ(Read<T>(Embedding(table, ids)), EmbeddingRef(tv, 3, iv));
    const std::vector<int32_t> all_targets = Ids(n + 1, 3);
    const std::vector<int32_t> targets(all_targets.begin() + 1, all_targets.end());
    Expr t = Slice(g.Input({n + 1}, all_targets), 0, 1, n + 1);
    absl::StatusOr<double> loss = SoftmaxCrossEntropy(table, t).Scalar();
    ASSERT_TRUE(loss.ok()) << loss.status();
    EXPECT_NEAR(*loss, static_cast<double>(XentRef(tv, targets, 3)), 1e-5);
    EXPECT_TRUE(g.status().ok()) << g.status();
  }
}

TEST(NnOpsTest, KernelsTakeUnalignedInputs) {
  CheckUnaligned<float>();
  CheckUnaligned<double>();
}

// ---- errors ----

TEST(NnOpsTest, EmbeddingIdOutOfRangeIsAnError) {
  for (int32_t bad : {9, 5, -1}) {
    Graph g;
    auto s = g.Scope("step_3");
    Embedding(g.Input({5, 2}, DistinctValues<float>(10)),
              g.Input({4}, std::vector<int32_t>{0, 1, 2, bad}));
    ExpectError(g, {"embedding", fmt::format("id {} at position 3 is out of range [0, 5)", bad),
                    "[5,2]", "[4]", "step_3/embedding"});
  }
}

TEST(NnOpsTest, EmbeddingNeedsAFloatTableAndI32Ids) {
  {
    Graph g;
    auto s = g.Scope("step_3");
    Embedding(g.Input({5, 2}, DistinctValues<float>(10)), g.Input({4}, DistinctValues<float>(4)));
    ExpectError(g, {"embedding", "ids must be i32", "[5,2]", "[4]", "step_3/embedding"});
  }
  {
    Graph g;
    Embedding(g.Input({10}, DistinctValues<double>(10)), g.Input({1}, std::vector<int32_t>{0}));
    ExpectError(g, {"embedding", "[10]", "2-D"});
  }
}

TEST(NnOpsTest, EmbeddingGradAndOneHotRejectOutOfRangeIds) {
  {
    Graph g;
    auto s = g.Scope("step_3");
    EmbeddingGrad(g.Input({2, 3}, DistinctValues<double>(6)),
                  g.Input({2}, std::vector<int32_t>{1, 7}), 4);
    ExpectError(g, {"embedding_grad", "id 7 at position 1 is out of range [0, 4)", "[2,3]",
                    "step_3/embedding_grad"});
  }
  {
    Graph g;
    EmbeddingGrad(g.Input({2, 3}, DistinctValues<double>(6)),
                  g.Input({3}, std::vector<int32_t>{1, 1, 1}), 4);
    ExpectError(g, {"embedding_grad", "[2,3]", "[3]"});
  }
  {
    Graph g;
    auto s = g.Scope("step_3");
    OneHot(g.Input({3}, std::vector<int32_t>{0, 3, 1}), 3, DType::kF32);
    ExpectError(g, {"one_hot", "id 3 at position 1 is out of range [0, 3)", "step_3/one_hot"});
  }
}

TEST(NnOpsTest, SoftmaxCrossEntropyTargetOutOfRangeIsAnError) {
  for (int32_t bad : {-1, 4}) {
    Graph g;
    auto s = g.Scope("step_3");
    SoftmaxCrossEntropy(g.Input({3, 4}, DistinctValues<float>(12)),
                        g.Input({3}, std::vector<int32_t>{0, 1, bad}));
    ExpectError(g, {"softmax_xent",
                    fmt::format("target {} at position 2 is out of range [0, 4)", bad), "[3,4]",
                    "[3]", "step_3/softmax_xent"});
  }
}

TEST(NnOpsTest, SoftmaxCrossEntropyRejectsEmptyAndMistypedInputs) {
  {
    Graph g;
    auto s = g.Scope("step_3");
    SoftmaxCrossEntropy(g.Input({0, 4}, std::vector<float>{}),
                        g.Input({0}, std::vector<int32_t>{}));
    ExpectError(g, {"softmax_xent", "empty", "[0,4]", "step_3/softmax_xent"});
  }
  {
    Graph g;
    SoftmaxCrossEntropy(g.Input({2, 4}, DistinctValues<double>(8)),
                        g.Input({2}, DistinctValues<double>(2)));
    ExpectError(g, {"softmax_xent", "targets must be i32", "[2,4] f64", "[2] f64"});
  }
  {
    Graph g;
    SoftmaxCrossEntropy(g.Input({2, 4}, DistinctValues<float>(8)),
                        g.Input({3}, std::vector<int32_t>{0, 0, 0}));
    ExpectError(g, {"softmax_xent", "[2,4]", "[3]"});
  }
}

TEST(NnOpsTest, AnOpOnAFailedOneKeepsTheFirstError) {
  Graph g;
  Expr bad =
      Embedding(g.Input({5, 2}, DistinctValues<float>(10)), g.Input({1}, std::vector<int32_t>{6}));
  const absl::Status first = g.status();
  ASSERT_FALSE(first.ok());
  Expr loss = SoftmaxCrossEntropy(StopGradient(bad), g.Input({1}, std::vector<int32_t>{7}));
  EXPECT_EQ(g.status(), first);
  EXPECT_EQ(loss.value().status(), first);
}

// Dropout over more elements than one thread handles is split over the pool: each element's
// draw depends only on its index, so the mask and values equal one thread's, and the kept
// fraction is 1 - p.
TEST(DropoutOpTest, ThreadsDrawTheSameMask) {
  const int64_t n = 300001;  // several ranges and a ragged end
  const std::vector<float> x(n, 1.0f);
  std::vector<std::vector<float>> got;
  std::vector<int64_t> pool_calls;
  for (int threads : {1, 2}) {
    Graph g({.exec = {.num_threads = threads}});
    const int64_t calls = ThreadPool::Shared().calls();
    absl::StatusOr<std::vector<float>> y = Dropout(g.Input({n}, x), 0.25, 77).ToVector<float>();
    ASSERT_TRUE(y.ok()) << y.status();
    got.push_back(*y);
    pool_calls.push_back(ThreadPool::Shared().calls() - calls);
  }
  EXPECT_EQ(pool_calls, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(got[0], got[1]);
  int64_t kept = 0;
  for (float v : got[1]) kept += v != 0;
  EXPECT_NEAR(static_cast<double>(kept) / n, 0.75, 0.005);
  EXPECT_FLOAT_EQ(*std::max_element(got[1].begin(), got[1].end()), 1.0f / 0.75f);
}

}  // namespace
}  // namespace tg
