// What rnn_bench and onednn_lstm share: the S/M/L configurations, list flags, the timing
// loop (warm-up, adaptive repeat count, median), peak-RSS probing and the output row, so
// that both print the same format and compare_pytorch.py reads them alike.
#ifndef TAPEGRAD_BENCH_HARNESS_H_
#define TAPEGRAD_BENCH_HARNESS_H_

#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "bench/fma.h"
#include "base/status_macros.h"

namespace tg::bench {

struct BenchConfig {
  std::string name;
  int64_t seq, batch, input, hidden;
};

// S: per-op overhead dominates; M: a typical character model; L: PyTorch's fastrnns default.
inline const std::vector<BenchConfig>& AllConfigs() {
  static const auto* configs = new std::vector<BenchConfig>{
      {"S", 100, 1, 16, 32}, {"M", 50, 32, 64, 256}, {"L", 100, 64, 512, 512}};
  return *configs;
}

// GEMM FLOPs of one forward+backward that the loss needs: forward 2*T*B*G*H*(I+H) (input
// and recurrent products), backward 2*T*B*G*H*(I+2H) (weight gradients over I and H, the
// recurrent gradient over H); with `input_grad`, d loss / d x adds 2*T*B*G*H*I.
inline double GemmFlops(const BenchConfig& c, int gates, bool input_grad) {
  const double per_k = 2.0 * static_cast<double>(c.seq * c.batch * gates * c.hidden);
  const double in = static_cast<double>(c.input), h = static_cast<double>(c.hidden);
  return per_k * ((in + h) + (in + 2 * h) + (input_grad ? in : 0.0));
}

// Splits a comma list and checks each entry against `allowed` (empty: anything goes).
inline absl::StatusOr<std::vector<std::string>> ParseList(const std::string& flag,
                                                          absl::string_view what,
                                                          const std::vector<std::string>& allowed) {
  std::vector<std::string> out;
  for (absl::string_view s : absl::StrSplit(flag, ',', absl::SkipEmpty())) {
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown ", what, " '", s, "' (known: ", absl::StrJoin(allowed, ","), ")"));
    }
    out.emplace_back(s);
  }
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat("no ", what, " selected"));
  return out;
}

inline absl::StatusOr<std::vector<BenchConfig>> ParseConfigs(const std::string& flag) {
  std::vector<std::string> names;
  for (const BenchConfig& c : AllConfigs()) names.push_back(c.name);
  TG_ASSIGN_OR_RETURN(std::vector<std::string> picked, ParseList(flag, "config", names));
  std::vector<BenchConfig> out;
  for (const std::string& n : picked) {
    for (const BenchConfig& c : AllConfigs()) {
      if (c.name == n) out.push_back(c);
    }
  }
  return out;
}

inline absl::StatusOr<std::vector<int>> ParseThreads(const std::string& flag) {
  std::vector<int> out;
  for (absl::string_view s : absl::StrSplit(flag, ',', absl::SkipEmpty())) {
    int n = 0;
    if (!absl::SimpleAtoi(s, &n) || n < 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad thread count '", s, "'"));
    }
    out.push_back(n);
  }
  if (out.empty()) return absl::InvalidArgumentError("no thread count selected");
  return out;
}

// ---- memory ----

// A field of /proc/self/status in kB ("VmRSS", "VmHWM"); -1 if unreadable.
inline double ProcStatusKb(absl::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, field) && line.size() > field.size() && line[field.size()] == ':') {
      double kb = -1;
      absl::string_view rest =
          absl::StripAsciiWhitespace(absl::string_view(line).substr(field.size() + 1));
      if (absl::ConsumeSuffix(&rest, " kB") && absl::SimpleAtod(rest, &kb)) return kb;
    }
  }
  return -1;
}

