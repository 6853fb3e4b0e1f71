// Every cell and recurrent wrapper of the gradient checks, compiled: the replayed program
// gives eager mode's loss and parameter gradients for new inputs (float64, 1e-12; float32,
// every cell and an LSTM at a size where stacking reorders the sums, 1e-5), and the
// per-step work of each was batched over time -- the compiler knows no cell, so a user's
// cell (the peephole and layer-normalised LSTMs here) gets the same treatment.
#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "gtest/gtest.h"
#include "models/stack.h"
#include "models/unroll.h"
#include "ops/ops.h"
#include "testing/cell_samples.h"
#include "testing/test_values.h"

namespace tg::testing {
namespace {

const Shape kXShape{kSteps, kBatch, kInput};
const Shape kHShape{kBatch, kHidden};

class CompiledCellsTest : public ::testing::TestWithParam<size_t> {};

TEST_P(CompiledCellsTest, ReplayMatchesEagerAndBatchesOverTime) {
  const CellCheck& check = CellChecks()[GetParam()];
  SCOPED_TRACE(check.cell + " " + check.variant);
  ParameterStore store({.seed = 21});

  Graph recorded({.mode = ExecMode::kRecord});
  Expr x = recorded.Input(kXShape, UniformValues(kXShape.num_elements(), 1));
  Expr h0 = recorded.Input(kHShape, UniformValues(kHShape.num_elements(), 2));
  Expr loss = WeightedSum(recorded, check.model(recorded, store, x, h0));
  ASSERT_TRUE(Backward(loss).ok()) << recorded.status();
  absl::StatusOr<CompiledGraph> program =
      Compile(recorded, {.feeds = {x, h0}, .outputs = {loss}});
  ASSERT_TRUE(program.ok()) << program.status();
  EXPECT_GE(program->num_stacked_nodes(), kSteps) << program->Listing();

  for (uint64_t seed : {5, 6}) {
    std::vector<double> xv = UniformValues(kXShape.num_elements(), seed);
    std::vector<double> hv = UniformValues(kHShape.num_elements(), seed + 10);
    store.ZeroGrad();
    Graph eager;
    Expr eager_loss = WeightedSum(
        eager, check.model(eager, store, eager.Input(kXShape, xv), eager.Input(kHShape, hv)));
    ASSERT_TRUE(Backward(eager_loss).ok());
    const double want_loss = *eager_loss.Scalar();
    const std::vector<double> want = AllGradients(store);

    store.ZeroGrad();
    ASSERT_TRUE(program
                    ->Run({Tensor(xv.data(), DType::kF64, kXShape),
                           Tensor(hv.data(), DType::kF64, kHShape)})
                    .ok());
    EXPECT_NEAR(program->output(0).data<double>()[0], want_loss, 1e-12 * std::abs(want_loss));
    const std::vector<double> got = AllGradients(store);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-12 * (1 + std::abs(want[i]))) << "gradient element " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCells, CompiledCellsTest,
                         ::testing::Range<size_t>(0, CellChecks().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           const CellCheck& c = CellChecks()[info.param];
                           std::string name = c.cell + "_" + c.variant;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

// The same in float32, every cell: the replay gives eager mode's loss and parameter
// gradients within 1e-5 of each tensor's largest entry (stacking and fusion may sum in another
// order than eager mode does).
class CompiledCellsF32Test : public ::testing::TestWithParam<size_t> {};

std::vector<float> F32(const std::vector<double>& v) { return {v.begin(), v.end()}; }

std::vector<std::vector<float>> F32Gradients(ParameterStore& store) {
  std::vector<std::vector<float>> out;
  for (const Parameter& p : store.parameters()) {
    std::span<const float> g = p.grad().span<float>();
    out.emplace_back(g.begin(), g.end());
  }
  return out;
}

TEST_P(CompiledCellsF32Test, ReplayMatchesEagerWithinFloat32Rounding) {
  const CellCheck& check = CellChecks()[GetParam()];
  SCOPED_TRACE(check.cell + " " + check.variant);
  ParameterStore store({.seed = 21});
  Graph recorded({.mode = ExecMode::kRecord});
  Expr x = recorded.Input(kXShape, std::vector<float>(kXShape.num_elements(), 0.0f));
  Expr h0 = recorded.Input(kHShape, std::vector<float>(kHShape.num_elements(), 0.0f));
  Expr loss = WeightedSum(recorded, check.model(recorded, store, x, h0));
  ASSERT_EQ(loss.dtype(), DType::kF32);
  ASSERT_TRUE(Backward(loss).ok()) << recorded.status();
  absl::StatusOr<CompiledGraph> program = Compile(recorded, {.feeds = {x, h0}, .outputs = {loss}});
  ASSERT_TRUE(program.ok()) << program.status();

  std::vector<float> xv = F32(UniformValues(kXShape.num_elements(), 5));
  std::vector<float> hv = F32(UniformValues(kHShape.num_elements(), 15));
  store.ZeroGrad();
  ASSERT_TRUE(program
                  ->Run({Tensor(xv.data(), DType::kF32, kXShape),
                         Tensor(hv.data(), DType::kF32, kHShape)})
                  .ok());
  const float got_loss = program->output(0).data<float>()[0];
  const std::vector<std::vector<float>> got = F32Gradients(store);

  store.ZeroGrad();
  Graph eager;
  Expr eager_loss = WeightedSum(
      eager, check.model(eager, store, eager.Input(kXShape, xv), eager.Input(kHShape, hv)));
  ASSERT_TRUE(Backward(eager_loss).ok()) << eager.status();
  const double want_loss = *eager_loss.Scalar();
  EXPECT_NEAR(got_loss, want_loss, 1e-5 * std::abs(want_loss));
  const std::vector<std::vector<float>> want = F32Gradients(store);
  ASSERT_EQ(got.size(), want.size());
  for (size_t p = 0; p < want.size(); ++p) {
    float scale = 0;
    for (float v : want[p]) scale = std::max(scale, std::abs(v));
    for (size_t i = 0; i < want[p].size(); ++i) {
      EXPECT_NEAR(got[p][i], want[p][i], 1e-5 * scale)
          << store.parameters()[p].name() << " element " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCells, CompiledCellsF32Test,
                         ::testing::Range<size_t>(0, CellChecks().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           const CellCheck& c = CellChecks()[info.param];
                           std::string name = c.cell + "_" + c.variant;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

// Float32 at a size where stacking changes how the GEMMs sum (the weight gradient of 50
// steps in one product of depth 400): DESIGN's bound for float32 is 1e-5 relative.
TEST(CompiledFloat32Test, LstmMatchesEagerWithinFloat32Rounding) {
  constexpr int64_t kT = 50, kB = 8, kI = 16, kH = 32;
  ParameterStore store({.seed = 4});
  absl::StatusOr<AnyCell> cell = MakeCell(
      store, {.kind = CellKind::kLstm,
              .recurrent = {.input_size = kI, .hidden_size = kH, .prefix = "lstm"}});
  ASSERT_TRUE(cell.ok());
  const Shape x_shape{kT, kB, kI};
  auto loss_of = [&](Graph& g, Expr x) {
    std::vector<Expr> hs = Unroll(g, *cell, SplitSteps(x), cell->ZeroState(g, kB)).outputs;
    return Mean(Square(StackSteps(hs)));
  };
  std::vector<float> xv(x_shape.num_elements());
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(std::sin(0.1 * i));

  Graph recorded({.mode = ExecMode::kRecord});
  Expr x = recorded.Input(x_shape, std::vector<float>(xv.size(), 0.0f));
  Expr loss = loss_of(recorded, x);
  ASSERT_TRUE(Backward(loss).ok());
  absl::StatusOr<CompiledGraph> program = Compile(recorded, {.feeds = {x}, .outputs = {loss}});
  ASSERT_TRUE(program.ok()) << program.status();
  ASSERT_TRUE(program->Run({Tensor(xv.data(), DType::kF32, x_shape)}).ok());
  const float got_loss = program->output(0).data<float>()[0];
  std::vector<std::vector<float>> got;
  for (const Parameter& p : store.parameters()) {
    std::span<float> g = p.grad().span<float>();
    got.emplace_back(g.begin(), g.end());
  }

  store.ZeroGrad();
  Graph eager;
  Expr eager_loss = loss_of(eager, eager.Input(x_shape, xv));
  ASSERT_TRUE(Backward(eager_loss).ok());
  EXPECT_NEAR(got_loss, *eager_loss.Scalar(), 1e-5 * std::abs(*eager_loss.Scalar()));
  size_t k = 0;
  for (const Parameter& p : store.parameters()) {
    std::span<float> want = p.grad().span<float>();
    float scale = 0;  // relative to the largest entry: small entries are sums that cancel
    for (float v : want) scale = std::max(scale, std::abs(v));
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got[k][i], want[i], 1e-5 * scale) << p.name() << " element " << i;
    }
    ++k;
  }
}

}  // namespace
}  // namespace tg::testing
