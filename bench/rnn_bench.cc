// Forward+backward of one recurrent layer (or --layers stacked, --bidirectional) over a
// sequence, loss = sum of all outputs h_t, in tapegrad's eager mode (one Graph reused across
// iterations: Clear() keeps the arena, so steady state is what is timed) and compiled (one
// recorded iteration replayed). Prints ms, GFLOP/s (the GEMM FLOPs the loss needs), fraction
// of the FMA peak measured in this process (bench/fma.h: the widest FMA the CPU has, or
// TG_ISA's), the GEMM FLOPs the compiled program runs, and the peak RSS of training. With
// --input_grad the input x is a parameter, so both modes also compute d loss / d x, as
// oneDNN's LSTM primitive does (equal work).
//   rnn_bench [--configs=S,M,L] [--cells=rnn,lstm,gru,lnlstm] [--modes=eager,compiled]
//             [--threads=1,2] [--json] [--budget_s=1] [--recompute_every=0] [--input_grad]
//             [--layers=1] [--bidirectional] [--parallel_replay] [--noprepare_operands]
//             [--nowrite_first_sums]
//             [--listing] [--max_runs=200]
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "autodiff/backward.h"
#include "bench/flags.h"
#include "bench/harness.h"
#include "bench/program_flops.h"
#include "graph/compile/compiled_graph.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "base/status_macros.h"
#include "models/cell.h"
#include "models/custom_cells.h"
#include "models/gru_cell.h"
#include "models/lstm_cell.h"
#include "models/rnn_cell.h"
#include "models/stack.h"
#include "models/unroll.h"
#include "ops/ops.h"

ABSL_FLAG(std::string, configs, "S,M,L", "configurations: S, M, L");
ABSL_FLAG(std::string, cells, "rnn,lstm,gru,lnlstm", "cells: rnn, lstm, gru, lnlstm");
ABSL_FLAG(std::string, modes, "eager,compiled",
          "execution modes: eager (record and run every iteration) and compiled (replay)");
ABSL_FLAG(std::string, threads, "1,2",
          "intra-op thread counts, each at least 1 (GraphOptions.exec.num_threads)");
ABSL_FLAG(bool, json, false, "one JSON object per line");
ABSL_FLAG(double, budget_s, 1.0, "seconds of timed runs per row, > 0 (at least 3 runs)");
ABSL_FLAG(int, max_runs, 200,
          "timed runs per row at most, at least 3 (raise it with --budget_s to profile a row)");
ABSL_FLAG(int64_t, recompute_every, 0,
          "compiled mode: keep the state only every this many steps and recompute the steps "
          "between during backward (activation checkpointing); 0: keep every step's values; "
          "less than each configuration's sequence");
ABSL_FLAG(bool, listing, false,
          "compiled mode: print each program's listing (CompiledGraph::Listing: steps, fused "
          "runs with their members and tile calls) to stderr before timing it");
ABSL_FLAG(bool, input_grad, false,
          "also compute d loss / d x (x becomes a parameter), the work oneDNN's LSTM primitive "
          "always does; off: x needs no gradient and its product is pruned");

ABSL_FLAG(int, layers, 1, "stacked layers of the cell, at least 1 (models/stack.h)");
ABSL_FLAG(bool, bidirectional, false, "every layer also runs over the sequence reversed");
ABSL_FLAG(bool, parallel_replay, false,
          "compiled mode: run independent steps at once on the threads "
          "(CompileSpec::parallel_replay); off: one after another, each split over the threads");

ABSL_FLAG(bool, prepare_operands, true,
          "compiled mode: prepare the weights the steps read once per run "
          "(CompileSpec::prepare_operands); --noprepare_operands reads them as they are");
ABSL_FLAG(bool, write_first_sums, true,
          "compiled mode: sums into bytes nothing touched yet write, and buffers so filled are "
          "not zeroed (CompileSpec::write_first_sums); --nowrite_first_sums to compare");

