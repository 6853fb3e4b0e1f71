// Forward values, views, accumulation and errors of the shape ops (ops/shape_ops.cc).
// Gradients are covered by the registry-driven finite-difference test.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "fmt/format.h"
#include "graph/graph.h"
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

// Where e's value starts, in bytes past where base's value starts.
int64_t ByteOffset(Expr e, Expr base) {
  return static_cast<const std::byte*>(e.value()->raw()) -
         static_cast<const std::byte*>(base.value()->raw());
}

template <class T>
void CheckReshapeAndTranspose() {
  for (int64_t r : kSizes) {
    for (int64_t c : kSizes) {
      Graph g;
      const std::vector<T> v = DistinctValues<T>(r * c);
      Expr x = g.Input({r, c}, v);
      Expr y = Reshape(x, {c, 1, r});
      EXPECT_EQ(y.shape(), (Shape{c, 1, r}));
      EXPECT_EQ(Read<T>(y), v);
      EXPECT_EQ(ByteOffset(y, x), 0);  // a view
      std::vector<T> want(r * c);
      for (int64_t i = 0; i < r; ++i) {
        for (int64_t j = 0; j < c; ++j) want[j * r + i] = v[i * c + j];
      }
      Expr t = Transpose(x);
      EXPECT_EQ(t.shape(), (Shape{c, r}));
      EXPECT_EQ(Read<T>(t), want) << r << "x" << c;
    }
  }
}

TEST(ShapeOpsTest, ReshapeIsAViewAndTransposeMatchesReference) {
  CheckReshapeAndTranspose<float>();
  CheckReshapeAndTranspose<double>();
  Graph g;  // several 32x32 blocks, ragged at both edges
  const std::vector<double> v = DistinctValues<double>(70 * 45);
  std::vector<double> t = Read<double>(Transpose(g.Input({70, 45}, v)));
  for (int64_t i = 0; i < 70; ++i) {
    for (int64_t j = 0; j < 45; ++j) ASSERT_EQ(t[j * 70 + i], v[i * 45 + j]);
  }
  std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(Read<int32_t>(Transpose(g.Input({2, 3}, ids))),
            (std::vector<int32_t>{1, 4, 2, 5, 3, 6}));
  EXPECT_TRUE(g.status().ok()) << g.status();
}

// x [outer, dim, inner] sliced [b, e) along the middle axis.
template <class T>
std::vector<T> SliceRef(const std::vector<T>& x, int64_t outer, int64_t dim, int64_t inner,
                        int64_t b, int64_t e) {
  std::vector<T> out;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t a = b; a < e; ++a) {
      for (int64_t i = 0; i < inner; ++i) out.push_back(x[(o * dim + a) * inner + i]);
    }
  }
  return out;
}

template <class T>
void CheckSlices() {
  for (int64_t n : kSizes) {
    Graph g;
    const std::vector<T> v = DistinctValues<T>(2 * n * 3);
    Expr x = g.Input({2, n, 3}, v);
    for (auto [b, e] : {std::pair<int64_t, int64_t>{0, n}, {n / 2, n}, {0, (n + 1) / 2}}) {
      // Leading axis: a view at b * (n * 3) elements.
      Expr s0 = Slice(x, 0, b % 2, 2);
      EXPECT_EQ(Read<T>(s0), SliceRef(v, 1, 2, n * 3, b % 2, 2));
      EXPECT_EQ(ByteOffset(s0, x), static_cast<int64_t>((b % 2) * n * 3 * sizeof(T)));
      // Middle axis with two leading rows: a strided copy.
      Expr s1 = Slice(x, 1, b, e);
      EXPECT_EQ(s1.shape(), (Shape{2, e - b, 3}));
      EXPECT_EQ(Read<T>(s1), SliceRef(v, 2, n, 3, b, e)) << n << " " << b << ":" << e;
      // Last axis, negative.
      Expr s2 = Slice(x, -1, 1, 3);
      EXPECT_EQ(Read<T>(s2), SliceRef(v, 2 * n, 3, 1, 1, 3));
    }
    // A middle axis with nothing before it is contiguous: a view again.
    Expr y = Slice(x, 0, 1, 2);  // [1, n, 3]
    Expr z = Slice(y, 1, n / 2, n);
    EXPECT_EQ(ByteOffset(z, x), static_cast<int64_t>((n * 3 + n / 2 * 3) * sizeof(T)));
    const std::vector<T> second(v.begin() + n * 3, v.end());
    EXPECT_EQ(Read<T>(z), SliceRef(second, 1, n, 3, n / 2, n));
    EXPECT_TRUE(g.status().ok()) << g.status();
  }
}

