// No abort when a compiled program is fed the wrong thing: feed count, shape, dtype, missing
// data, ids out of range at run time, and RunReplicas with replicas that do not match.
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "graph/compile/replicas.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "tests/input_validation/expect_error.h"

namespace tg {
namespace {

using absl::StatusCode;
using testing::ExpectError;

// loss = sum(embedding(table, ids) @ w): one float feed-free parameter path and an id feed.
struct Program {
  Program(ParameterStore& store, bool private_gradients)
      : graph(GraphOptions{.mode = ExecMode::kRecord}) {
    Parameter table = *store.GetOrAdd("table", {5, 3}, Init::Uniform(-1, 1));
    Parameter w = *store.GetOrAdd("w", {3, 2}, Init::Uniform(-1, 1));
    x = graph.Input({2, 3}, std::vector<float>(6, 0.5f));
    ids = graph.Input({2}, std::vector<int32_t>{0, 1});
    Expr h = Embedding(graph.Param(table), ids) + x;
    loss = Sum(MatMul(h, graph.Param(w)));
    EXPECT_TRUE(Backward(loss).ok()) << graph.status();
    absl::StatusOr<CompiledGraph> c =
        Compile(graph, {.feeds = {x, ids}, .outputs = {loss},
                        .private_gradients = private_gradients});
    EXPECT_TRUE(c.ok()) << c.status();
    compiled = std::make_unique<CompiledGraph>(*std::move(c));
  }
  Graph graph;
  Expr x, ids, loss;
  std::unique_ptr<CompiledGraph> compiled;
};

struct Feeds {
  std::vector<float> x = std::vector<float>(6, 1.f);
  std::vector<double> x64 = std::vector<double>(6, 1.0);
  std::vector<int32_t> ids = {4, 2};
  Tensor X() { return Tensor(x.data(), DType::kF32, {2, 3}); }
  Tensor Ids() { return Tensor(ids.data(), DType::kI32, {2}); }
};

TEST(CompiledValidationTest, FeedCountShapeDTypeAndDataAreChecked) {
  ParameterStore store({.seed = 1});
  Program p(store, false);
  CompiledGraph& c = *p.compiled;
  Feeds f;
  ExpectError(c.Run({f.X()}), StatusCode::kInvalidArgument,
              {"CompiledGraph::Run: 1 feeds given, compiled with 2", "[2,3] f32, [2] i32"});
  ExpectError(c.Run({Tensor(f.x.data(), DType::kF32, {3, 2}), f.Ids()}),
              StatusCode::kInvalidArgument,
              {"feed 0 is [3,2] f32, compiled for [2,3] f32", "(node #0 \"input\")"});
  ExpectError(c.Run({Tensor(f.x64.data(), DType::kF64, {2, 3}), f.Ids()}),
              StatusCode::kInvalidArgument, {"feed 0 is [2,3] f64, compiled for [2,3] f32"});
  ExpectError(c.Run({f.X(), Tensor(f.x.data(), DType::kF32, {2})}), StatusCode::kInvalidArgument,
              {"feed 1 is [2] f32, compiled for [2] i32", "(node #1 \"input\")"});
  ExpectError(c.Run({Tensor(nullptr, DType::kF32, {2, 3}), f.Ids()}),
              StatusCode::kInvalidArgument, {"feed 0 ([2,3] f32) has no data"});
  ExpectError(c.Run({Tensor(f.x.data(), DType::kF32, {1, 1, 1, 1, 1, 1, 1, 2, 3}), f.Ids()}),
              StatusCode::kInvalidArgument, {"feed 0 is [1,1,1,1,1,1,1,2,+1 more] f32"});
  // Nothing was half-run: the right feeds still give the eager answer's shape.
  ASSERT_TRUE(c.Run({f.X(), f.Ids()}).ok());
  EXPECT_EQ(c.num_outputs(), 1);
  EXPECT_EQ(c.num_feeds(), 2);
  EXPECT_TRUE(std::isfinite(c.output(0).data<float>()[0]));
}

TEST(CompiledValidationTest, IdsOutOfRangeAtRunTimeNameTheOpAndNode) {
  ParameterStore store({.seed = 1});
  Program p(store, false);
  Feeds f;
  f.ids = {1, 5};
  ExpectError(p.compiled->Run({f.X(), f.Ids()}), StatusCode::kInvalidArgument,
              {"embedding:", "id 5 at position 1 is out of range [0, 5)", "compiled, node #"});
}

class ReplicaValidationTest : public ::testing::Test {
 protected:
  ReplicaValidationTest() : store_({.seed = 2}), a_(store_, true), b_(store_, true) {}
  ParameterStore store_;
  Program a_, b_;
  Feeds f_;
};

TEST_F(ReplicaValidationTest, CountsNullsAndDuplicatesAreRefused) {
  std::vector<std::vector<Tensor>> feeds = {{f_.X(), f_.Ids()}, {f_.X(), f_.Ids()}};
  std::vector<CompiledGraph*> both = {a_.compiled.get(), b_.compiled.get()};
  ExpectError(RunReplicas(both, {feeds[0]}, {0.5, 0.5}, 2), StatusCode::kInvalidArgument,
              {"RunReplicas: 2 replicas, 1 feed lists and 2 weights"});
  ExpectError(RunReplicas(both, feeds, {1.0}, 2), StatusCode::kInvalidArgument,
              {"2 replicas, 2 feed lists and 1 weights"});
  std::vector<CompiledGraph*> with_null = {a_.compiled.get(), nullptr};
  ExpectError(RunReplicas(with_null, feeds, {0.5, 0.5}, 2), StatusCode::kInvalidArgument,
              {"RunReplicas: replica 1 is null"});
  std::vector<CompiledGraph*> twice = {a_.compiled.get(), a_.compiled.get()};
  ExpectError(RunReplicas(twice, feeds, {0.5, 0.5}, 2), StatusCode::kInvalidArgument,
              {"replicas 0 and 1 are the same CompiledGraph"});
  ExpectError(RunReplicas(both, feeds, {0.5, std::nan("")}, 2), StatusCode::kInvalidArgument,
              {"weight 1 is nan"});
  ASSERT_TRUE(RunReplicas(both, feeds, {0.5, 0.5}, 2).ok());
}

TEST_F(ReplicaValidationTest, AMismatchedFeedIsNamedBeforeAnyReplicaRuns) {
  std::vector<CompiledGraph*> both = {a_.compiled.get(), b_.compiled.get()};
  std::vector<std::vector<Tensor>> feeds = {{f_.X(), f_.Ids()}, {f_.X(), f_.Ids()}};
  ASSERT_TRUE(RunReplicas(both, feeds, {0.5, 0.5}, 2).ok());
  auto snapshot = [](const CompiledGraph& c) {
    std::vector<float> out;
    for (const PrivateGradient& g : c.private_gradients()) {
      for (float v : g.grad.span<float>()) out.push_back(v);
    }
    return out;
  };
  const std::vector<float> before = snapshot(*a_.compiled);
  const std::vector<float> store_before = {store_.parameters()[0].grad().span<float>().begin(),
                                           store_.parameters()[0].grad().span<float>().end()};

  // Replica 0's feeds are valid (and other ids, so running would change its gradients);
  // replica 1's second feed has the wrong shape.
  std::vector<int32_t> other_ids = {0, 3};
  feeds = {{f_.X(), Tensor(other_ids.data(), DType::kI32, {2})},
           {f_.X(), Tensor(f_.ids.data(), DType::kI32, {1})}};
  ExpectError(RunReplicas(both, feeds, {0.5, 0.5}, 2), StatusCode::kInvalidArgument,
              {"RunReplicas: replica 1: CompiledGraph::Run: feed 1 is [1] i32, compiled for [2] i32"});
  EXPECT_EQ(snapshot(*a_.compiled), before);  // replica 0 did not run
  const std::vector<float> store_after = {store_.parameters()[0].grad().span<float>().begin(),
                                          store_.parameters()[0].grad().span<float>().end()};
  EXPECT_EQ(store_after, store_before);  // nothing was summed into the store
}

TEST_F(ReplicaValidationTest, AReplicaWithoutPrivateGradientsIsRefused) {
  Program shared(store_, false);
  std::vector<CompiledGraph*> mixed = {a_.compiled.get(), shared.compiled.get()};
  std::vector<std::vector<Tensor>> feeds = {{f_.X(), f_.Ids()}, {f_.X(), f_.Ids()}};
  ExpectError(RunReplicas(mixed, feeds, {0.5, 0.5}, 2), StatusCode::kInvalidArgument,
              {"replica 1 has no private gradients", "CompileSpec::private_gradients"});
}

}  // namespace
}  // namespace tg
