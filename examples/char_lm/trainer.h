// char_lm's training loop: updates (compiled or eager) on the text's streams under the time
// and update budgets, with validation scores, the learning curve, periodic checkpoints,
// Ctrl-C, and after training the final checkpoint, score, plot and sample.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/random.h"
#include "examples/char_lm/batches.h"
#include "examples/char_lm/char_checkpoint.h"
#include "examples/char_lm/compiled_update.h"
#include "examples/char_lm/distributed.h"
#include "examples/char_lm/model.h"
#include "examples/char_lm/run_info.h"
#include "examples/char_lm/run_setup.h"
#include "examples/common/csv_writer.h"
#include "examples/common/progress.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/optimizer.h"
#include "models/unroll.h"
#include "models/weight_average.h"

namespace tg::examples {

// Trains one model on `data` as the flags say, from scratch or from a checkpoint's state;
// on N ranks (distributed.h) this rank's share of each batch's streams.
class Trainer {
 public:
  // `optimizer` is `average` when weights are averaged (it wraps the Adam), else the Adam.
  // `resumed`: what the checkpoint this run continues carried (default: a new run), the
  // same on every rank. `ranks`: this process's place among the ranks (one in a plain run).
  Trainer(const Data& data, CharModel model, ParameterStore& store, Optimizer& optimizer,
          WeightAverage* average, RunInfo info, TrainingState resumed, Ranks& ranks);

  // Trains until --minutes, --max_updates, --stop_after_updates or Ctrl-C, then finishes.
  absl::Status Run();

 private:
  absl::Status Update();
  absl::Status UpdateEagerly();
  absl::Status UpdateCompiled();
  absl::Status FinishUpdate();  // clip, step, zero the gradients
  absl::StatusOr<double> Validate();
  absl::Status Checkpoint(const std::string& why);
  // After training: the final checkpoint and score, the plot, the sample, --expect_bpc_below.
  absl::Status Finish();
  // Prints `valid_bpc` with the update's training loss and adds them to the learning curve.
  absl::Status Record(double valid_bpc);
  // The seed of this rank's dropout masks (each rank its own).
  uint64_t DropoutSeed() const;

  const Data& data_;
  CharModel model_;
  ParameterStore& store_;
  Optimizer& optimizer_;
  WeightAverage* average_;  // null: validation and samples use the raw weights
  RunInfo info_;
  TrainingState resumed_;
  Ranks& ranks_;
  StreamBatcher batcher_;
  Graph graph_;
  std::vector<HostState> carried_;  // eager: the state carried into the next chunk
  Rng dropout_rng_;
  bool compile_;
  std::optional<CompiledUpdate> compiled_;
  std::vector<int32_t> inputs_, targets_;
  std::string curve_path_;
  std::optional<CsvWriter> curve_;  // the learning curve: update, time, training and validation bits/char
  std::optional<Progress> progress_;
  int64_t updates_ = 0;
  int64_t first_update_ = 0;  // the update this run started at
  bool interrupted_ = false;  // Ctrl-C (on N ranks: on any rank, agreed after every update)
  double last_loss_;
  // This run's training time, excluding validation and checkpoints, as of the last gradient
  // reduction (on N ranks the ranks' mean, the same everywhere); `unclocked_`: this rank's
  // training time since then, up to `running_since_`, the start of what runs now.
  using Clock = std::chrono::steady_clock;
  static double SecondsSince(Clock::time_point start);
  double train_seconds_ = 0;
  double unclocked_ = 0;
  Clock::time_point running_since_;
  double earlier_seconds_ = 0;  // training time of the runs this one resumed
};

}  // namespace tg::examples
