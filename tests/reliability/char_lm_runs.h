// char_lm run as a program by the tests, and its outputs compared: checkpoints byte for byte
// and learning curves row for row, except the wall-clock fields (the metadata in
// kWallClockMetadataKeys and the curve's kWallClockColumn). Used by the determinism and
// resume tests here and by their N-rank versions in tests/dist.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/reliability/scratch.h"

namespace tg::reliability {

// The learning curve's wall-clock column (examples/char_lm/trainer.cc writes curve.csv).
inline constexpr char kWallClockColumn[] = "train_seconds";

// Updates of a determinism or resume run: 2.2 passes over the tiny text's 11 chunks per stream.
inline constexpr int kUpdates = 24;
// Where a resume test stops a run: mid-pass; the last checkpoint before it is at update 8.
inline constexpr int kStopAt = 10;

// A tiny model on a tiny text with everything that draws random numbers or carries state
// switched on: dropout, a weight average, shifted passes and a cosine learning rate;
// argv[0] is char_lm. A checkpoint every 4 updates, validation every 5.
std::vector<std::string> CharLmFlags(const std::string& out_dir, int max_updates);

// Runs `launcher` (e.g. mpirun and its flags; empty: none), then `args`, then `more`, with
// stdout and stderr to `log`.
ChildResult RunCharLm(const std::vector<std::string>& launcher, std::vector<std::string> args,
                      const std::vector<std::string>& more, const std::string& log);

// Whether two checkpoints are the same byte for byte but for the wall-clock metadata.
testing::AssertionResult SameCheckpoints(const std::string& a, const std::string& b);

// The curve's rows without the wall-clock column.
std::vector<std::string> CurveRows(const std::string& path);

// The update count in a checkpoint ("optimizer.step"), or -1 while there is none.
int64_t UpdatesIn(const std::string& path);

// How a test runs char_lm (in one process, or on N ranks): CharLmFlags(out_dir, kUpdates),
// then `config`, with stdout and stderr to `log`.
using CharLmRunner = std::function<ChildResult(
    const std::string& out_dir, const std::vector<std::string>& config, const std::string& log)>;

// Two runs of `config` (in dir/a and dir/b) write the same checkpoint, after kUpdates updates,
// and the same curve; a run with --seed=2 (dir/c) writes another checkpoint, so the comparison
// sees a difference where there is one. Returns the results of runs a and b.
std::vector<ChildResult> ExpectRunsRepeat(const CharLmRunner& run,
                                          const std::vector<std::string>& config,
                                          const std::string& dir);

// A run of `config` stopped at update kStopAt (after its checkpoint at 8 and two more updates,
// whose curve rows and checkpoint never count) and resumed with --resume, in dir/parts, ends
// with the checkpoint and curve of the uninterrupted run in dir/whole.
void ExpectResumeEndsAsWhole(const CharLmRunner& run, const std::vector<std::string>& config,
                             const std::string& dir);

// A named set of char_lm flags a test runs with.
struct Config {
  const char* name;
  std::vector<std::string> flags;
};

// gtest prints a Config as its name.
inline void PrintTo(const Config& config, std::ostream* os) { *os << config.name; }

}  // namespace tg::reliability

// A ChildResult that exited with status 0, or its status and output.
#define EXPECT_SUCCEEDED(r)                                        \
  EXPECT_TRUE((r).exited && (r).code == 0)                         \
      << "exit " << (r).code << ", signal " << (r).signal << ":\n" \
      << (r).output
