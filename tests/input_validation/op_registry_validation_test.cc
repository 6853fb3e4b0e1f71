// No abort on a malformed or doubly registered op: RegisterOp refuses it naming the op and the
// field, and Graph::AddNode refuses a def it cannot call instead of calling a null function.
#include <vector>

#include "graph/graph.h"
#include "graph/op_registry.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "ops/registry.h"
#include "tests/input_validation/expect_error.h"

namespace tg {
namespace {

using absl::StatusCode;
using testing::ExpectError;

// A user's op: a copy of the built-in tanh under another name.
OpDef TanhLike(std::string_view name) {
  for (const OpDef* op : BuiltinOps()) {
    if (op->name == "tanh") {
      OpDef d = *op;
      d.name = name;
      return d;
    }
  }
  ADD_FAILURE() << "no built-in tanh";
  return {};
}

TEST(OpRegistryValidationTest, AnotherDefUnderARegisteredNameIsAlreadyExists) {
  static const OpDef first = TanhLike("rel_twice");
  static const OpDef second = TanhLike("rel_twice");
  ASSERT_TRUE(RegisterOp(first).ok());
  EXPECT_TRUE(RegisterOp(first).ok());  // the same def again is a no-op
  ExpectError(RegisterOp(second), StatusCode::kAlreadyExists,
              {"an op named 'rel_twice' is already registered"});
  EXPECT_EQ(*FindOp("rel_twice"), &first);
}

TEST(OpRegistryValidationTest, MalformedDefsAreRefusedNamingTheField) {
  OpDef arity = TanhLike("rel_arity");
  arity.arity = -2;
  ExpectError(RegisterOp(arity), StatusCode::kInvalidArgument, {"'rel_arity'", "arity -2"});

  OpDef no_infer = TanhLike("rel_no_infer");
  no_infer.infer = nullptr;
  ExpectError(RegisterOp(no_infer), StatusCode::kInvalidArgument,
              {"'rel_no_infer'", "needs an infer function"});

  OpDef no_kernel = TanhLike("rel_no_kernel");
  no_kernel.forward = nullptr;
  ExpectError(RegisterOp(no_kernel), StatusCode::kInvalidArgument,
              {"'rel_no_kernel'", "forward kernel"});

  OpDef leaf = TanhLike("rel_leaf");
  leaf.is_leaf = true;
  ExpectError(RegisterOp(leaf), StatusCode::kInvalidArgument, {"'rel_leaf' is a leaf"});

  OpDef slash = TanhLike("rel/slash");
  ExpectError(RegisterOp(slash), StatusCode::kInvalidArgument, {"'rel/slash'", "'/'"});
  ExpectError(RegisterOp(TanhLike("")), StatusCode::kInvalidArgument, {"op has no name"});

  OpDef bits = TanhLike("rel_bits");
  bits.no_grad_inputs = 0b10;  // input 1 of a one-input op
  ExpectError(RegisterOp(bits), StatusCode::kInvalidArgument,
              {"'rel_bits'", "no_grad_inputs", "arity 1"});

  OpDef seed = TanhLike("rel_seed");
  seed.seed_attr = -3;
  ExpectError(RegisterOp(seed), StatusCode::kInvalidArgument, {"'rel_seed'", "seed_attr -3"});

  OpDef tiles = TanhLike("rel_tiles");
  tiles.pointwise.f32 = nullptr;
  ExpectError(RegisterOp(tiles), StatusCode::kInvalidArgument,
              {"'rel_tiles'", "f64 pointwise tile but no f32"});

  for (const char* name : {"rel_arity", "rel_no_infer", "rel_no_kernel", "rel_leaf",
                           "rel/slash", "rel_bits", "rel_seed", "rel_tiles"}) {
    EXPECT_EQ(FindOp(name).status().code(), StatusCode::kNotFound) << name;
  }
}

TEST(OpRegistryValidationTest, AddNodeRefusesADefItCannotCall) {
  Graph g;
  Expr x = g.Input({2}, std::vector<float>{1, 2});
  OpDef no_infer = TanhLike("rel_unregistered");
  no_infer.infer = nullptr;
  Expr y = g.AddNode(no_infer, {x});
  ExpectError(g.status(), StatusCode::kInvalidArgument,
              {"rel_unregistered: the op has no infer function", "(node #1 \"rel_unregistered\")"});
  EXPECT_FALSE(y.value().ok());

  Graph g2;
  Expr x2 = g2.Input({2}, std::vector<float>{1, 2});
  OpDef arity = TanhLike("rel_arity_node");
  arity.arity = -5;
  g2.AddNode(arity, {x2});
  ExpectError(g2.status(), StatusCode::kInvalidArgument, {"rel_arity_node:", "arity is -5"});

  Graph g3;
  Expr x3 = g3.Input({2}, std::vector<float>{1, 2});
  OpDef no_kernel = TanhLike("rel_no_kernel_node");
  no_kernel.forward = nullptr;
  g3.AddNode(no_kernel, {x3});
  ExpectError(g3.status(), StatusCode::kInvalidArgument,
              {"rel_no_kernel_node:", "neither a forward kernel nor a view"});
}

}  // namespace
}  // namespace tg
