#include "graph/graph.h"

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "absl/strings/str_format.h"
#include "autodiff/backward.h"
#include "fmt/format.h"
#include "base/status_macros.h"
#include "gtest/gtest.h"
#include "ops/ops.h"

namespace tg {
namespace {

TEST(ShapeTest, PrintsAsBracketedListThroughFmtAndAbsl) {
  Shape s = {32, 128};
  EXPECT_EQ(fmt::format("{}", s), "[32,128]");
  EXPECT_EQ(absl::StrFormat("%s", s), "[32,128]");
  EXPECT_EQ(fmt::format("{}", Shape{}), "[]");
  EXPECT_EQ(Shape{}.num_elements(), 1);
  EXPECT_EQ(fmt::format("{}", DType::kI32), "i32");
}

// NumPy and PyTorch shapes usually arrive as std::vector<int64_t> or std::vector<int>.
Shape PassThrough(Shape s) { return s; }

TEST(ShapeTest, VectorsOfInt64AndIntConvertImplicitly) {
  static_assert(std::is_convertible_v<std::vector<int64_t>, Shape>);
  static_assert(std::is_convertible_v<std::vector<int>, Shape>);
  std::vector<int64_t> wide = {2, 3};
  std::vector<int> narrow = {3, 2};
  Shape from_wide = wide;  // copy-initialisation: implicit
  Shape from_narrow = narrow;
  EXPECT_EQ(from_wide, (Shape{2, 3}));
  EXPECT_EQ(from_narrow, (Shape{3, 2}));
  EXPECT_EQ(PassThrough(wide), (Shape{2, 3}));
  EXPECT_EQ(PassThrough(narrow), (Shape{3, 2}));
  EXPECT_EQ(PassThrough(std::vector<int>{}), Shape{});

  Graph g;
  Expr x = g.Input(wide, std::vector<float>{1, 2, 3, 4, 5, 6});
  Expr y = Reshape(x, narrow);
  Expr z = g.Fill(std::vector<int>{3, 2}, 1.0);
  ASSERT_TRUE(g.status().ok()) << g.status();
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(*(y + z).ToVector<float>(), (std::vector<float>{2, 3, 4, 5, 6, 7}));
}

// no_grad_inputs has 32 bits; asking about input 32 or later (concat of many) shifted by
// 32 or more, undefined behaviour (UBSan caught it in the sanitizer suite).
TEST(OpDefTest, InputsBeyondTheMaskAreDifferentiable) {
  const OpDef op = {.name = "many", .arity = -1, .vjp = [](VjpContext&) {},
                    .no_grad_inputs = ~0u};
  for (volatile int input : {32, 33, 40, 100}) EXPECT_TRUE(op.Differentiable(input)) << input;
  for (int input : {0, 5, 31}) EXPECT_FALSE(op.Differentiable(input)) << input;
  const OpDef none = {.name = "none", .arity = -1, .vjp = nullptr};
  EXPECT_FALSE(none.Differentiable(40));
}

TEST(ArenaTest, AlignsAndReusesItsMemoryAfterReset) {
  Arena arena(1024);
  for (size_t bytes : {1, 3, 64, 100, 5000}) {
    void* p = arena.Allocate(bytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  }
  EXPECT_GT(arena.num_chunks(), 1);
  size_t capacity = arena.capacity_bytes();
  arena.Reset();
  EXPECT_EQ(arena.num_chunks(), 1);  // folded into one chunk of the total size
  EXPECT_EQ(arena.capacity_bytes(), capacity);
  for (size_t bytes : {1, 3, 64, 100, 5000}) arena.Allocate(bytes);
  EXPECT_EQ(arena.num_chunks(), 1);
  EXPECT_EQ(arena.capacity_bytes(), capacity);
}

TEST(ArenaTest, RecycledBlocksComeBackForTheSameSizeOnly) {
  Arena arena(1024);
  Arena::Block& a = arena.AllocateBlock(100);  // rounded to 128
  std::byte* data = a.data;
  EXPECT_EQ(a.bytes, 128u);
  EXPECT_EQ(arena.FindBlock(data + 127), &a);  // found by any address inside it
  EXPECT_EQ(arena.FindBlock(arena.Allocate(128)), nullptr);  // plain memory is no block
  arena.Recycle(*arena.FindBlock(data));
  EXPECT_NE(arena.AllocateBlock(256).data, data);  // another size class
  size_t used = arena.used_bytes();
  EXPECT_EQ(arena.AllocateBlock(128).data, data);  // 100 and 128 share a class
  EXPECT_EQ(arena.used_bytes(), used);             // reuse does not bump
  arena.Recycle(*arena.FindBlock(data));
  arena.Reset();  // forgets the free list: its memory is rewound with the rest
  EXPECT_EQ(arena.FindBlock(data), nullptr);
  arena.AllocateBlock(128);
  EXPECT_EQ(arena.used_bytes(), 128u);
}

TEST(GraphTest, ReadsValuesBackAsTypedVectors) {
  Graph g;
  std::vector<float> v = {1, 2, 3};
  Expr x = g.Input({3}, v);
  EXPECT_EQ(*x.ToVector<float>(), v);
  EXPECT_EQ(x.ToVector<double>().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fmt::format("{}", x), "[3]");
}

TEST(GraphTest, AnExprUsedAfterClearIsAnErrorNotAnAlias) {
  Graph g;
  std::vector<float> v = {1, 2, 3};
  Expr old = g.Input({3}, v);
  g.Clear();
  Expr fresh = g.Input({3}, v);
  EXPECT_EQ(old.value().status().code(), absl::StatusCode::kFailedPrecondition);
  Expr bad = Add(old, fresh);
  EXPECT_FALSE(g.status().ok());
  EXPECT_NE(g.status().message().find("Graph::Clear()"), std::string::npos) << g.status();
  EXPECT_FALSE(bad.value().ok());
}

TEST(GraphTest, ShapeErrorsNameTheOpTheShapesAndTheScopePath) {
  Graph g;
  std::vector<float> a(32 * 8), b(16 * 128);
  Expr x = g.Input({32, 8}, a), w = g.Input({16, 128}, b);
  Expr y;
  {
    auto step = g.Scope("step_3");
    auto cell = g.Scope("lstm");
    y = MatMul(x, w);
  }
  std::string msg(g.status().message());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(msg.find("matmul"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[32,8]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[16,128]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("step_3/lstm/matmul"), std::string::npos) << msg;
  // Later nodes are poisoned and the first error stays.
  Expr z = Tanh(y);
  EXPECT_FALSE(z.value().ok());
  EXPECT_EQ(std::string(g.status().message()), msg);
  EXPECT_EQ(g.NodePath(x.id()), "input");
}

TEST(GraphTest, Int64IdsAreAcceptedAndStoredAsI32) {
  Graph g;
  std::vector<int64_t> ids = {4, 0, 2, -1};  // as NumPy/PyTorch hand them over
  Expr x = g.Input({2, 2}, ids);
  ASSERT_TRUE(g.status().ok()) << g.status();
  EXPECT_EQ(x.dtype(), DType::kI32);
  EXPECT_EQ(x.shape(), (Shape{2, 2}));
  EXPECT_EQ(*x.ToVector<int32_t>(), (std::vector<int32_t>{4, 0, 2, -1}));
  // And they index like i32 ids.
  Expr table = g.Input({5, 1}, std::vector<float>{10, 11, 12, 13, 14});
  Expr rows = Embedding(table, g.Input({3}, std::vector<int64_t>{4, 0, 2}));
  EXPECT_EQ(*rows.ToVector<float>(), (std::vector<float>{14, 10, 12}));
}

TEST(GraphTest, InputWithTheWrongNumberOfValuesIsAnError) {
  Graph g;
  std::vector<float> v(5);
  Expr x = g.Input({2, 3}, v);
  EXPECT_FALSE(x.value().ok());
  EXPECT_NE(g.status().message().find("5 values given for shape [2,3]"), std::string::npos)
      << g.status();
}

TEST(GraphTest, InferenceModeRecordsNoGradientAndClearKeepsMemory) {
  ParameterStore store;
  Parameter w = *store.Add("w", {4, 4}, Init::Constant(0.1));
  Graph g({.mode = ExecMode::kInference});
  std::vector<float> x(4, 1.0f);
  size_t capacity = 0;
  for (int chunk = 0; chunk < 5; ++chunk) {
    g.Clear();
    Expr h = g.Input({1, 4}, x);
    for (int t = 0; t < 20; ++t) h = Tanh(MatMul(h, g.Param(w)));
    EXPECT_FALSE(g.node(h.id()).requires_grad);
    ASSERT_TRUE(h.value().ok());
    if (chunk == 1) capacity = g.arena().capacity_bytes();
    if (chunk > 1) {
      EXPECT_EQ(g.arena().capacity_bytes(), capacity);  // constant memory
    }
  }
}

TEST(GraphTest, TheSameParameterGivesTheSameNodeAndAliasesItsValue) {
  ParameterStore store;
  Parameter w = *store.Add("w", {2, 2}, Init::Constant(1.5));
  Graph g;
  Expr a = g.Param(w), b = g.Param(w);
  EXPECT_EQ(a.id(), b.id());
  EXPECT_EQ(a.value()->raw(), w.value().raw());
  EXPECT_TRUE(g.node(a.id()).requires_grad);
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}
absl::StatusOr<int> Quarter(int x) {
  TG_ASSIGN_OR_RETURN(int h, Half(x));
  TG_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}
absl::Status CheckEven(int x) {
  TG_RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

// Checkpoint marks are node ids, ascending and unique, until Clear; a foreign Expr is an error
// on the graph. Backward records where the forward work ends.
TEST(GraphTest, CheckpointMarksAndTheBackwardStartAreRecordedUntilClear) {
  ParameterStore store({.seed = 1});
  Parameter w = *store.Add("w", {2}, Init::Uniform(-1, 1), DType::kF64);
  Graph g, other;
  std::vector<double> v = {1, 2};
  Expr x = g.Param(w);
  Expr a = Tanh(x), b = Exp(a);
  g.MarkCheckpoint(b);
  g.MarkCheckpoint(a);
  g.MarkCheckpoint(b);
  EXPECT_EQ(g.checkpoints(), (std::vector<NodeId>{a.id(), b.id()}));
  EXPECT_EQ(g.checkpoint_ends(), (std::vector<NodeId>{a.id(), b.id()}));
  Expr c = Tanh(b), d = Exp(c);
  g.MarkCheckpoint({d, c});  // made together: one checkpoint, ending at the later
  EXPECT_EQ(g.checkpoints(), (std::vector<NodeId>{a.id(), b.id(), c.id(), d.id()}));
  EXPECT_EQ(g.checkpoint_ends(), (std::vector<NodeId>{a.id(), b.id(), d.id()}));
  EXPECT_EQ(g.backward_start(), g.num_nodes());  // no Backward yet
  const NodeId before = g.num_nodes();
  ASSERT_TRUE(Backward(Sum(d)).ok());
  EXPECT_EQ(g.backward_start(), before + 1);  // the sum is forward work
  EXPECT_GT(g.num_nodes(), g.backward_start());
  g.MarkCheckpoint(other.Input({2}, v));
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("Graph::MarkCheckpoint"), std::string::npos) << g.status();
  g.Clear();
  EXPECT_TRUE(g.checkpoints().empty());
  EXPECT_TRUE(g.checkpoint_ends().empty());
  EXPECT_EQ(g.backward_start(), 0);
}

TEST(StatusMacrosTest, PropagateErrorsAndUnwrapValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_FALSE(CheckEven(3).ok());
}

}  // namespace
}  // namespace tg
