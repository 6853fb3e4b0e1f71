// P ranks, each with 1/P of the batch, their gradients averaged by AllReduceGradients, make
// the update one process makes with the whole batch; and every rank holds bitwise the same
// parameters after every update. The one-process reference runs on each rank beside the
// distributed model, from the same seed.
#include <cmath>
#include <vector>

#include <mpi.h>

#include "autodiff/backward.h"
#include "gtest/gtest.h"
#include "graph/compile/compiled_graph.h"
#include "models/optimizers.h"
#include "ops/ops.h"
#include "tests/dist/mpi_test_env.h"
#include "testing/test_values.h"

namespace tg::testing {
namespace {

constexpr int64_t kBatch = 12;  // divisible by 1, 2, 3 and 4 ranks

// Whether every rank's bytes equal rank 0's (gathered with plain MPI, not tapegrad's hashes).
bool SameBytesOnEveryRank(const std::vector<unsigned char>& mine) {
  const int ranks = World().size();
  std::vector<unsigned char> all(mine.size() * ranks);
  MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_BYTE, all.data(),
                static_cast<int>(mine.size()), MPI_BYTE, MPI_COMM_WORLD);
  for (int r = 1; r < ranks; ++r) {
    if (!std::equal(mine.begin(), mine.end(), all.begin() + r * mine.size())) return false;
  }
  return true;
}

// This rank's rows of the batch.
std::pair<int64_t, int64_t> MyRows() {
  const int64_t per = kBatch / World().size();
  return {World().rank() * per, (World().rank() + 1) * per};
}

// Every element of each parameter of `a` within tolerance * max|tensor of b| of `b`'s, or
// (relative = true) within tolerance * |b| elementwise.
void ExpectClose(const ParameterStore& a, const ParameterStore& b, double tolerance, bool relative) {
  const std::vector<Parameter> pa = a.parameters(), pb = b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    const int64_t n = pa[i].value().num_elements();
    auto at = [&](const Parameter& p, int64_t k) {
      return p.dtype() == DType::kF64 ? p.value().data<double>()[k] : p.value().data<float>()[k];
    };
    double max = 0;
    for (int64_t k = 0; k < n; ++k) max = std::max(max, std::abs(at(pb[i], k)));
    for (int64_t k = 0; k < n; ++k) {
      const double scale = relative ? std::abs(at(pb[i], k)) : max;
      ASSERT_LE(std::abs(at(pa[i], k) - at(pb[i], k)), tolerance * scale)
          << pa[i].name() << "[" << k << "]: " << at(pa[i], k) << " vs " << at(pb[i], k);
    }
  }
}

TEST(DistributedTrainingTest, OneAdamUpdateInFloat64EqualsOneProcessWithTheWholeBatch) {
  Communicator& comm = World();
  ParameterStore dist({.seed = 7}), whole({.seed = 7});
  auto model = TinyLstm::Create(dist, DType::kF64);
  auto reference = TinyLstm::Create(whole, DType::kF64);
  ASSERT_TRUE(model.ok() && reference.ok());
  ASSERT_TRUE(BroadcastParameters(comm, dist).ok());
  Adam adam(dist, {.learning_rate = 1e-2}), adam_whole(whole, {.learning_rate = 1e-2});
  const RegressionBatch data = RegressionBatch::Random(kBatch, 11);

  const auto [begin, end] = MyRows();
  ASSERT_TRUE(model->Backprop(data, begin, end).ok());
  ASSERT_TRUE(AllReduceGradients(comm, dist).ok());
  ASSERT_TRUE(adam.Step().ok());
  ASSERT_TRUE(reference->Backprop(data, 0, kBatch).ok());
  ASSERT_TRUE(adam_whole.Step().ok());

  ExpectClose(dist, whole, 1e-12, /*relative=*/true);
  EXPECT_TRUE(SameBytesOnEveryRank(ParameterBytes(dist)));
}

