// One training update of the char model (forward, loss, backward) as a compiled program:
// recorded once, then replayed with each chunk's characters and the state carried from the
// chunk before. Gradients land in the parameter store as in eager mode.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "examples/char_lm/model.h"
#include "graph/compile/compiled_graph.h"

namespace tg::examples {

class CompiledUpdate {
 public:
  // `dot_path` non-empty: also writes one step of the first layer and its backward as DOT.
  // `dropout_rng` seeds the recorded dropout ops; every Run draws new masks from those seeds.
  static absl::StatusOr<CompiledUpdate> Create(const CharModel& model, int64_t steps,
                                               int64_t batch, int threads,
                                               const std::string& dot_path, Rng& dropout_rng);
  // ids and targets: [steps * batch], time-major. Returns the mean cross-entropy (nats).
  absl::StatusOr<double> Run(absl::Span<const int32_t> ids, absl::Span<const int32_t> targets);
  // The next Run starts from zero state (a new pass over the text).
  void ResetState();

  const CompiledGraph& program() const { return program_; }

 private:
  CompiledGraph program_;
  int64_t steps_ = 0, batch_ = 0;
  std::vector<std::vector<float>> state_;  // h (and c) of each layer, carried between runs
  std::vector<Shape> state_shapes_;
};

}  // namespace tg::examples