TEST(ShapeOpsTest, SlicesAreViewsWhenContiguousAndCopiesOtherwise) {
  CheckSlices<float>();
  CheckSlices<double>();
}

template <class T>
void CheckSliceGrad() {
  for (int64_t n : kSizes) {
    Graph g;
    const std::vector<T> dy = DistinctValues<T>(3 * 2);
    Expr out = SliceGrad(g.Input({3, 2}, dy), {3, n + 2}, 1, n);
    std::vector<T> want(3 * (n + 2), T(0));
    for (int64_t r = 0; r < 3; ++r) {
      for (int64_t c = 0; c < 2; ++c) want[r * (n + 2) + n + c] = dy[r * 2 + c];
    }
    EXPECT_EQ(Read<T>(out), want);
    Expr lead = SliceGrad(g.Input({1, 2}, DistinctValues<T>(2)), {n, 2}, -2, n - 1);
    std::vector<T> want_lead(n * 2, T(0));
    want_lead[(n - 1) * 2] = DistinctValues<T>(2)[0];
    want_lead[(n - 1) * 2 + 1] = DistinctValues<T>(2)[1];
    EXPECT_EQ(Read<T>(lead), want_lead);
  }
}

TEST(ShapeOpsTest, SliceGradPlacesDyAmongZeros) {
  CheckSliceGrad<float>();
  CheckSliceGrad<double>();
}

template <class T>
void CheckSplits() {
  for (int64_t n : kSizes) {
    Graph g;
    // [T,B,I] into T steps of [1,B,I]: views of one buffer.
    const std::vector<T> v = DistinctValues<T>(n * 2 * 3);
    Expr x = g.Input({n, 2, 3}, v);
    std::vector<Expr> steps = Split(x, static_cast<int>(n), 0);
    ASSERT_EQ(static_cast<int64_t>(steps.size()), n);
    for (int64_t t = 0; t < n; ++t) {
      EXPECT_EQ(steps[t].shape(), (Shape{1, 2, 3}));
      EXPECT_EQ(ByteOffset(steps[t], x), static_cast<int64_t>(t * 6 * sizeof(T)));
      EXPECT_EQ(Read<T>(steps[t]), std::vector<T>(v.begin() + t * 6, v.begin() + t * 6 + 6));
    }
    // [B,4H] into the four gate blocks [B,H].
    const int64_t b = 3, h = n;
    const std::vector<T> z = DistinctValues<T>(b * 4 * h, 1);
    auto gates = Split<4>(g.Input({b, 4 * h}, z), 1);
    for (int k = 0; k < 4; ++k) {
      std::vector<T> want;
      for (int64_t r = 0; r < b; ++r) {
        for (int64_t c = 0; c < h; ++c) want.push_back(z[r * 4 * h + k * h + c]);
      }
      EXPECT_EQ(gates[k].shape(), (Shape{b, h}));
      EXPECT_EQ(Read<T>(gates[k]), want) << "gate " << k;
    }
    // Uneven sizes along the last axis, then joined back.
    const std::vector<int64_t> sizes = {1, 0, n, 2};
    std::vector<T> w = DistinctValues<T>(2 * (n + 3), 2);
    Expr y = g.Input({2, n + 3}, w);
    std::vector<Expr> pieces = Split(y, sizes, -1);
    ASSERT_EQ(pieces.size(), 4u);
    EXPECT_EQ(pieces[2].shape(), (Shape{2, n}));
    EXPECT_EQ(Read<T>(pieces[2]), SliceRef(w, 2, n + 3, 1, 1, n + 1));
    EXPECT_EQ(Read<T>(Concat(pieces, 1)), w);
    EXPECT_TRUE(g.status().ok()) << g.status();
  }
}

TEST(ShapeOpsTest, SplitGivesStepViewsAndGateBlocks) {
  CheckSplits<float>();
  CheckSplits<double>();
}

