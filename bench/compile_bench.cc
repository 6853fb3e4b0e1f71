// What compiling costs: records one training step of a recurrent network (forward over T
// steps, loss = mean of the squared outputs, Backward), compiles it, and prints the seconds of
// each phase and of each compiler pass, the process's peak RSS so far, the memory the
// program plans and its kernel count. Optionally times a few runs of the program.
//   compile_bench [--cell=lstm] [--layers=1] [--seq=1000] [--batch=32] [--input=64]
//                 [--hidden=256] [--runs=0] [--nocontext] [--listing] [--recompute_every=0]
//                 [--threads=1] [--simulate] [--profile] [--input_grad] [--noprepare_operands]
//                 [--nostack_rows] [--nofuse_pointwise] [--nowrite_first_sums]
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <queue>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "autodiff/backward.h"
#include "base/status_macros.h"
#include "bench/flags.h"
#include "base/thread_pool.h"
#include "graph/compile/compiled_graph.h"
#include "graph/compile/schedule.h"
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

ABSL_FLAG(int, threads, 1,
          "threads (ExecOptions::num_threads), at least 1; with more than one the program "
          "runs independent steps at once (parallel replay)");
ABSL_FLAG(bool, simulate, false,
          "with --runs: time every step alone on one thread (the minimum over the runs) and "
          "print their sum (the work); with --threads above 1 also the longest chain and the "
          "time of running the schedule on --threads threads, each step on one thread");

ABSL_FLAG(bool, profile, false,
          "with --runs: time every step alone (the minimum over the runs) and print the time "
          "per kind of step (op, stacked count, operand shapes, +=), most first, with each "
          "product's GFLOP/s; with --threads above 1 (and no --simulate) each step splits "
          "itself over the threads, as in a serial replay");
ABSL_FLAG(bool, prepare_operands, true,
          "prepare the weights the program's steps read once per run "
          "(CompileSpec::prepare_operands); --noprepare_operands to compare");
ABSL_FLAG(bool, stack_rows, true,
          "batch per-step work over time (CompileSpec::stack_rows); --nostack_rows to compare");
ABSL_FLAG(bool, fuse_pointwise, true,
          "fuse runs of pointwise ops (CompileSpec::fuse_pointwise); --nofuse_pointwise to "
          "compare");
ABSL_FLAG(bool, write_first_sums, true,
          "sums into bytes nothing touched yet write, and buffers so filled are not zeroed "
          "(CompileSpec::write_first_sums); --nowrite_first_sums to compare");
ABSL_FLAG(bool, input_grad, false,
          "the input x is a parameter, so the program also computes d loss / d x (the work "
          "oneDNN's LSTM primitive does); off: x is fed and needs no gradient");

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

// Each step's seconds, the program run step by step (no parallel replay). On one thread
// (`split` false): inside a job of the shared pool, where a step's own split runs on its
// caller (base/thread_pool.h). With `split`, each step splits itself over the program's
// threads as a serial replay runs it. The minimum over `runs` runs.
absl::StatusOr<std::vector<double>> StepSeconds(const CompiledGraph& program,
                                                absl::Span<const Tensor> feed,
                                                ParameterStore& store, int runs, bool split) {
  TG_ASSIGN_OR_RETURN(RunContext context, program.NewContext());
  context.set_parallel(false);
  std::vector<double> best, seconds;
  context.set_step_seconds(&seconds);
  absl::Status status;
  for (int r = 0; r < runs && status.ok(); ++r) {
    if (split) {
      status = program.Run(context, feed);
    } else {
      ThreadPool::Shared().ParallelFor(2, 2, [&](int chunk) {
        if (chunk == 0) status = program.Run(context, feed);
      });
    }
    store.ZeroGrad();
    if (best.empty()) best = seconds;
    for (size_t k = 0; k < best.size(); ++k) best[k] = std::min(best[k], seconds[k]);
  }
  TG_RETURN_IF_ERROR(status);
  return best;
}

