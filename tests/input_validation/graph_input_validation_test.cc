// No abort on bad graph inputs: ids out of range (eager and compiled), int64 ids that do not
// fit i32, Exprs of another graph, unknown scope or node ids. Each is a Status naming the op,
// the argument and the node.
#include <cstdint>
#include <memory>
#include <vector>

#include "graph/graph.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "tests/input_validation/expect_error.h"

namespace tg {
namespace {

using absl::StatusCode;
using testing::ExpectError;

TEST(GraphInputValidationTest, EmbeddingAndOneHotIdsOutOfRangeAreErrors) {
  Graph g;
  Expr table = g.Input({5, 2}, std::vector<float>(10, 1.f));
  Expr ids = g.Input({3}, std::vector<int32_t>{0, 7, 2});
  Expr e = Embedding(table, ids);
  ExpectError(g.status(), StatusCode::kInvalidArgument,
              {"embedding:", "id 7 at position 1 is out of range [0, 5)", "(node #2 \"embedding\")"});
  EXPECT_FALSE(e.value().ok());

  Graph g2;
  Expr negative = g2.Input({2}, std::vector<int32_t>{1, -1});
  OneHot(negative, 4, DType::kF32);
  ExpectError(g2.status(), StatusCode::kInvalidArgument,
              {"one_hot:", "id -1 at position 1 is out of range [0, 4)"});
  Graph g3;
  OneHot(g3.Input({1}, std::vector<int32_t>{0}), 0, DType::kF32);
  ExpectError(g3.status(), StatusCode::kInvalidArgument, {"one_hot:", "depth 0 is < 1"});
}

TEST(GraphInputValidationTest, Int64IdsThatDoNotFitI32NameTheirPosition) {
  Graph g;
  Expr ids = g.Input({3}, std::vector<int64_t>{0, int64_t{1} << 33, 2});
  ExpectError(g.status(), StatusCode::kInvalidArgument,
              {"input:", "int64 id 8589934592 at position 1 does not fit i32", "(node #0"});
  EXPECT_EQ(ids.dtype(), DType::kI32);
  EXPECT_FALSE(ids.value().ok());
  Graph g2;
  g2.Input({2}, std::vector<int64_t>{-(int64_t{1} << 31) - 1, 0});
  ExpectError(g2.status(), StatusCode::kInvalidArgument,
              {"int64 id -2147483649 at position 0"});
  Graph g3;
  g3.Input({4}, std::vector<int64_t>{1, 2});
  ExpectError(g3.status(), StatusCode::kInvalidArgument, {"input:", "2 values given", "[4]"});
}

TEST(GraphInputValidationTest, AnExprOfAnotherGraphIsNamedWithItsArgumentAndNode) {
  Graph a, b;
  Expr t;
  {
    auto scope = a.Scope("encoder");
    t = Tanh(a.Input({2}, std::vector<float>{1, 2}));  // node #1 "encoder/tanh" of a
  }
  Expr y = b.Input({2}, std::vector<float>{3, 4});
  Expr sum = Add(y, t);  // recorded on b, the graph of the first argument
  ExpectError(b.status(), StatusCode::kInvalidArgument,
              {"add: argument 1 is node #1 \"encoder/tanh\" of another graph",
               "(node #1 \"add\")"});
  EXPECT_FALSE(sum.value().ok());
  EXPECT_TRUE(a.status().ok());

  // Of a graph that was cleared, or destroyed, since: named by id only.
  Graph c;
  Expr z = c.Input({2}, std::vector<float>{5, 6});
  a.Clear();
  Add(z, t);
  ExpectError(c.status(), StatusCode::kInvalidArgument,
              {"add: argument 1 is node #1 (its graph has been cleared since) of another graph"});
  Graph e;  // made before d, so it cannot take d's address
  Expr gone;
  {
    auto d = std::make_unique<Graph>();
    gone = d->Input({2}, std::vector<float>{7, 8});
  }
  Mul(e.Input({2}, std::vector<float>{1, 1}), gone);
  ExpectError(e.status(), StatusCode::kInvalidArgument,
              {"mul: argument 1 is node #0 (its graph is destroyed) of another graph"});
}

TEST(GraphInputValidationTest, UnknownScopeAndNodeIdsAreRecordedErrors) {
  Graph g;
  { auto s = g.EnterScope(42); }
  ExpectError(g.status(), StatusCode::kInvalidArgument, {"EnterScope", "scope 42 does not exist"});
  Graph g2;
  { auto s = g2.EnterScopeOf(99); }
  ExpectError(g2.status(), StatusCode::kInvalidArgument, {"EnterScopeOf", "node #99"});
  Graph g3;
  g3.ChildScope(-1, "x");
  ExpectError(g3.status(), StatusCode::kInvalidArgument, {"ChildScope", "scope -1"});
  EXPECT_EQ(g3.NodePath(5), "?");
  EXPECT_FALSE(g3.IsAliasLeaf(5));
  // The graph still records nodes under the root scope.
  Expr x = g3.Input({1}, std::vector<float>{2});
  EXPECT_EQ(g3.NodePath(x.id()), "input");
}

}  // namespace
}  // namespace tg
