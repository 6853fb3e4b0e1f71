// This machine's FP32 FMA peak in GFLOP/s on 1 and 2 threads (bench/fma.h), the
// denominator of every "fraction of peak" the benchmarks print.
//   fma_peak [--threads=1,2] [--json]
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "bench/fma.h"

ABSL_FLAG(std::string, threads, "1,2", "comma-separated thread counts");
ABSL_FLAG(bool, json, false, "one JSON object per line");
ABSL_FLAG(double, seconds, 0.05, "duration of each of the 8 trials (the best is kept)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::vector<int> counts;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_threads), ',', absl::SkipEmpty())) {
    int n = 0;
    if (!absl::SimpleAtoi(s, &n) || n < 1) {
      std::fprintf(stderr, "fma_peak: bad --threads entry '%.*s'\n", static_cast<int>(s.size()),
                   s.data());
      return 2;
    }
    counts.push_back(n);
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const int lanes = static_cast<int>(tg::kernels::kWidth<float>);
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