namespace tg::bench {
namespace {

constexpr uint64_t kSeed = 20240501;

// GEMM gate blocks G of each cell (the FLOP count's factor).
int Gates(const std::string& cell) {
  if (cell == "rnn") return 1;
  if (cell == "gru") return 3;
  return 4;  // lstm, lnlstm
}

absl::StatusOr<AnyCell> MakeCell(const std::string& name, ParameterStore& store,
                                 const BenchConfig& c, int layer = 0, bool reverse = false) {
  const RecurrentOptions options = {
      .input_size = c.input, .hidden_size = c.hidden, .layer = layer, .reverse = reverse};
  if (name == "rnn") {
    TG_ASSIGN_OR_RETURN(RnnCell cell, RnnCell::Create(store, options));
    return AnyCell(cell);
  }
  if (name == "lstm") {
    TG_ASSIGN_OR_RETURN(LstmCell cell, LstmCell::Create(store, options));
    return AnyCell(cell);
  }
  if (name == "gru") {
    TG_ASSIGN_OR_RETURN(GruCell cell, GruCell::Create(store, options));
    return AnyCell(cell);
  }
  TG_ASSIGN_OR_RETURN(LayerNormLstmCell cell, LayerNormLstmCell::Create(store, options));
  return AnyCell(cell);
}

// The network: one cell, or --layers of them (and their reverse cells with --bidirectional).
struct Network {
  std::vector<AnyCell> forward, backward;
  bool single() const { return forward.size() == 1 && backward.empty(); }
};

absl::StatusOr<Network> MakeNetwork(const std::string& name, ParameterStore& store,
                                    const BenchConfig& c) {
  const int layers = absl::GetFlag(FLAGS_layers);
  const bool bidirectional = absl::GetFlag(FLAGS_bidirectional);
  Network net;
  BenchConfig layer = c;
  for (int l = 0; l < layers; ++l) {
    TG_ASSIGN_OR_RETURN(AnyCell f, MakeCell(name, store, layer, l));
    net.forward.push_back(std::move(f));
    if (bidirectional) {
      TG_ASSIGN_OR_RETURN(AnyCell b, MakeCell(name, store, layer, l, true));
      net.backward.push_back(std::move(b));
    }
    layer.input = (bidirectional ? 2 : 1) * c.hidden;
  }
  return net;
}

// The network's outputs over the steps of x; each layer (and direction) keeps its state
// only every `checkpoint_every` steps when that is > 0.
absl::StatusOr<std::vector<Expr>> Outputs(Graph& g, const Network& net, Expr x, int64_t batch,
                                          int64_t checkpoint_every) {
  if (net.single()) {
    const AnyCell& cell = net.forward[0];
    return Unroll(g, cell, SplitSteps(x), cell.ZeroState(g, batch),
                  {.checkpoint_every = checkpoint_every})
        .outputs;
  }
  TG_ASSIGN_OR_RETURN(StackedRnn rnn, StackedRnn::FromCells(net.forward, net.backward));
  return rnn.Run(g, SplitSteps(x), {.checkpoint_every = checkpoint_every}).outputs;
}

// GEMM FLOPs of every layer and direction (harness.h's GemmFlops per layer); the layers
// above the first always need their input's gradient.
double NetworkFlops(const BenchConfig& c, int gates, bool input_grad) {
  const int layers = absl::GetFlag(FLAGS_layers);
  const int directions = absl::GetFlag(FLAGS_bidirectional) ? 2 : 1;
  BenchConfig layer = c;
  double flops = 0;
  for (int l = 0; l < layers; ++l) {
    flops += directions * GemmFlops(layer, gates, l > 0 || input_grad);
    layer.input = directions * c.hidden;
  }
  return flops;
}

// The cell column: "lstm", "2xlstm", "bi-lstm", "2xbi-lstm".
std::string NetworkName(const std::string& cell) {
  const int layers = absl::GetFlag(FLAGS_layers);
  return absl::StrCat(layers > 1 ? absl::StrCat(layers, "x") : "",
                      absl::GetFlag(FLAGS_bidirectional) ? "bi-" : "", cell);
}

// Fixed inputs in [-1, 1): the same values on every run and machine.
std::vector<float> FixedInputs(const BenchConfig& c) {
  std::vector<float> xs(c.seq * c.batch * c.input);
  for (size_t i = 0; i < xs.size(); ++i) {
    xs[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i) + 0.1));
  }
  return xs;
}

// With --input_grad: x as the parameter "x" holding FixedInputs, so that Backward
// accumulates d loss / d x into its gradient in both modes. Added after the cell's
// parameters so their initial values stay those of a run without it.
absl::StatusOr<Parameter> InputParameter(ParameterStore& store, const BenchConfig& c) {
  TG_ASSIGN_OR_RETURN(Parameter x, store.Add("x", {c.seq, c.batch, c.input}));
  TG_RETURN_IF_ERROR(store.Set("x", FixedInputs(c)));
  return x;
}

// What a run differentiates: the network, and with --input_grad x as a parameter.
struct Subject {
  Network net;
  Parameter x;  // valid with --input_grad
  Shape x_shape;
  // x in `g`: the parameter, or the fixed inputs `xs` fed as a constant input.
  Expr Input(Graph& g, const std::vector<float>& xs) const {
    return x.valid() ? g.Param(x) : g.Input(x_shape, xs);
  }
};

absl::StatusOr<Subject> MakeSubject(const std::string& cell_name, ParameterStore& store,
                                    const BenchConfig& c, bool input_grad) {
  Subject subject;
  subject.x_shape = {c.seq, c.batch, c.input};
  TG_ASSIGN_OR_RETURN(subject.net, MakeNetwork(cell_name, store, c));
  if (input_grad) {
    TG_ASSIGN_OR_RETURN(subject.x, InputParameter(store, c));
  }
  return subject;
}

