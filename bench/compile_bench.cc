// What compiling costs: records one training step of a recurrent network (forward over T
// steps, loss = mean of the squared outputs, Backward), compiles it, and prints the seconds of
// each phase and of each compiler pass, the process's peak RSS so far, the memory the
// program plans and its kernel count. Optionally times a few runs of the program.
//   compile_bench [--cell=lstm] [--layers=1] [--seq=1000] [--batch=32] [--input=64]
//                 [--hidden=256] [--runs=0] [--nocontext] [--listing] [--recompute_every=0]
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "autodiff/backward.h"
#include "base/status_macros.h"
#include "bench/flags.h"
#include "graph/compile/compiled_graph.h"
#include "graph/graph.h"
#include "models/stack.h"
#include "models/unroll.h"
#include "ops/ops.h"

ABSL_FLAG(std::string, cell, "lstm", "the layers' cell: lstm, gru or rnn");
ABSL_FLAG(int, layers, 1, "stacked layers, at least 1");
ABSL_FLAG(int64_t, seq, 1000, "time steps T, at least 1");
ABSL_FLAG(int64_t, batch, 32, "batch, at least 1");
ABSL_FLAG(int64_t, input, 64, "input width, at least 1");
ABSL_FLAG(int64_t, hidden, 256, "hidden width, at least 1");
ABSL_FLAG(int, runs, 0, "runs of the compiled program to time after compiling, at least 0");
ABSL_FLAG(int64_t, recompute_every, 0,
          "keep the state only every this many steps and recompute the steps between during "
          "backward (CompileSpec::recompute); 0: keep every step's values; less than --seq");
ABSL_FLAG(bool, listing, false, "also print the program's listing (CompiledGraph::Listing)");
ABSL_FLAG(bool, context, true,
          "let Compile make the program's own context (its memory), as it does by default; "
          "--nocontext measures a program whose memory would not fit (needs --runs=0)");

namespace tg::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds of the whole process so far: on a shared machine, wall time also counts the
// time other processes had the cores.
double CpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

