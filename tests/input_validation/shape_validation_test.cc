// No abort on bad shapes, dtypes or sizes: a shape literal of rank 9, negative dimensions,
// element counts that overflow int64 and tensors over the byte limit each come back as a
// Status naming the op (or parameter) and the shape.
#include <cstdint>
#include <vector>

#include "graph/graph.h"
#include "graph/parameter.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "tests/input_validation/expect_error.h"

namespace tg {
namespace {

using absl::StatusCode;
using testing::ExpectError;
using testing::ScopedMaxTensorBytes;

const Shape kRank9 = {1, 1, 1, 1, 1, 1, 1, 1, 1};

TEST(ShapeValidationTest, RankNineLiteralIsRecordedNotAborted) {
  EXPECT_EQ(kRank9.rank(), Shape::kMaxRank);
  EXPECT_EQ(kRank9.requested_rank(), 9);
  EXPECT_EQ(kRank9.ToString(), "[1,1,1,1,1,1,1,1,+1 more]");
  EXPECT_FALSE(kRank9 == (Shape{1, 1, 1, 1, 1, 1, 1, 1}));
  ExpectError(kRank9.Validate(), StatusCode::kInvalidArgument,
              {"rank 9", "above the maximum rank 8"});
}

TEST(ShapeValidationTest, RankNineAtInputFillReshapeAndParameter) {
  Graph g;
  Expr x = g.Input(kRank9, std::vector<float>{1});
  ExpectError(g.status(), StatusCode::kInvalidArgument,
              {"input:", "rank 9", "above the maximum rank 8", "(node #0 \"input\")"});
  EXPECT_FALSE(x.value().ok());

  Graph g2;
  g2.Fill(kRank9, 1.0);
  ExpectError(g2.status(), StatusCode::kInvalidArgument, {"constant:", "rank 9"});

  Graph g3;
  Expr y = g3.Input({1}, std::vector<float>{1});
  Expr r = Reshape(y, kRank9);
  ExpectError(g3.status(), StatusCode::kInvalidArgument,
              {"reshape:", "shape attribute", "rank 9", "(node #1 \"reshape\")"});
  EXPECT_FALSE(r.value().ok());

  ParameterStore store;
  ExpectError(store.Add("w", kRank9).status(), StatusCode::kInvalidArgument,
              {"parameter 'w'", "rank 9"});
}

// A user's op whose shape rule appends a dimension without checking the rank.
absl::StatusOr<TensorType> AppendFourInfer(absl::Span<const TensorType> in, const Attrs&) {
  Shape out = in[0].shape;
  out.push_back(4);
  return TensorType{in[0].dtype, out};
}
absl::Status NoKernel(const KernelContext&) { return absl::OkStatus(); }
const OpDef kAppendFour = {.name = "append_four", .arity = 1, .infer = AppendFourInfer,
                           .forward = NoKernel, .differentiable = false};

TEST(ShapeValidationTest, AnOpWhoseOutputWouldHaveRankNineFails) {
  // The graph checks every inferred type, whatever the op's own rule missed.
  Graph g;
  g.AddNode(kAppendFour, {g.Input({1, 1, 1, 1, 1, 1, 1, 1}, std::vector<float>{3})});
  ExpectError(g.status(), StatusCode::kInvalidArgument,
              {"append_four: output: shape [1,1,1,1,1,1,1,1,+1 more] has rank 9",
               "inputs [1,1,1,1,1,1,1,1] f32", "(node #1 \"append_four\")"});
  // A built-in op whose output would have rank 9 names it itself.
  Graph g2;
  Expr table = g2.Input({5, 2}, std::vector<float>(10, 1.f));
  Expr ids = g2.Input({1, 1, 1, 1, 1, 1, 1, 1}, std::vector<int32_t>{3});
  Embedding(table, ids);
  ExpectError(g2.status(), StatusCode::kInvalidArgument,
              {"embedding:", "have rank 8", "rank at most 8", "node #2"});
}

TEST(ShapeValidationTest, NegativeDimensionsAreRefusedAtInputFillAndParam) {
  Graph g;
  g.Input({-2, 3}, std::vector<float>(6));
  ExpectError(g.status(), StatusCode::kInvalidArgument,
              {"input:", "[-2,3]", "negative dimension (-2 at axis 0)"});

  Graph g2;
  g2.Fill({4, -1}, 0.0, DType::kF64);
  ExpectError(g2.status(), StatusCode::kInvalidArgument,
              {"constant:", "[4,-1]", "negative dimension (-1 at axis 1)"});

  Graph g3;
  std::vector<float> none;
  g3.Input(Tensor(none.data(), DType::kF32, {-1}));
  ExpectError(g3.status(), StatusCode::kInvalidArgument, {"input:", "[-1]", "negative"});

  ParameterStore store;
  ExpectError(store.Add("w", {-1, 4}).status(), StatusCode::kInvalidArgument,
              {"parameter 'w'", "[-1,4]"});
  ExpectError(store.Add("v", {3, 0}).status(), StatusCode::kInvalidArgument,
              {"parameter 'v'", "[3,0]"});
}

TEST(ShapeValidationTest, ElementCountOverflowingInt64IsResourceExhausted) {
  const Shape huge = {int64_t{1} << 40, int64_t{1} << 40};  // 2^80 elements
  EXPECT_FALSE(huge.CheckedNumElements().has_value());
  // Empty, but its leading axes alone overflow (a strided loop's outer extent): refused too.
  EXPECT_FALSE((Shape{int64_t{1} << 40, int64_t{1} << 40, 0}).CheckedNumElements().has_value());
  EXPECT_EQ((Shape{int64_t{1} << 20, int64_t{1} << 20, 0}).CheckedNumElements(), 0);
  Graph g;
  g.Fill(huge, 0.0);
  ExpectError(g.status(), StatusCode::kResourceExhausted,
              {"constant:", "[1099511627776,1099511627776]", "product overflows int64"});

  ParameterStore store;
  ExpectError(store.Add("w", huge).status(), StatusCode::kResourceExhausted,
              {"parameter 'w'", "[1099511627776,1099511627776]"});
}

TEST(ShapeValidationTest, TensorsOverTheByteLimitAreResourceExhausted) {
  EXPECT_EQ(MaxTensorBytes(), size_t{16} << 30);  // the documented default
  ScopedMaxTensorBytes limit(4096);
  Graph g;
  Expr fits = g.Fill({32, 32}, 1.0);  // 4096 bytes: at the limit
  ASSERT_TRUE(g.status().ok()) << g.status();
  g.Fill({33, 32}, 1.0);
  ExpectError(g.status(), StatusCode::kResourceExhausted,
              {"constant:", "[33,32] f32", "4224 bytes", "limit of 4096", "SetMaxTensorBytes"});

  // An op's output is checked before its kernel allocates it.
  Graph g2;
  Expr col = g2.Input({64, 1}, std::vector<float>(64, 1.f));
  Expr row = g2.Input({1, 64}, std::vector<float>(64, 1.f));
  Expr outer = MatMul(col, row);  // [64,64] f32: 16384 bytes
  ExpectError(g2.status(), StatusCode::kResourceExhausted,
              {"matmul:", "output:", "[64,64] f32", "limit of 4096", "(node #2 \"matmul\")"});
  EXPECT_FALSE(outer.value().ok());

  ParameterStore store;
  ExpectError(store.Add("embedding", {1000, 64}).status(), StatusCode::kResourceExhausted,
              {"parameter 'embedding'", "[1000,64] f32", "limit of 4096"});
  EXPECT_EQ(store.num_parameters(), 0);
  EXPECT_EQ(fits.Scalar().value_or(0), 1.0);
}

TEST(ShapeValidationTest, MemoryTheSystemRefusesIsResourceExhausted) {
  ScopedMaxTensorBytes no_limit(0);
  // 2^62 bytes: more than any address space, whatever the overcommit policy.
  EXPECT_EQ(TryAllocateAligned(size_t{1} << 62).status().code(), StatusCode::kResourceExhausted);
  Arena arena;
  EXPECT_EQ(arena.Allocate(size_t{1} << 62), nullptr);
  EXPECT_NE(arena.Allocate(64), nullptr);  // the arena still works
  Graph g;
  g.Fill({int64_t{1} << 40, int64_t{1} << 20}, 0.0);
  ExpectError(g.status(), StatusCode::kResourceExhausted,
              {"constant:", "out of memory allocating", "[1099511627776,1048576] f32"});
}

TEST(ShapeValidationTest, UnknownDTypeIsRefused) {
  Graph g;
  g.Fill({2}, 1.0, static_cast<DType>(7));
  ExpectError(g.status(), StatusCode::kInvalidArgument, {"constant:", "unknown dtype 7"});
  ParameterStore store;
  EXPECT_EQ(store.Add("w", {2}, Init::Zeros(), static_cast<DType>(7)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ShapeValidationTest, FillOfI32NeedsAWholeNumberInRange) {
  Graph g;
  g.Fill({2}, 0.5, DType::kI32);
  ExpectError(g.status(), StatusCode::kInvalidArgument,
              {"constant:", "fill value 0.5", "i32"});
  Graph g2;
  g2.Fill({2}, 3e10, DType::kI32);
  ExpectError(g2.status(), StatusCode::kInvalidArgument, {"constant:", "fill value 30000000000"});
  Graph g3;
  Expr ok = g3.Fill({2}, -7, DType::kI32);
  EXPECT_EQ(*ok.ToVector<int32_t>(), (std::vector<int32_t>{-7, -7}));
}

TEST(ShapeValidationTest, ATensorWithoutDataIsRefusedAsInput) {
  Graph g;
  g.Input(Tensor(nullptr, DType::kF32, {3}));
  ExpectError(g.status(), StatusCode::kInvalidArgument, {"input:", "[3] f32", "has no data"});
  Graph g2;
  g2.Constant(Tensor(nullptr, DType::kF64, {2, 2}));
  ExpectError(g2.status(), StatusCode::kInvalidArgument, {"constant:", "[2,2] f64", "no data"});
}

TEST(ShapeValidationTest, TensorCopyAndTypedAccessReportMismatches) {
  std::vector<float> a(6), b(4);
  std::vector<double> c(6);
  Tensor ta(a.data(), DType::kF32, {2, 3}), tb(b.data(), DType::kF32, {4});
  Tensor tc(c.data(), DType::kF64, {2, 3});
  ExpectError(ta.CopyFrom(tb), StatusCode::kInvalidArgument,
              {"CopyFrom", "[4] f32", "[2,3] f32"});
  ExpectError(ta.CopyFrom(tc), StatusCode::kInvalidArgument, {"[2,3] f64", "[2,3] f32"});
  ExpectError(ta.CheckedSpan<double>().status(), StatusCode::kInvalidArgument,
              {"[2,3]", "holds f32, not f64"});
  ASSERT_TRUE(ta.CheckedSpan<float>().ok());
  EXPECT_EQ(ta.CheckedSpan<float>()->size(), 6u);
}

}  // namespace
}  // namespace tg