// Sum of |d loss / d x| left by the last run (a check that the gradient was computed).
absl::StatusOr<double> InputGradAbsSum(const ParameterStore& store) {
  TG_ASSIGN_OR_RETURN(Parameter x, store.Find("x"));
  double sum = 0;
  for (float v : x.grad().span<float>()) sum += std::fabs(v);
  return sum;
}

// What a row reports besides its timing.
struct BenchResult {
  Timing timing;
  int64_t program_gemm_flops = -1;  // compiled mode: counted from the program
  double dx_abs_sum = -1;           // --input_grad: after the last run
};

absl::StatusOr<BenchResult> BenchEager(const BenchConfig& c, const std::string& cell_name,
                                       int threads, bool input_grad,
                                       const TimingOptions& timing) {
  ParameterStore store({.seed = kSeed});
  TG_ASSIGN_OR_RETURN(const Subject subject, MakeSubject(cell_name, store, c, input_grad));
  const Network& net = subject.net;
  const std::vector<float> xs = FixedInputs(c);
  Graph g({.mode = ExecMode::kEager, .exec = {.num_threads = threads}});
  // One training iteration minus the optimizer: zero the gradients, build, BPTT.
  auto iteration = [&]() -> absl::Status {
    store.ZeroGrad();
    g.Clear();
    Expr x = subject.Input(g, xs);
    TG_ASSIGN_OR_RETURN(std::vector<Expr> outputs, Outputs(g, net, x, c.batch, 0));
    return Backward(Sum(StackSteps(outputs)));
  };
  BenchResult result;
  TG_ASSIGN_OR_RETURN(result.timing, TimeRuns(iteration, timing));
  if (input_grad) {
    TG_ASSIGN_OR_RETURN(result.dx_abs_sum, InputGradAbsSum(store));
  }
  return result;
}

// The same iteration compiled: recorded once, then replayed (time batching, memory plan).
absl::StatusOr<BenchResult> BenchCompiled(const BenchConfig& c, const std::string& cell_name,
                                          int threads, bool input_grad,
                                          const TimingOptions& timing) {
  ParameterStore store({.seed = kSeed});
  TG_ASSIGN_OR_RETURN(const Subject subject, MakeSubject(cell_name, store, c, input_grad));
  const Network& net = subject.net;
  std::vector<float> xs = FixedInputs(c);
  Graph g({.mode = ExecMode::kRecord, .exec = {.num_threads = threads}});
  // A fed input needs no gradient; the parameter's is accumulated in place by every run.
  Expr x = subject.Input(g, xs);
  const int64_t recompute_every = absl::GetFlag(FLAGS_recompute_every);
  if (recompute_every >= c.seq) {
    return absl::InvalidArgumentError(absl::StrCat("--recompute_every=", recompute_every,
                                                   " leaves no step to recompute in a sequence of ",
                                                   c.seq));
  }
  TG_ASSIGN_OR_RETURN(std::vector<Expr> outputs,
                      Outputs(g, net, x, c.batch, recompute_every));
  TG_RETURN_IF_ERROR(Backward(Sum(StackSteps(outputs))));
  std::vector<Expr> feeds;
  if (!input_grad) feeds.push_back(x);
  TG_ASSIGN_OR_RETURN(CompiledGraph program,
                      Compile(g, {.feeds = feeds,
                                  .outputs = {},
                                  .write_first_sums = absl::GetFlag(FLAGS_write_first_sums),
                                  .recompute = recompute_every > 0,
                                  .parallel_replay = absl::GetFlag(FLAGS_parallel_replay),
                                  .prepare_operands = absl::GetFlag(FLAGS_prepare_operands)}));
  g.Clear();
  if (absl::GetFlag(FLAGS_listing)) {
    std::fprintf(stderr, "%s %s threads=%d:\n%s", c.name.c_str(), cell_name.c_str(), threads,
                 program.Listing().c_str());
  }
  std::vector<Tensor> feed;
  if (!input_grad) feed.emplace_back(xs.data(), DType::kF32, Shape{c.seq, c.batch, c.input});
  auto iteration = [&]() -> absl::Status {
    store.ZeroGrad();
    return program.Run(feed);
  };
  BenchResult result;
  TG_ASSIGN_OR_RETURN(result.timing, TimeRuns(iteration, timing));
  result.program_gemm_flops = ProgramMatmulFlops(program);
  if (input_grad) {
    TG_ASSIGN_OR_RETURN(result.dx_abs_sum, InputGradAbsSum(store));
  }
  return result;
}

