#include "testing/cell_samples.h"

#include "gtest/gtest.h"

namespace tg::testing {
namespace {

// The same checks examples/grad_check prints, so a cell regression fails the test run too.
TEST(CellSamplesTest, EveryCellPassesFiniteDifferencesThroughFourSteps) {
  EXPECT_GE(CellChecks().size(), 9u);
  for (const CellCheck& check : CellChecks()) {
    GradCheckReport report;
    absl::Status s = check.run(&report);
    EXPECT_TRUE(s.ok()) << check.cell << " (" << check.variant << "): " << s;
    EXPECT_GT(report.num_checked, 10) << check.cell;
  }
}

}  // namespace
}  // namespace tg::testing
