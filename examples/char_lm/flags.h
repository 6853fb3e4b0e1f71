// char_lm's command-line flags: defined in flags.cc (with their help text), read by the files
// that use them, and checked all at once before any work (CheckFlags).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/declare.h"

ABSL_DECLARE_FLAG(std::string, data);
ABSL_DECLARE_FLAG(std::string, cell);
ABSL_DECLARE_FLAG(int, layers);
ABSL_DECLARE_FLAG(int64_t, embedding);
ABSL_DECLARE_FLAG(int64_t, hidden);
ABSL_DECLARE_FLAG(std::optional<double>, dropout);
ABSL_DECLARE_FLAG(double, forget_bias);
ABSL_DECLARE_FLAG(int64_t, seq);
ABSL_DECLARE_FLAG(int64_t, batch);
ABSL_DECLARE_FLAG(bool, shift_epochs);
ABSL_DECLARE_FLAG(std::optional<double>, lr);
ABSL_DECLARE_FLAG(double, clip);
ABSL_DECLARE_FLAG(std::string, lr_decay);
ABSL_DECLARE_FLAG(std::optional<double>, average);
ABSL_DECLARE_FLAG(int, threads);
ABSL_DECLARE_FLAG(int, replicas);
ABSL_DECLARE_FLAG(int64_t, recompute_every);
ABSL_DECLARE_FLAG(bool, compile);
ABSL_DECLARE_FLAG(double, minutes);
ABSL_DECLARE_FLAG(int64_t, max_updates);
ABSL_DECLARE_FLAG(int64_t, eval_every);
ABSL_DECLARE_FLAG(std::vector<std::string>, eval_at);
ABSL_DECLARE_FLAG(std::vector<std::string>, eval_at_minutes);
ABSL_DECLARE_FLAG(double, valid_fraction);
ABSL_DECLARE_FLAG(int64_t, valid_streams);
ABSL_DECLARE_FLAG(std::string, checkpoint);
ABSL_DECLARE_FLAG(double, checkpoint_minutes);
ABSL_DECLARE_FLAG(int64_t, checkpoint_every);
ABSL_DECLARE_FLAG(int64_t, stop_after_updates);
ABSL_DECLARE_FLAG(bool, resume);
ABSL_DECLARE_FLAG(int64_t, sample);
ABSL_DECLARE_FLAG(std::string, prime);
ABSL_DECLARE_FLAG(double, temperature);
ABSL_DECLARE_FLAG(uint64_t, seed);
ABSL_DECLARE_FLAG(std::string, out_dir);
ABSL_DECLARE_FLAG(bool, plot);
ABSL_DECLARE_FLAG(std::string, dot);
ABSL_DECLARE_FLAG(double, expect_bpc_below);
ABSL_DECLARE_FLAG(double, deadline_minutes);
ABSL_DECLARE_FLAG(int64_t, check_ranks_every);

namespace tg::examples {

// --lr when not given: a new run's rate (a resumed run keeps its checkpoint's).
inline constexpr double kDefaultLr = 4e-3;
// --dropout when not given: a new run's rate (a resumed run keeps its checkpoint's).
inline constexpr double kDefaultDropout = 0.25;
// --average when not given: a new run's decay (a resumed run keeps its checkpoint's).
inline constexpr double kDefaultAverage = 0.997;

// Checks every flag's value before anything is read or written: a bad one ends the program
// with status 2 and one line naming it (base/flag_checks.h). `ranks`: how many processes
// mpirun started (1 in a plain run), which must divide --batch; `rank`: this one's, for
// only rank 0 to print.
void CheckFlags(int ranks, int rank);

// --replicas, or by default one per thread but never more than `streams` (this process's
// streams of each batch).
int Replicas(int64_t streams);

// --checkpoint, or <--out_dir>/char_lm.safetensors when it is empty.
std::string CheckpointPath();

}  // namespace tg::examples
