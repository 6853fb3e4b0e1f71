// This machine's FP32 FMA peak in GFLOP/s on 1 and 2 threads (bench/fma.h), measured with
// the widest FMA the CPU has (AVX-512, else AVX2; TG_ISA=avx2 or avx512 chooses one): the
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
      "every fraction of peak the benchmarks print. It measures the widest FMA the CPU has\n"
      "(16 lanes with AVX-512, 8 with AVX2); TG_ISA=avx2 or TG_ISA=avx512 chooses one.\n\n"
      "  bench/fma_peak --threads=1,2 --json",
      checks);
  // Checked before any measuring: a bad value ends the program with status 2 and one line.
  const std::vector<std::string> threads = tg::bench::CommaList(absl::GetFlag(FLAGS_threads));
  checks.NotEmpty("threads", threads)
      .EachAtLeast("threads", threads, 1)
      .GreaterThan("seconds", absl::GetFlag(FLAGS_seconds), 0);
  const absl::StatusOr<tg::bench::FmaIsa> isa = tg::bench::ChooseFmaIsa();
  checks.Require(isa.ok(), std::string(isa.status().message())).ExitIfAny();
  std::vector<int> counts;
  for (const std::string& s : threads) {
    int n = 1;
    counts.push_back(absl::SimpleAtoi(s, &n) ? n : 1);
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const int lanes = tg::bench::FmaLanes(*isa);
  const char* isa_name = tg::bench::FmaIsaName(*isa);
  for (int n : counts) {
    const tg::bench::FmaPeak peak =
        tg::bench::MeasureFmaPeak(*isa, n, absl::GetFlag(FLAGS_seconds));
    if (json) {
      std::printf(
          "{\"bench\": \"fma_peak\", \"gflops\": %.1f, \"lanes\": %d, \"threads\": %d, "
          "\"isa\": \"%s\", \"wall_gflops\": %.1f}\n",
          peak.gflops, lanes, n, isa_name, peak.wall_gflops);
    } else {
      std::printf(
          "fma_peak  threads=%d  %s, lanes=%d  %.1f GFLOP/s on-core  (%.1f by wall clock)\n", n,
          isa_name, lanes, peak.gflops, peak.wall_gflops);
    }
    std::fflush(stdout);
  }
  return 0;
}
