// One training update of the forecaster (forward, the MSE over all horizons in linear
// units, backward), recorded once and replayed on every batch of windows (graph/compile):
// the per-step graph bookkeeping that dominates an update of this small LSTM goes.
// Gradients land in the parameter store as in eager mode.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "examples/time_series/forecaster.h"
#include "examples/time_series/windows.h"
#include "graph/compile/compiled_graph.h"
#include "graph/dot.h"

namespace tg::examples {

// One recorded training update of a Forecaster, replayed by Run.
class CompiledUpdate {
 public:
  // Records and compiles one update of `model` on batches of `batch` windows of `task`,
  // running on `threads` threads. With a non-empty `dot_path` also writes the recorded
  // update as DOT.
  static absl::StatusOr<CompiledUpdate> Create(const Forecaster& model, const WindowTask& task,
                                               int64_t batch, int threads,
                                               const std::string& dot_path,
                                               const DotOptions& dot);

  // Forward and backward on windows `ids` (as many as the recorded batch) with targets
  // `targets` [batch, horizon] in linear units; returns the loss.
  absl::StatusOr<double> Run(const WindowTask& task, absl::Span<const int64_t> ids,
                             absl::Span<const double> targets);

  // Nodes of the recorded update (forward and backward).
  int64_t recorded_nodes() const { return recorded_nodes_; }

 private:
  const Forecaster* model_ = nullptr;
  CompiledGraph program_;
  int64_t batch_ = 0, horizon_ = 0, recorded_nodes_ = 0;
  ForecastInputs inputs_;
  std::vector<float> sequence_, linear_, scale_, targets_;
};

}  // namespace tg::examples