absl::Status Main() {
  const std::string cell = absl::GetFlag(FLAGS_cell);
  const int layers = absl::GetFlag(FLAGS_layers);
  const int64_t seq = absl::GetFlag(FLAGS_seq), batch = absl::GetFlag(FLAGS_batch),
                input = absl::GetFlag(FLAGS_input), hidden = absl::GetFlag(FLAGS_hidden);
  ParameterStore store({.seed = 20240501});
  const CellKind kind = cell == "gru" ? CellKind::kGru
                        : cell == "rnn" ? CellKind::kRnnTanh
                                        : CellKind::kLstm;
  TG_ASSIGN_OR_RETURN(StackedRnn net, StackedRnn::Create(store, {.kind = kind,
                                                                 .input_size = input,
                                                                 .hidden_size = hidden,
                                                                 .num_layers = layers}));
  std::vector<float> xs(static_cast<size_t>(seq * batch * input));
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>((i * 37 % 101) / 101.0 - 0.5);

  const double cpu_start = CpuSeconds();
  Clock::time_point start = Clock::now();
  Graph g({.mode = ExecMode::kRecord});
  Expr x = g.Input({seq, batch, input}, xs);
  const int64_t recompute_every = absl::GetFlag(FLAGS_recompute_every);
  StackResult r = net.Run(g, SplitSteps(x), {.checkpoint_every = recompute_every});
  Expr loss = Mean(Square(StackSteps(r.outputs)));
  TG_RETURN_IF_ERROR(g.status());
  const double record_s = Since(start);
  start = Clock::now();
  TG_RETURN_IF_ERROR(Backward(loss));
  const double backward_s = Since(start);
  TG_ASSIGN_OR_RETURN(CompiledGraph program,
                      Compile(g, {.feeds = {x},
                                  .outputs = {loss},
                                  .own_context = absl::GetFlag(FLAGS_context),
                                  .recompute = recompute_every > 0}));
  const double cpu_s = CpuSeconds() - cpu_start;
  const double peak_mb = PeakRssMb();
  std::string passes;
  for (const auto& [pass, seconds] : program.pass_seconds()) {
    absl::StrAppend(&passes, passes.empty() ? "" : ", ", pass, " ",
                    absl::StrFormat("%.3f", seconds));
  }
  std::printf(
      "%s layers=%d seq=%lld batch=%lld input=%lld hidden=%lld recompute_every=%lld: record %.3f "
      "s, backward %.3f s, compile %.3f s (%s); all three %.3f s of CPU; %d nodes, %d kernels, "
      "%d stacked; peak RSS %.1f MB, planned %.1f MB\n",
      cell.c_str(), layers, static_cast<long long>(seq), static_cast<long long>(batch),
      static_cast<long long>(input), static_cast<long long>(hidden),
      static_cast<long long>(recompute_every), record_s, backward_s,
      program.compile_seconds(), passes.c_str(), cpu_s, g.num_nodes(), program.num_kernels(),
      program.num_stacked_nodes(), peak_mb, static_cast<double>(program.peak_bytes()) / 1e6);
  if (absl::GetFlag(FLAGS_listing)) std::fputs(program.Listing().c_str(), stdout);
  const int runs = absl::GetFlag(FLAGS_runs);
  if (runs > 0) {
    g.Clear();
    const Tensor feed(xs.data(), DType::kF32, {seq, batch, input});
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
      start = Clock::now();
      TG_RETURN_IF_ERROR(program.Run({feed}));
      ms.push_back(1e3 * Since(start));
      store.ZeroGrad();
    }
    std::sort(ms.begin(), ms.end());
    std::printf("run: median %.3f ms, min %.3f ms over %d runs; peak RSS %.1f MB\n",
                ms[ms.size() / 2], ms.front(), runs, PeakRssMb());
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace tg::bench

int main(int argc, char** argv) {
  tg::FlagChecks checks("compile_bench");
  tg::bench::ParseBenchFlags(argc, argv,
      "records one training step of a stacked recurrent network, compiles it and prints what\n"
      "each phase and compiler pass took, the peak RSS and the planned memory.\n\n"
      "  bench/compile_bench --cell=lstm --seq=10000 --batch=32 --input=64 --hidden=256",
      checks);
  checks.OneOf("cell", absl::GetFlag(FLAGS_cell), {"lstm", "gru", "rnn"})
      .AtLeast("layers", absl::GetFlag(FLAGS_layers), 1)
      .AtLeast("seq", absl::GetFlag(FLAGS_seq), int64_t{1})
      .AtLeast("batch", absl::GetFlag(FLAGS_batch), int64_t{1})
      .AtLeast("input", absl::GetFlag(FLAGS_input), int64_t{1})
      .AtLeast("hidden", absl::GetFlag(FLAGS_hidden), int64_t{1})
      .AtLeast("runs", absl::GetFlag(FLAGS_runs), 0)
      .AtLeast("recompute_every", absl::GetFlag(FLAGS_recompute_every), int64_t{0})
      .Require(absl::GetFlag(FLAGS_context) || absl::GetFlag(FLAGS_runs) == 0,
               absl::StrCat("--runs=", absl::GetFlag(FLAGS_runs),
                            " needs the program's own context (drop --nocontext)"))
      .ExitIfAny();
  if (absl::GetFlag(FLAGS_recompute_every) > 0) {
    checks.AtMost("recompute_every", absl::GetFlag(FLAGS_recompute_every),
                  absl::GetFlag(FLAGS_seq) - 1,
                  absl::StrCat("--seq minus one (", absl::GetFlag(FLAGS_seq) - 1, ")"))
        .ExitIfAny();
  }
  const absl::Status s = tg::bench::Main();
  if (!s.ok()) {
    std::fprintf(stderr, "compile_bench: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