template <class T>
void CheckConcat() {
  for (int64_t n : kSizes) {
    Graph g;
    const std::vector<T> a = DistinctValues<T>(n * 2, 0), b = DistinctValues<T>(3 * 2, 1),
                         c = DistinctValues<T>(n * 3, 2);
    Expr xa = g.Input({n, 2}, a), xb = g.Input({3, 2}, b), xc = g.Input({n, 3}, c);
    std::vector<T> rows = a;
    rows.insert(rows.end(), b.begin(), b.end());
    rows.insert(rows.end(), a.begin(), a.end());
    Expr y0 = Concat({xa, xb, xa}, 0);
    EXPECT_EQ(y0.shape(), (Shape{2 * n + 3, 2}));
    EXPECT_EQ(Read<T>(y0), rows);
    std::vector<T> cols;
    for (int64_t r = 0; r < n; ++r) {
      cols.insert(cols.end(), a.begin() + r * 2, a.begin() + r * 2 + 2);
      cols.insert(cols.end(), c.begin() + r * 3, c.begin() + r * 3 + 3);
    }
    Expr y1 = Concat({xa, xc}, -1);
    EXPECT_EQ(y1.shape(), (Shape{n, 5}));
    EXPECT_EQ(Read<T>(y1), cols);
    EXPECT_EQ(Read<T>(Concat({xa}, 1)), a);
    EXPECT_TRUE(g.status().ok()) << g.status();
  }
}

TEST(ShapeOpsTest, ConcatJoinsAlongEitherAxis) {
  CheckConcat<float>();
  CheckConcat<double>();
  Graph g;
  std::vector<int32_t> a = {1, 2}, b = {3};
  EXPECT_EQ(Read<int32_t>(Concat({g.Input({2}, a), g.Input({1}, b)}, 0)),
            (std::vector<int32_t>{1, 2, 3}));
}

template <class T>
void CheckAccumulate() {
  std::vector<T> x = DistinctValues<T>(12), pre = DistinctValues<T>(12, 5);
  const Tensor in(x.data(), DTypeOf<T>(), {3, 4});
  Attrs reshape;
  reshape.shape = {12};
  EXPECT_EQ(AddedByKernel("reshape", {in}, {12}, reshape, pre), x);
  EXPECT_EQ(
      AddedByKernel("transpose", {in}, {4, 3}, {}, pre),
      (std::vector<T>{x[0], x[4], x[8], x[1], x[5], x[9], x[2], x[6], x[10], x[3], x[7], x[11]}));
  Attrs slice;
  slice.ints = {1, 1, 3};
  EXPECT_EQ(AddedByKernel("slice", {in}, {3, 2}, slice, pre), SliceRef(x, 3, 4, 1, 1, 3));
  Attrs concat;
  concat.ints = {0};
  std::vector<T> twice = x;
  twice.insert(twice.end(), x.begin(), x.end());
  pre = DistinctValues<T>(24, 5);
  EXPECT_EQ(AddedByKernel("concat", {in, in}, {6, 4}, concat, pre), twice);
  // slice_grad: accumulating adds into the range only; overwriting zeroes the rest (on
  // both sides of the range, columns 1..4 of 6).
  Attrs grad;
  grad.ints = {1, 1};
  grad.shape = {3, 6};
  std::vector<T> out(pre.begin(), pre.begin() + 18);
  ASSERT_TRUE(RunKernel(Op("slice_grad"), {in}, Tensor(out.data(), DTypeOf<T>(), {3, 6}), grad,
                        true)
                  .ok());
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t c = 0; c < 6; ++c) {
      const T added = c >= 1 && c < 5 ? x[r * 4 + c - 1] : T(0);
      EXPECT_EQ(out[r * 6 + c], pre[r * 6 + c] + added);
    }
  }
  ASSERT_TRUE(RunKernel(Op("slice_grad"), {in}, Tensor(out.data(), DTypeOf<T>(), {3, 6}), grad,
                        false)
                  .ok());
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t c = 0; c < 6; ++c) {
      EXPECT_EQ(out[r * 6 + c], c >= 1 && c < 5 ? x[r * 4 + c - 1] : T(0));
    }
  }
}

TEST(ShapeOpsTest, KernelsAccumulateIntoTheirOutput) {
  CheckAccumulate<float>();
  CheckAccumulate<double>();
}

