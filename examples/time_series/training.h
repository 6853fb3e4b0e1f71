// Training the forecaster: Adam on the MSE of all horizons in the task's linear units, a cosine
// learning rate over a fixed number of updates, and early stopping on the validation
// windows (the weights of the best validation score are kept). An ensemble trains one
// model per seed, several at once when threads allow (their forecasts are combined in
// blend.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/time_series/windows.h"

namespace tg::examples {

struct TrainOptions {
  int64_t hidden = 64;
  int64_t batch = 32;
  int64_t steps = 30000;     // updates per model (the cosine schedule spans them)
  int64_t eval_every = 200;  // updates between validation scores (at most one epoch)
  int64_t patience = 6000;   // updates without a new best before stopping; 0: never
  double lr = 4e-3, min_lr = 2e-5, clip = 1.0;
  bool skip = true;               // the linear skip connection
  bool level_input = true;        // the LSTM also reads the clipped standardised values
  bool start_from_linear = true;  // the skip starts at a least-squares AR of the train windows
  bool compile = true;  // record one update and replay it (graph/compile); false: eager
  std::string dot = "", dot_scope = "";  // the first update's graph (first model only)
};

// One validation score of one model.
struct CurvePoint {
  int64_t step = 0;
  double train_loss = 0;  // mean over the updates since the last point (linear units)
  double valid_nrmse = 0;  // mean over steps 1..horizon
  double learning_rate = 0;
};

struct MemberResult {
  uint64_t seed = 0;
  int64_t steps = 0;      // updates run (fewer than asked when patience stopped it)
  int64_t best_step = 0;  // the update whose weights are kept
  double best_valid_nrmse = 0;
  Forecasts valid = {};  // [num_valid, horizon], original units, with the kept weights
  Forecasts test = {};   // [num_test, horizon], likewise
  std::vector<CurvePoint> curve = {};
};

// Trains one model per seed in seeds (a list), at most `threads` at a time, each with
// threads / (models at a time) intra-op threads. Members are in the order of `seeds`.
// Progress goes to stdout. Errors: a diverging model (naming its seed and step), a graph
// error, or the run interrupted before any model finished.
absl::StatusOr<std::vector<MemberResult>> TrainEnsemble(const WindowTask& task,
                                                        const TrainOptions& options,
                                                        const std::vector<uint64_t>& seeds,
                                                        int threads);

// As above, model m training on member_tasks[m] (the same series and split, normalised
// differently); member_tasks and seeds have the same length.
absl::StatusOr<std::vector<MemberResult>> TrainEnsemble(
    const std::vector<const WindowTask*>& member_tasks, const TrainOptions& options,
    const std::vector<uint64_t>& seeds, int threads);

}  // namespace tg::examples