// The schedule run on `threads` threads with the given step times, each step on one thread,
// the ready step with the longest chain first (graph/compile/parallel_replay.h): its seconds.
double Makespan(const compile::Schedule& s, const std::vector<double>& seconds, int threads) {
  const int n = s.num_steps();
  std::vector<int32_t> pending = s.predecessors;
  auto later = [&](int32_t a, int32_t b) {
    return s.chain[a] != s.chain[b] ? s.chain[a] < s.chain[b] : a > b;
  };
  std::priority_queue<int32_t, std::vector<int32_t>, decltype(later)> ready(later);
  for (int k = 0; k < n; ++k) {
    if (pending[k] == 0) ready.push(k);
  }
  using Running = std::pair<double, int32_t>;  // (end, step)
  std::priority_queue<Running, std::vector<Running>, std::greater<>> running;
  double now = 0;
  for (int done = 0; done < n;) {
    while (!ready.empty() && static_cast<int>(running.size()) < threads) {
      running.push({now + seconds[ready.top()], ready.top()});
      ready.pop();
    }
    const auto [end, k] = running.top();
    running.pop();
    now = end;
    ++done;
    for (int32_t j : s.after(k)) {
      if (--pending[j] == 0) ready.push(j);
    }
  }
  return now;
}

// The longest chain's seconds.
double Span(const compile::Schedule& s, const std::vector<double>& seconds) {
  std::vector<double> finish(seconds.size(), 0);
  double longest = 0;
  for (int k = s.num_steps() - 1; k >= 0; --k) {
    double after = 0;
    for (int32_t j : s.after(k)) after = std::max(after, finish[j]);
    finish[k] = seconds[k] + after;
    longest = std::max(longest, finish[k]);
  }
  return longest;
}

// A step's kind for --profile: its op (or "fused N", "zero"), stacked count, operand and
// output shapes and whether it accumulates; steps of one kind differ only in their step t.
std::string StepKind(const compile::Executable& p, const compile::Step& s) {
  std::string kind = !s.fused.empty()  ? absl::StrCat("fused ", s.fused.size())
                     : s.zeroes()      ? std::string("zero")
                     : s.prepares >= 0 ? absl::StrCat("prepare_", std::string(s.op->name))
                                       : std::string(s.op->name);
  if (s.stacked > 1) absl::StrAppend(&kind, " x", s.stacked);
  if (s.inputs.size() > 4) {
    absl::StrAppend(&kind, " ", s.inputs.size(), " inputs");
  } else {
    for (size_t i = 0; i < s.inputs.size(); ++i) {
      absl::StrAppend(&kind, i == 0 ? " " : ",", p.shape(s.inputs[i]).ToString());
    }
  }
  absl::StrAppend(&kind, " -> ", p.shape(s.output).ToString(), s.accumulate ? " +=" : "",
                  s.prepared >= 0 ? " (prepared)" : "");
  if (s.op != nullptr && s.attrs >= 0 && !p.attrs[s.attrs].ints.empty()) {
    absl::StrAppend(&kind, " attrs");
    for (int64_t v : p.attrs[s.attrs].ints) absl::StrAppend(&kind, " ", v);
  }
  return kind;
}

// 2*M*N*K of a matmul step (C[M,N] from A with M*K elements), else 0.
double StepFlops(const compile::Executable& p, const compile::Step& s) {
  if (s.op == nullptr || s.op->name != "matmul" || s.prepares >= 0 || s.inputs.size() < 2) {
    return 0;
  }
  const Shape& c = p.shape(s.output);
  if (c.rank() != 2 || c[0] == 0) return 0;
  return 2.0 * static_cast<double>(c.num_elements()) *
         static_cast<double>(p.shape(s.inputs[0]).num_elements() / c[0]);
}

