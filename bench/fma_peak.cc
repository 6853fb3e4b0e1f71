// This machine's FP32 FMA peak in GFLOP/s on 1 and 2 threads (bench/fma.h), the
// denominator of every "fraction of peak" the benchmarks print.
//   fma_peak [--threads=1,2] [--json]
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "bench/flags.h"
#include "bench/fma.h"

ABSL_FLAG(std::string, threads, "1,2", "comma-separated thread counts, each at least 1");
ABSL_FLAG(bool, json, false, "one JSON object per line");
ABSL_FLAG(double, seconds, 0.05, "duration of each of the 8 trials in seconds, > 0 (the best is kept)");

int main(int argc, char** argv) {
  tg::FlagChecks checks("fma_peak");
  tg::bench::ParseBenchFlags(argc, argv,
      "measures this machine's FP32 FMA peak in GFLOP/s per thread count, the denominator of\n"
      "every fraction of peak the benchmarks print.\n\n"
      "  bench/fma_peak --threads=1,2 --json",
      checks);
  // Checked before any measuring: a bad value ends the program with status 2 and one line.
  const std::vector<std::string> threads = tg::bench::CommaList(absl::GetFlag(FLAGS_threads));
  checks.NotEmpty("threads", threads)
      .EachAtLeast("threads", threads, 1)
      .GreaterThan("seconds", absl::GetFlag(FLAGS_seconds), 0)
      .ExitIfAny();
  std::vector<int> counts;
  for (const std::string& s : threads) {
    int n = 1;
    counts.push_back(absl::SimpleAtoi(s, &n) ? n : 1);
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const int lanes = static_cast<int>(tg::kernels::ActiveFloatLanes());
  for (int n : counts) {
    const tg::bench::FmaPeak peak = tg::bench::MeasureFmaPeak(n, absl::GetFlag(FLAGS_seconds));
    if (json) {
      std::printf(
          "{\"bench\": \"fma_peak\", \"threads\": %d, \"lanes\": %d, \"gflops\": %.1f, "
          "\"wall_gflops\": %.1f}\n",
          n, lanes, peak.gflops, peak.wall_gflops);
    } else {
      std::printf("fma_peak  threads=%d  lanes=%d  %.1f GFLOP/s on-core  (%.1f by wall clock)\n", n,
                  lanes, peak.gflops, peak.wall_gflops);
    }
    std::fflush(stdout);
  }
  return 0;
}
