// Data parallelism inside one process: replicas of one compiled update on slices of the
// batch, their private gradients summed by share, give the whole batch's gradients.
#include "graph/compile/replicas.h"

#include <cmath>
#include <vector>

#include "autodiff/backward.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "testing/test_values.h"

namespace tg {
namespace {

constexpr int64_t kSteps = 5, kBatch = 4, kIn = 3, kHidden = 6;

// A tanh RNN from ops whose loss is a mean over the batch rows:
// sum_t mean_b (h_t v - y_t)^2, with xs [T, B*I] and ys [T, B] time-major.
struct Model {
  explicit Model(ParameterStore& store) {
    w = *store.Add("w", {kIn, kHidden}, Init::Uniform(-0.5, 0.5), DType::kF64);
    u = *store.Add("u", {kHidden, kHidden}, Init::Uniform(-0.5, 0.5), DType::kF64);
    v = *store.Add("v", {kHidden, 1}, Init::Uniform(-0.5, 0.5), DType::kF64);
  }
  Expr Loss(Graph& g, Expr xs, Expr ys, int64_t batch) const {
    Expr h = g.Fill({batch, kHidden}, 0.0, DType::kF64), loss;
    for (int64_t t = 0; t < kSteps; ++t) {
      Expr x = Reshape(Slice(xs, 0, t, t + 1), {batch, kIn});
      Expr y = Reshape(Slice(ys, 0, t, t + 1), {batch, 1});
      h = Tanh(MatMul(x, g.Param(w)) + MatMul(h, g.Param(u)));
      Expr term = Mean(Square(MatMul(h, g.Param(v)) - y));
      loss = t == 0 ? term : loss + term;
    }
    return loss;
  }
  Parameter w, u, v;
};

// The batch columns [begin, end) of a time-major [T, B * width] array.
std::vector<double> Columns(const std::vector<double>& all, int64_t width, int64_t begin,
                            int64_t end) {
  std::vector<double> out;
  for (int64_t t = 0; t < kSteps; ++t) {
    const auto row = all.begin() + t * kBatch * width;
    out.insert(out.end(), row + begin * width, row + end * width);
  }
  return out;
}

struct Replica {
  Replica(const Model& model, int64_t batch, bool private_gradients)
      : graph(GraphOptions{.mode = ExecMode::kRecord}), batch(batch) {
    Expr xs = graph.Input({kSteps, batch * kIn}, std::vector<double>(kSteps * batch * kIn));
    Expr ys = graph.Input({kSteps, batch}, std::vector<double>(kSteps * batch));
    Expr loss = model.Loss(graph, xs, ys, batch);
    EXPECT_TRUE(Backward(loss).ok()) << graph.status();
    absl::StatusOr<CompiledGraph> c = Compile(
        graph, {.feeds = {xs, ys}, .outputs = {loss}, .private_gradients = private_gradients});
    EXPECT_TRUE(c.ok()) << c.status();
    program = std::move(*c);
  }
  std::vector<Tensor> Feeds(std::vector<double>& xs, std::vector<double>& ys) const {
    return {Tensor(xs.data(), DType::kF64, {kSteps, batch * kIn}),
            Tensor(ys.data(), DType::kF64, {kSteps, batch})};
  }
  Graph graph;
  int64_t batch;
  CompiledGraph program;
};

TEST(ReplicasTest, SlicesOfTheBatchSumToTheWholeBatchGradient) {
  ParameterStore store({.seed = 3});
  const Model model(store);
  std::vector<double> xs = testing::UniformValues(kSteps * kBatch * kIn, 1);
  std::vector<double> ys = testing::UniformValues(kSteps * kBatch, 2);

  Replica whole(model, kBatch, /*private_gradients=*/false);
  store.ZeroGrad();
  ASSERT_TRUE(whole.program.Run(whole.Feeds(xs, ys)).ok());
  const double want_loss = whole.program.output(0).data<double>()[0];
  const std::vector<double> want = testing::AllGradients(store);

  // Uneven slices (3 rows and 1): each weighted by its share of the mean.
  Replica first(model, 3, true), second(model, 1, true);
  std::vector<double> xs0 = Columns(xs, kIn, 0, 3), ys0 = Columns(ys, 1, 0, 3);
  std::vector<double> xs1 = Columns(xs, kIn, 3, 4), ys1 = Columns(ys, 1, 3, 4);
  store.ZeroGrad();
  std::vector<CompiledGraph*> replicas = {&first.program, &second.program};
  const std::vector<std::vector<Tensor>> feeds = {first.Feeds(xs0, ys0), second.Feeds(xs1, ys1)};
  const std::vector<double> shares = {0.75, 0.25};
  for (int run = 0; run < 2; ++run) {  // private gradients restart from zero every Run
    store.ZeroGrad();
    ASSERT_TRUE(RunReplicas(replicas, feeds, shares, /*threads=*/2).ok());
    const double loss = 0.75 * first.program.output(0).data<double>()[0] +
                        0.25 * second.program.output(0).data<double>()[0];
    EXPECT_NEAR(loss, want_loss, 1e-12);
    const std::vector<double> got = testing::AllGradients(store);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-12 * (1 + std::abs(want[i]))) << "gradient element " << i;
    }
  }
}

TEST(ReplicasTest, AReplicaAloneLeavesTheStoreAlone) {
  ParameterStore store({.seed = 4});
  const Model model(store);
  std::vector<double> xs = testing::UniformValues(kSteps * kBatch * kIn, 5);
  std::vector<double> ys = testing::UniformValues(kSteps * kBatch, 6);
  Replica replica(model, kBatch, true);
  store.ZeroGrad();
  ASSERT_TRUE(replica.program.Run(replica.Feeds(xs, ys)).ok());
  for (double g : testing::AllGradients(store)) EXPECT_EQ(g, 0.0);
  ASSERT_EQ(replica.program.private_gradients().size(), 3u);
  double norm = 0;
  for (const PrivateGradient& p : replica.program.private_gradients()) {
    for (int64_t i = 0; i < p.grad.num_elements(); ++i) norm += std::abs(p.grad.data<double>()[i]);
  }
  EXPECT_GT(norm, 0.0);
}

TEST(ReplicasTest, RefusesAReplicaWithoutPrivateGradients) {
  ParameterStore store({.seed = 5});
  const Model model(store);
  std::vector<double> xs = testing::UniformValues(kSteps * 2 * kIn, 7);
  std::vector<double> ys = testing::UniformValues(kSteps * 2, 8);
  Replica a(model, 2, true), b(model, 2, false);
  std::vector<CompiledGraph*> replicas = {&a.program, &b.program};
  const std::vector<std::vector<Tensor>> feeds = {a.Feeds(xs, ys), b.Feeds(xs, ys)};
  absl::Status s = RunReplicas(replicas, feeds, {0.5, 0.5}, 2);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("replica 1 has no private gradients"), std::string::npos) << s;
  s = RunReplicas(replicas, feeds, {1.0}, 2);
  EXPECT_NE(s.message().find("2 replicas, 2 feed lists and 1 weights"), std::string::npos) << s;
}

}  // namespace
}  // namespace tg