template <class T>
void CheckUnaligned() {
  for (int64_t n : kSizes) {
    // Directly: an input starting one element into a buffer.
    std::vector<T> buf = DistinctValues<T>(n * 3 + 1);
    const std::vector<T> x(buf.begin() + 1, buf.end());
    const Tensor in(buf.data() + 1, DTypeOf<T>(), {n, 3});
    std::vector<T> out(n * 2);
    Attrs slice;
    slice.ints = {1, 1, 3};
    ASSERT_TRUE(RunKernel(Op("slice"), {in}, Tensor(out.data() + 0, DTypeOf<T>(), {n, 2}), slice,
                          false)
                    .ok());
    EXPECT_EQ(out, SliceRef(x, n, 3, 1, 1, 3));
    // Through the graph: row 1 onwards of [n+1,3] is a view 3 elements in.
    Graph g;
    Expr whole = g.Input({n + 1, 3}, DistinctValues<T>((n + 1) * 3));
    Expr view = Slice(whole, 0, 1, n + 1);
    const std::vector<T> v = Read<T>(view);
    EXPECT_EQ(Read<T>(Slice(view, 1, 0, 2)), SliceRef(v, n, 3, 1, 0, 2));
    std::vector<T> t = Read<T>(Transpose(view));
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(t[j * n + i], v[i * 3 + j]);
    }
    std::vector<T> joined = v;
    joined.insert(joined.end(), v.begin(), v.end());
    EXPECT_EQ(Read<T>(Concat({view, view}, 0)), joined);
  }
}

TEST(ShapeOpsTest, KernelsTakeUnalignedInputs) {
  CheckUnaligned<float>();
  CheckUnaligned<double>();
}

// ---- errors ----

TEST(ShapeOpsTest, ReshapeElementCountMismatchIsAnError) {
  Graph g;
  auto s = g.Scope("step_3");
  Reshape(g.Input({2, 3}, DistinctValues<float>(6)), {4, 2});
  ExpectError(g, {"reshape", "[2,3]", "[4,2]", "step_3/reshape"});
}

TEST(ShapeOpsTest, TransposeOfThreeDimensionsIsAnError) {
  Graph g;
  auto s = g.Scope("step_3");
  Transpose(g.Input({2, 3, 1}, DistinctValues<float>(6)));
  ExpectError(g, {"transpose", "[2,3,1]", "step_3/transpose"});
}

TEST(ShapeOpsTest, SliceOutOfRangeIsAnError) {
  for (auto [axis, b, e] : {std::tuple{1, 2, 5}, {1, 3, 2}, {0, -1, 1}, {2, 0, 1}}) {
    Graph g;
    auto s = g.Scope("step_3");
    Slice(g.Input({3, 4}, DistinctValues<double>(12)), axis, b, e);
    ExpectError(g, {"slice", "[3,4]", "step_3/slice"});
    if (axis < 2) {
      ExpectError(g, {fmt::format("[{}, {})", b, e), fmt::format("axis {}", axis)});
    }
  }
}

TEST(ShapeOpsTest, ConcatMismatchIsAnError) {
  {
    Graph g;
    auto s = g.Scope("step_3");
    Concat({g.Input({2, 3}, DistinctValues<float>(6)), g.Input({2, 4}, DistinctValues<float>(8))},
           0);
    ExpectError(g, {"concat", "[2,3]", "[2,4]", "step_3/concat"});
  }
  {
    Graph g;
    Concat({g.Input({2, 3}, DistinctValues<float>(6)), g.Input({2, 3}, DistinctValues<double>(6))},
           0);
    ExpectError(g, {"concat", "f32", "f64"});
  }
}

TEST(ShapeOpsTest, BadSplitIsAnErrorAndPoisonsEveryPiece) {
  {
    Graph g;
    auto s = g.Scope("step_3");
    Expr x = g.Input({3, 4}, DistinctValues<float>(12));
    auto pieces = Split<3>(x, 1);
    ExpectError(g, {"3 parts", "[3,4]", "step_3/split"});
    EXPECT_TRUE(absl::StartsWith(g.status().message(), "split: ")) << g.status();
    for (Expr p : pieces) EXPECT_EQ(p.value().status(), g.status());
  }
  {
    Graph g;
    const int64_t sizes[] = {1, 2};
    std::vector<Expr> pieces = Split(g.Input({3, 4}, DistinctValues<float>(12)), sizes, 1);
    ExpectError(g, {"split: ", "[1,2]", "[3,4]"});
    EXPECT_EQ(pieces.size(), 2u);
  }
}

TEST(ShapeOpsTest, AnOpOnAFailedOneKeepsTheFirstError) {
  Graph g;
  Expr bad = Slice(g.Input({3, 4}, DistinctValues<float>(12)), 0, 2, 9);
  const absl::Status first = g.status();
  ASSERT_FALSE(first.ok());
  Expr next = Concat({Transpose(Reshape(bad, {99})), bad}, 0);
  std::vector<Expr> pieces = Split(next, 2, 0);
  EXPECT_EQ(g.status(), first);
  EXPECT_EQ(next.value().status(), first);
  for (Expr p : pieces) EXPECT_EQ(p.value().status(), first);
}

}  // namespace
}  // namespace tg