// High-water RSS from Start() on, minus the RSS at Start(). Start() resets the kernel's
// high-water mark (clear_refs "5"); where that is not permitted, the peak is the largest
// VmRSS seen by Sample() (called after each run, while the run's buffers are still held).
class RssProbe {
 public:
  void Start() {
    malloc_trim(0);  // memory freed by an earlier row must not hide this row's growth
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    exact_ = clear.good();
    base_kb_ = ProcStatusKb("VmRSS");
    sampled_kb_ = base_kb_;
  }
  void Sample() { sampled_kb_ = std::max(sampled_kb_, ProcStatusKb("VmRSS")); }
  double PeakMb() const {
    const double top = exact_ ? ProcStatusKb("VmHWM") : sampled_kb_;
    return base_kb_ < 0 || top < 0 ? -1 : (top - base_kb_) / 1024.0;
  }
  const char* method() const { return exact_ ? "hwm" : "sampled"; }

 private:
  bool exact_ = false;
  double base_kb_ = -1, sampled_kb_ = -1;
};

// ---- timing ----

struct TimingOptions {
  double budget_s = 1.0;  // time for the timed runs, which sets their count
  int min_runs = 3;
  int max_runs = 200;
};

struct Timing {
  double median_ms = 0, min_ms = 0;
  // The process's CPU milliseconds per timed run, median: on a shared machine wall time also
  // counts the time other processes had the cores, CPU time far less (1-thread rows only).
  double median_cpu_ms = 0;
  int runs = 0;
  double peak_rss_mb = -1;
  const char* rss_method = "";
};

// Warm-up (one run when a run is long, else at least two and 0.1 s), then timed runs until
// the budget is spent; the median resists the odd slow run that a shared machine produces. The
// RSS baseline is taken before the warm-up: an arena that keeps its memory after the first
// iteration (tapegrad's) would otherwise read as costing nothing.
inline absl::StatusOr<Timing> TimeRuns(const std::function<absl::Status()>& run,
                                       const TimingOptions& options) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> cpu_ms;
  auto cpu_now = [] {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return 1e3 * static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_nsec);
  };
  auto timed = [&](double* ms) -> absl::Status {
    const double cpu0 = cpu_now();
    auto t0 = Clock::now();
    absl::Status s = run();
    *ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    cpu_ms.push_back(cpu_now() - cpu0);
    return s;
  };
  RssProbe rss;
  rss.Start();
  double last_ms = 0, warm_ms = 0;
  for (int i = 0;; ++i) {
    if (absl::Status s = timed(&last_ms); !s.ok()) return s;
    rss.Sample();
    warm_ms += last_ms;
    if (last_ms > 250 * options.budget_s || (i >= 1 && warm_ms >= 100)) break;
  }
  // Timed runs until the budget is spent (at least min_runs, at most max_runs).
  cpu_ms.clear();
  std::vector<double> ms;
  for (double spent = 0;
       static_cast<int>(ms.size()) < options.min_runs ||
       (spent < options.budget_s * 1e3 && static_cast<int>(ms.size()) < options.max_runs);) {
    if (absl::Status s = timed(&ms.emplace_back()); !s.ok()) return s;
    rss.Sample();
    spent += ms.back();
  }
  const int runs = static_cast<int>(ms.size());
  std::sort(ms.begin(), ms.end());
  Timing t;
  t.runs = runs;
  t.min_ms = ms.front();
  t.median_ms = runs % 2 == 1 ? ms[runs / 2] : 0.5 * (ms[runs / 2 - 1] + ms[runs / 2]);
  std::sort(cpu_ms.begin(), cpu_ms.end());
  t.median_cpu_ms =
      runs % 2 == 1 ? cpu_ms[runs / 2] : 0.5 * (cpu_ms[runs / 2 - 1] + cpu_ms[runs / 2]);
  t.peak_rss_mb = rss.PeakMb();
  t.rss_method = rss.method();
  return t;
}

