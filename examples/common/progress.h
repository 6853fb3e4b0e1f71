// Progress of long work: on a terminal one line redrawn in place (bar, steps, the numbers
// the caller reports, throughput, ETA); otherwise, e.g. piped into a log, a plain line every
// `interval_seconds` so that logs stay readable.
//
//   Progress progress({.total = steps, .unit = "chars"});
//   for (...) { ...; progress.Update(step + 1, chars_done, {{"loss", loss}}); }
//   progress.Finish();
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace tg::examples {

struct ProgressOptions {
  int64_t total = 0;           // steps expected; 0 when only a time budget bounds the work
  double budget_seconds = 0;   // a time budget, for the ETA when total is 0
  std::string unit = "items";  // what `work` counts, for the throughput ("chars/s")
  double interval_seconds = 10;  // between plain lines when not on a terminal
  std::FILE* out = stdout;
  int force_terminal = -1;       // -1: ask isatty; 0/1: tests decide
};

class Progress {
 public:
  explicit Progress(ProgressOptions options);
  // `step` steps and `work` units done so far; `values` are shown as name=value.
  void Update(int64_t step, double work, const std::vector<std::pair<std::string, double>>& values);
  // Ends the redrawn line (no-op off a terminal).
  void Finish();
  // Prints a line of its own without breaking the bar.
  void Print(const std::string& line);
  double elapsed_seconds() const;
  bool on_terminal() const { return terminal_; }

 private:
  std::string Describe(int64_t step, double work,
                       const std::vector<std::pair<std::string, double>>& values) const;

  ProgressOptions options_;
  bool terminal_;
  bool line_open_ = false;
  std::chrono::steady_clock::time_point start_;
  double last_print_ = -1e300;
};

// "1:05", "12:00:03": seconds as a clock reading.
std::string FormatDuration(double seconds);

}  // namespace tg::examples