int Main(FmaIsa isa) {
  auto configs = ParseConfigs(absl::GetFlag(FLAGS_configs));
  auto cells = ParseList(absl::GetFlag(FLAGS_cells), "cell", {"rnn", "lstm", "gru", "lnlstm"});
  auto modes = ParseList(absl::GetFlag(FLAGS_modes), "mode", {"eager", "compiled"});
  auto threads = ParseThreads(absl::GetFlag(FLAGS_threads));
  for (const absl::Status& s :
       {configs.status(), cells.status(), modes.status(), threads.status()}) {
    if (!s.ok()) {
      std::fprintf(stderr, "rnn_bench: %s\n", std::string(s.message()).c_str());
      return 2;
    }
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const TimingOptions timing = {.budget_s = absl::GetFlag(FLAGS_budget_s),
                                .max_runs = absl::GetFlag(FLAGS_max_runs)};
  const bool input_grad = absl::GetFlag(FLAGS_input_grad);
  // Peaks first, before GEMM pool workers exist to compete with the FMA threads.
  for (int t : *threads) PeakGflops(isa, t);
  int failures = 0, rows = 0;
  for (const std::string& mode : *modes) {
    for (const BenchConfig& c : *configs) {
      for (const std::string& cell : *cells) {
        for (int t : *threads) {
          absl::StatusOr<BenchResult> result =
              mode == "eager" ? BenchEager(c, cell, t, input_grad, timing)
                              : BenchCompiled(c, cell, t, input_grad, timing);
          if (!result.ok()) {
            std::fprintf(stderr, "rnn_bench: %s %s threads=%d: %s\n", c.name.c_str(), cell.c_str(),
                         t, std::string(result.status().message()).c_str());
            ++failures;
            continue;
          }
          PrintRow({.bench = "rnn_bench",
                    .config = c.name,
                    .cell = NetworkName(cell),
                    .mode = mode,
                    .threads = t,
                    .shape = &c,
                    .gates = Gates(cell),
                    .input_grad = input_grad,
                    .isa = isa,
                    .flops = NetworkFlops(c, Gates(cell), input_grad),
                    .timing = result->timing,
                    .rss_key = "tapegrad_peak_rss_mb",
                    .program_gemm_flops = result->program_gemm_flops,
                    .dx_abs_sum = result->dx_abs_sum},
                   json);
          ++rows;
        }
      }
    }
  }
  return failures > 0 ? 1 : (rows == 0 ? 3 : 0);
}

}  // namespace
}  // namespace tg::bench

int main(int argc, char** argv) {
  tg::FlagChecks checks("rnn_bench");
  tg::bench::ParseBenchFlags(argc, argv,
      "times forward+backward of one recurrent layer, or --layers stacked (loss: the sum of\n"
      "the outputs) in\n"
      "tapegrad's eager and compiled modes at the S, M and L sizes, one row per configuration,\n"
      "cell, mode and thread count; bench/compare_pytorch.py runs it beside PyTorch.\n"
      "fraction_of_peak divides by the FMA peak of the widest FMA the CPU has (TG_ISA=avx2 or\n"
      "avx512 chooses one); --input_grad also computes d loss / d x.\n\n"
      "  bench/rnn_bench --configs=M --cells=lstm --modes=compiled --threads=1 --json",
      checks);
  // Checked before any timing: a bad value ends the program with status 2 and one line.
  const std::vector<std::string> configs = tg::bench::CommaList(absl::GetFlag(FLAGS_configs));
  const std::vector<std::string> cells = tg::bench::CommaList(absl::GetFlag(FLAGS_cells));
  const std::vector<std::string> modes = tg::bench::CommaList(absl::GetFlag(FLAGS_modes));
  const std::vector<std::string> threads = tg::bench::CommaList(absl::GetFlag(FLAGS_threads));
  checks.NotEmpty("configs", configs)
      .EachOneOf("configs", configs, {"S", "M", "L"})
      .NotEmpty("cells", cells)
      .EachOneOf("cells", cells, {"rnn", "lstm", "gru", "lnlstm"})
      .NotEmpty("modes", modes)
      .EachOneOf("modes", modes, {"eager", "compiled"})
      .NotEmpty("threads", threads)
      .EachAtLeast("threads", threads, 1)
      .GreaterThan("budget_s", absl::GetFlag(FLAGS_budget_s), 0)
      .AtLeast("max_runs", absl::GetFlag(FLAGS_max_runs), 3)
      .AtLeast("recompute_every", absl::GetFlag(FLAGS_recompute_every), int64_t{0})
      .AtLeast("layers", absl::GetFlag(FLAGS_layers), 1);
  const absl::StatusOr<tg::bench::FmaIsa> isa = tg::bench::ChooseFmaIsa();
  checks.Require(isa.ok(), std::string(isa.status().message())).ExitIfAny();
  return tg::bench::Main(*isa);
}
