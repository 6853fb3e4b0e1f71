// Every cell and recurrent wrapper of the gradient checks, compiled: the replayed program
// gives eager mode's loss and parameter gradients for new inputs (float64, 1e-12), and the
// per-step work of each was batched over time -- the compiler knows no cell, so a user's
// cell (the peephole and layer-normalised LSTMs here) gets the same treatment.
#include <cmath>
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "gtest/gtest.h"
#include "tests/models/cell_samples.h"
#include "tests/test_values.h"

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

}  // namespace
}  // namespace tg::testing