// The FMA peak of `isa` (ChooseFmaIsa) for `threads`, measured once per process, ISA and
// thread count.
inline double PeakGflops(FmaIsa isa, int threads) {
  static auto* cache = new std::map<std::pair<FmaIsa, int>, double>();
  auto [it, fresh] = cache->try_emplace({isa, threads}, 0.0);
  if (fresh) it->second = MeasureFmaPeak(isa, threads).gflops;
  return it->second;
}

// ---- output ----

struct Row {
  std::string bench, config, cell, mode;
  int threads = 1;
  const BenchConfig* shape = nullptr;
  int gates = 1;
  bool input_grad = false;  // the run also computes d loss / d x (onednn_lstm always does)
  FmaIsa isa = FmaIsa::kAvx2;  // the peak that fraction_of_peak divides by
  double flops = 0;  // GEMM FLOPs of a run; 0: GemmFlops(*shape, gates, input_grad)
  Timing timing;
  std::string rss_key = "peak_rss_mb";  // rnn_bench: tapegrad_peak_rss_mb
  // GEMM FLOPs the compiled program runs, counted from its matmul steps; < 0: not counted.
  int64_t program_gemm_flops = -1;
  // Sum of |d loss / d x| after a run with input_grad; < 0: not computed.
  double dx_abs_sum = -1;
};

inline void PrintRow(const Row& r, bool json) {
  const double flops = r.flops > 0 ? r.flops : GemmFlops(*r.shape, r.gates, r.input_grad);
  const double gflops = flops / (r.timing.median_ms * 1e-3) * 1e-9;
  const double peak = PeakGflops(r.isa, r.threads);
  if (json) {
    std::string optional;
    if (r.program_gemm_flops >= 0) {
      absl::StrAppend(&optional, ", \"program_gemm_flops\": ", r.program_gemm_flops);
    }
    if (r.dx_abs_sum >= 0) absl::StrAppend(&optional, ", \"dx_abs_sum\": ", r.dx_abs_sum);
    std::printf(
        "{\"bench\": \"%s\", \"config\": \"%s\", \"cell\": \"%s\", \"mode\": \"%s\", "
        "\"input_grad\": %s, \"threads\": %d, \"seq\": %lld, \"batch\": %lld, \"input\": %lld, "
        "\"hidden\": %lld, \"runs\": %d, \"ms\": %.4f, \"min_ms\": %.4f, \"cpu_ms\": %.4f, "
        "\"gemm_flops\": %.0f, "
        "\"gflops\": %.2f, \"peak_isa\": \"%s\", \"peak_gflops\": %.1f, "
        "\"fraction_of_peak\": %.4f, \"%s\": %.1f, \"rss_method\": \"%s\"%s}\n",
        r.bench.c_str(), r.config.c_str(), r.cell.c_str(), r.mode.c_str(),
        r.input_grad ? "true" : "false", r.threads, static_cast<long long>(r.shape->seq),
        static_cast<long long>(r.shape->batch), static_cast<long long>(r.shape->input),
        static_cast<long long>(r.shape->hidden), r.timing.runs, r.timing.median_ms,
        r.timing.min_ms, r.timing.median_cpu_ms, flops, gflops, FmaIsaName(r.isa), peak,
        gflops / peak,
        r.rss_key.c_str(), r.timing.peak_rss_mb, r.timing.rss_method, optional.c_str());
  } else {
    std::printf(
        "%-12s %-2s %-7s %-8s%-4s thr=%d  %10.3f ms (min %.3f, %3d runs)  %7.2f GFLOP/s  "
        "%5.1f%% of %.0f (%s)  rss +%.1f MB\n",
        r.bench.c_str(), r.config.c_str(), r.cell.c_str(), r.mode.c_str(),
        r.input_grad ? " +dx" : "", r.threads, r.timing.median_ms, r.timing.min_ms,
        r.timing.runs, gflops, 100 * gflops / peak, peak, FmaIsaName(r.isa),
        r.timing.peak_rss_mb);
  }
  std::fflush(stdout);
}

}  // namespace tg::bench

#endif  // TAPEGRAD_BENCH_HARNESS_H_