// 20 updates of a float32 LSTM; the ranks' parameters bitwise equal after each.
void TrainTwentyUpdates(bool adam) {
  Communicator& comm = World();
  ParameterStore dist({.seed = 5}), whole({.seed = 5});
  auto model = TinyLstm::Create(dist, DType::kF32);
  auto reference = TinyLstm::Create(whole, DType::kF32);
  ASSERT_TRUE(model.ok() && reference.ok());
  ASSERT_TRUE(BroadcastParameters(comm, dist).ok());
  std::unique_ptr<Optimizer> opt, opt_whole;
  if (adam) {
    opt = std::make_unique<Adam>(dist, AdamOptions{.learning_rate = 1e-2});
    opt_whole = std::make_unique<Adam>(whole, AdamOptions{.learning_rate = 1e-2});
  } else {
    opt = std::make_unique<Sgd>(dist, SgdOptions{.learning_rate = 0.1});
    opt_whole = std::make_unique<Sgd>(whole, SgdOptions{.learning_rate = 0.1});
  }
  const auto [begin, end] = MyRows();
  for (int update = 0; update < 20; ++update) {
    const RegressionBatch data = RegressionBatch::Random(kBatch, 100 + update);
    ASSERT_TRUE(model->Backprop(data, begin, end).ok());
    ASSERT_TRUE(AllReduceGradients(comm, dist).ok());
    ASSERT_TRUE(opt->Step().ok());
    dist.ZeroGrad();
    ASSERT_TRUE(SameBytesOnEveryRank(ParameterBytes(dist))) << "after update " << update + 1;
    ASSERT_TRUE(reference->Backprop(data, 0, kBatch).ok());
    ASSERT_TRUE(opt_whole->Step().ok());
    whole.ZeroGrad();
  }
  ExpectClose(dist, whole, 1e-5, /*relative=*/false);
}

TEST(DistributedTrainingTest, TwentySgdUpdatesOfAnLstmInFloat32MatchOneProcess) {
  TrainTwentyUpdates(/*adam=*/false);
}

TEST(DistributedTrainingTest, TwentyAdamUpdatesOfAnLstmInFloat32MatchOneProcess) {
  TrainTwentyUpdates(/*adam=*/true);
}

// A compiled update with private gradients: AllReduceGradients reads the program's block and
// writes the mean into the store, as the store path does from the store's own gradients.
TEST(DistributedTrainingTest, PrivateGradientsOfACompiledProgramReduceLikeTheStores) {
  Communicator& comm = World();
  ParameterStore store({.seed = 9});
  auto model = TinyLstm::Create(store, DType::kF64);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(BroadcastParameters(comm, store).ok());
  const auto [begin, end] = MyRows();
  const int64_t rows = end - begin;
  // A compiled program of y = mean((x W)^2) over this rank's rows, W the head's weight.
  Parameter w = *store.Find("head.weight");
  auto record = [&](bool private_gradients) {
    Graph g({.mode = ExecMode::kRecord});
    Expr x = g.Input({rows, w.shape().dim(1)}, std::vector<double>(rows * w.shape().dim(1)));
    Expr loss = Mean(Square(MatMul(x, g.Param(w), {.transpose_b = true})));
    EXPECT_TRUE(Backward(loss).ok());
    auto c = Compile(g, {.feeds = {x}, .outputs = {loss}, .private_gradients = private_gradients});
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  };
  CompiledGraph shared = record(false), own = record(true);
  std::vector<double> xs = UniformValues(rows * w.shape().dim(1), 20 + comm.rank());
  const Tensor feed(xs.data(), DType::kF64, {rows, w.shape().dim(1)});

  store.ZeroGrad();
  ASSERT_TRUE(shared.Run({feed}).ok());
  ASSERT_TRUE(AllReduceGradients(comm, store).ok());
  const std::span<double> reduced = w.grad().span<double>();
  const std::vector<double> from_store(reduced.begin(), reduced.end());

  store.ZeroGrad();
  ASSERT_TRUE(own.Run({feed}).ok());
  ASSERT_EQ(own.private_gradients().size(), 1u);
  ASSERT_TRUE(AllReduceGradients(comm, own.private_gradients()).ok());
  const std::span<double> from_block = w.grad().span<double>();
  for (size_t i = 0; i < from_store.size(); ++i) {
    EXPECT_NEAR(from_block[i], from_store[i], 1e-13 * std::abs(from_store[i])) << i;
  }
  double norm = 0;
  for (double v : from_store) norm += v * v;
  EXPECT_GT(norm, 0);
}

}  // namespace
}  // namespace tg::testing