// --profile: the step times summed per kind, most first.
void PrintProfile(const compile::Executable& p, const std::vector<double>& seconds) {
  struct Row {
    double seconds = 0, flops = 0;
    int steps = 0;
  };
  std::map<std::string, Row> rows;
  double total = 0;
  for (size_t k = 0; k < p.steps.size(); ++k) {
    Row& r = rows[StepKind(p, p.steps[k])];
    r.seconds += seconds[k];
    r.flops += StepFlops(p, p.steps[k]);
    ++r.steps;
    total += seconds[k];
  }
  std::vector<std::pair<std::string, Row>> sorted(rows.begin(), rows.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  std::printf("profile: %zu steps, %.3f ms (each step alone, the minimum over the runs)\n",
              p.steps.size(), 1e3 * total);
  std::printf("%9s %6s %6s %9s %9s  %s\n", "ms", "%", "steps", "us/step", "GFLOP/s", "kind");
  for (const auto& [kind, r] : sorted) {
    const std::string rate =
        r.flops > 0 ? absl::StrFormat("%.1f", r.flops / r.seconds * 1e-9) : std::string("");
    std::printf("%9.3f %6.1f %6d %9.2f %9s  %s\n", 1e3 * r.seconds, 100 * r.seconds / total,
                r.steps, 1e6 * r.seconds / r.steps, rate.c_str(), kind.c_str());
  }
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
  const int threads = absl::GetFlag(FLAGS_threads);
  Graph g({.mode = ExecMode::kRecord, .exec = {.num_threads = threads}});
  const bool input_grad = absl::GetFlag(FLAGS_input_grad);
  Parameter x_param;
  if (input_grad) {
    TG_ASSIGN_OR_RETURN(x_param, store.Add("x", {seq, batch, input}));
    TG_RETURN_IF_ERROR(store.Set("x", xs));
  }
  Expr x = input_grad ? g.Param(x_param) : g.Input({seq, batch, input}, xs);
  const int64_t recompute_every = absl::GetFlag(FLAGS_recompute_every);
  StackResult r = net.Run(g, SplitSteps(x), {.checkpoint_every = recompute_every});
  Expr loss = Mean(Square(StackSteps(r.outputs)));
  TG_RETURN_IF_ERROR(g.status());
  const double record_s = Since(start);
  start = Clock::now();
  TG_RETURN_IF_ERROR(Backward(loss));
  const double backward_s = Since(start);
  TG_ASSIGN_OR_RETURN(CompiledGraph program,
                      Compile(g, {.feeds = input_grad ? std::vector<Expr>{} : std::vector<Expr>{x},
                                  .outputs = {loss},
                                  .stack_rows = absl::GetFlag(FLAGS_stack_rows),
                                  .fuse_pointwise = absl::GetFlag(FLAGS_fuse_pointwise),
                                  .write_first_sums = absl::GetFlag(FLAGS_write_first_sums),
                                  .own_context = absl::GetFlag(FLAGS_context),
                                  .recompute = recompute_every > 0,
                                  .prepare_operands = absl::GetFlag(FLAGS_prepare_operands)}));
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
    std::vector<Tensor> feed;
    if (!input_grad) feed.emplace_back(xs.data(), DType::kF32, Shape{seq, batch, input});
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
      start = Clock::now();
      TG_RETURN_IF_ERROR(program.Run(feed));
      ms.push_back(1e3 * Since(start));
      store.ZeroGrad();
    }
    std::sort(ms.begin(), ms.end());
    std::printf("run: median %.3f ms, min %.3f ms over %d runs; peak RSS %.1f MB\n",
                ms[ms.size() / 2], ms.front(), runs, PeakRssMb());
  }
  if (absl::GetFlag(FLAGS_simulate) || absl::GetFlag(FLAGS_profile)) {
    std::vector<Tensor> feed;
    if (!input_grad) feed.emplace_back(xs.data(), DType::kF32, Shape{seq, batch, input});
    // --simulate needs each step's one-thread time; a profile alone shows the split steps.
    const bool split = !absl::GetFlag(FLAGS_simulate) && absl::GetFlag(FLAGS_threads) > 1;
    TG_ASSIGN_OR_RETURN(std::vector<double> seconds,
                        StepSeconds(program, feed, store, runs, split));
    if (absl::GetFlag(FLAGS_profile)) PrintProfile(program.program(), seconds);
    if (!absl::GetFlag(FLAGS_simulate)) return absl::OkStatus();
    double work = 0;
    for (double s : seconds) work += s;
    if (program.program().schedule == nullptr) {
      std::printf("simulated, each step on one thread: work %.3f ms\n", 1e3 * work);
      return absl::OkStatus();
    }
    const compile::Schedule& schedule = *program.program().schedule;
    const double span = Span(schedule, seconds), makespan = Makespan(schedule, seconds, threads);
    std::printf(
        "simulated, each step on one thread: work %.3f ms, longest chain %.3f ms, %d threads "
        "%.3f ms (%.2f times the work's speed)\n",
        1e3 * work, 1e3 * span, threads, 1e3 * makespan, work / makespan);
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
      .AtLeast("threads", absl::GetFlag(FLAGS_threads), 1)
      .Require(!absl::GetFlag(FLAGS_simulate) || absl::GetFlag(FLAGS_runs) > 0,
               "--simulate needs --runs above 0")
      .Require(!absl::GetFlag(FLAGS_profile) || absl::GetFlag(FLAGS_runs) > 0,
               "--profile needs --runs above 0")
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
