#include "examples/common/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tg::examples {

Progress::Progress(ProgressOptions options)
    : options_(std::move(options)), start_(std::chrono::steady_clock::now()) {
  terminal_ = options_.force_terminal >= 0 ? options_.force_terminal == 1
                                           : isatty(fileno(options_.out)) == 1;
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

std::string Progress::Describe(int64_t step, double work,
                               const std::vector<std::pair<std::string, double>>& values) const {
  const double elapsed = elapsed_seconds();
  // The fraction done comes from the step count, or from the time budget.
  double fraction = -1;
  if (options_.total > 0) fraction = static_cast<double>(step) / options_.total;
  else if (options_.budget_seconds > 0) fraction = elapsed / options_.budget_seconds;
  fraction = std::min(fraction, 1.0);

  std::string line;
  if (terminal_ && fraction >= 0) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth);
    absl::StrAppend(&line, "[", std::string(filled, '#'), std::string(kWidth - filled, '.'), "] ");
  }
  if (options_.total > 0) absl::StrAppend(&line, "step ", step, "/", options_.total);
  else absl::StrAppend(&line, "step ", step);
  for (const auto& [name, value] : values) absl::StrAppend(&line, "  ", name, " ", absl::StrFormat("%.4g", value));
  if (elapsed > 0 && work > 0) {
    absl::StrAppend(&line, "  ", absl::StrFormat("%.0f", work / elapsed), " ", options_.unit, "/s");
  }
  absl::StrAppend(&line, "  elapsed ", FormatDuration(elapsed));
  if (fraction > 0) absl::StrAppend(&line, "  eta ", FormatDuration(elapsed * (1 - fraction) / fraction));
  return line;
}

void Progress::Update(int64_t step, double work,
                      const std::vector<std::pair<std::string, double>>& values) {
  const double now = elapsed_seconds();
  if (terminal_) {
    // Redraw at most ten times a second: a terminal is slow to scroll.
    if (now - last_print_ < 0.1) return;
    std::fprintf(options_.out, "\r\033[K%s", Describe(step, work, values).c_str());
    line_open_ = true;
  } else {
    if (now - last_print_ < options_.interval_seconds) return;
    std::fprintf(options_.out, "%s\n", Describe(step, work, values).c_str());
  }
  std::fflush(options_.out);
  last_print_ = now;
}

void Progress::Print(const std::string& line) {
  if (line_open_) std::fprintf(options_.out, "\r\033[K");
  std::fprintf(options_.out, "%s\n", line.c_str());
  std::fflush(options_.out);
  line_open_ = false;
  last_print_ = -1e300;  // redraw the bar at the next update
}

void Progress::Finish() {
  if (line_open_) std::fprintf(options_.out, "\n");
  std::fflush(options_.out);
  line_open_ = false;
}

}  // namespace tg::examples
