// time_series' command line: the flags, their up-front check, and the values the program
// runs with.
#pragma once

#include <cstdint>
#include <string>

#include "examples/time_series/training.h"
#include "models/window_norm.h"

namespace tg::examples {

struct TimeSeriesOptions {
  std::string csv, column;  // empty csv: Mackey-Glass
  int64_t length = 0;       // Mackey-Glass samples
  double test_fraction = 0, valid_fraction = 0;
  int64_t window = 0, horizon = 0;
  int64_t period = 0;  // 0: detected
  WindowNormOptions norm;
  WindowLevel second_level = WindowLevel::kLast;  // of models 2, 4, ...
  double scale_floor = 0;
  TrainOptions train;
  bool blend = true;  // the ensemble's weights (and the baselines') chosen on validation
  int seeds = 1;
  uint64_t seed = 1;
  int threads = 1;
  std::string out_dir;
  bool plot = false;
  int64_t plot_points = 0;
  bool expect_beat_persistence = false;
  double expect_nrmse = 0;
};

// Checks every flag before any work: a bad value ends the program with status 2 and one line
// naming the flag, the value and what is allowed (base/flag_checks.h).
void CheckFlags();

// The flags' values (after CheckFlags).
TimeSeriesOptions ReadOptions();

}  // namespace tg::examples
