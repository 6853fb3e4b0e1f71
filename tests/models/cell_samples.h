// Finite-difference checks of every cell and recurrent wrapper, through 4 BPTT steps in
// float64, for examples/grad_check (the models tests check the same and more).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "autodiff/grad_check.h"

namespace tg::testing {

struct CellCheck {
  std::string cell;     // "lstm", "gru", "stacked_lstm", ...
  std::string variant;  // what the check covers
  // CheckGradients over the cell's parameters and over its inputs (x and the initial state).
  std::function<absl::Status(GradCheckReport* report)> run;
};

const std::vector<CellCheck>& CellChecks();

}  // namespace tg::testing
