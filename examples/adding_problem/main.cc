// The adding problem: long time lags (Hochreiter & Schmidhuber 1997), in the variant of Le,
// Jaitly and Hinton (2015). A cell reads T steps of [value, marker]; a Linear head on its
// last h must output the sum of the two marked values. Predicting the mean scores an MSE of
// about 0.167; a run counts as solved when the MSE on a fixed test set of 1,000 sequences goes
// below --target_mse. Each cell and T trains on fresh batches until it is solved or its time
// (or sequence) budget runs out, and the program ends with a table of them all.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "autodiff/backward.h"
#include "examples/adding_problem/compiled_step.h"
#include "examples/common/adding_data.h"
#include "examples/common/csv_writer.h"
#include "examples/common/flags.h"
#include "examples/common/interrupt.h"
#include "base/flag_checks.h"
#include "examples/common/plot.h"
#include "examples/common/progress.h"
#include "graph/dot.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "base/random.h"
#include "models/optimizers.h"
#include "models/stack.h"

ABSL_FLAG(std::vector<std::string>, cells, (std::vector<std::string>{"lstm", "rnn"}),
          "cells to train, comma-separated: lstm, rnn (tanh), gru");
ABSL_FLAG(std::vector<std::string>, lengths, (std::vector<std::string>{"50", "100", "200"}),
          "sequence lengths T (each at least 2), comma-separated; every cell runs at every T");
ABSL_FLAG(int64_t, hidden, 128, "hidden units of the cell");
ABSL_FLAG(int64_t, batch, 50, "sequences per update (fresh ones every update)");
ABSL_FLAG(double, lr, 1e-3, "Adam learning rate (> 0)");
ABSL_FLAG(double, clip, 1.0, "global gradient-norm clipping threshold (<= 0: off)");
ABSL_FLAG(double, forget_bias, 0.0,
          "added to the LSTM's forget-gate bias at init (0: as torch.nn.LSTM initialises it)");
ABSL_FLAG(double, minutes, 10.0,
          "training time budget per cell and T, in minutes, > 0 (evaluating the test set does not "
          "count)");
ABSL_FLAG(int64_t, max_sequences, 0, "sequence budget per cell and T (0: only the time budget)");
ABSL_FLAG(double, target_mse, 0.01,
          "a run is solved (and stops) when the test MSE goes below this (> 0)");
ABSL_FLAG(int64_t, eval_every, 50, "evaluate the test set every this many updates");
ABSL_FLAG(int64_t, test_size, 1000, "sequences in the fixed test set");
ABSL_FLAG(int64_t, eval_batch, 200, "test sequences per forward pass when evaluating");
ABSL_FLAG(int, threads, 1,
          "intra-op threads for the GEMMs, at least 1 (ExecOptions::num_threads; tapegrad's own "
          "pool, safe on a busy machine)");
ABSL_FLAG(bool, compile, true,
          "record one update, compile it (time batching, memory plan) and replay it on every "
          "fresh batch; --nocompile runs every update eagerly");
ABSL_FLAG(uint64_t, seed, 1, "seed of the initial weights, the training data and the test set");
ABSL_FLAG(std::string, out_dir, "results/adding_problem", "where the CSV files (and plots) go");
ABSL_FLAG(bool, plot, false, "also write adding_problem.png (test MSE vs sequences) via gnuplot");
ABSL_FLAG(std::string, dot, "",
          "write the graph of the first training step (forward and backward) to this DOT file");
ABSL_FLAG(std::string, dot_scope, "",
          "with --dot: only this name scope (e.g. step_1), as DotOptions::only_scope");
ABSL_FLAG(bool, expect_beat_mean, false,
          "exit status 1 unless every LSTM run ends with a test MSE below half the mean "
          "predictor's 0.167 (a smoke test)");

namespace {

using tg::examples::AddingBatch;
using tg::examples::kAddingMeanPredictorMse;

struct Config {
  std::vector<std::string> cells;
  std::vector<int64_t> lengths;
  int64_t hidden = 128, batch = 50, eval_every = 50, test_size = 1000, eval_batch = 200;
  int64_t max_sequences = 0;
  double lr = 1e-3, clip = 1, forget_bias = 0, budget_seconds = 600, target_mse = 0.01;
  int threads = 1;
  bool compile = true;
  uint64_t seed = 1;
  std::string out_dir, dot, dot_scope;
};

struct RunResult {
  std::string cell;
  int64_t steps = 0;
  bool solved = false;
  bool interrupted = false;
  double test_mse = 0;
  int64_t sequences = 0;
  double seconds = 0;       // training time: wall time minus eval_seconds
  double eval_seconds = 0;  // evaluating the test set
};

absl::StatusOr<tg::CellKind> ParseCell(const std::string& name) {
  if (name == "lstm") return tg::CellKind::kLstm;
  if (name == "rnn") return tg::CellKind::kRnnTanh;
  if (name == "gru") return tg::CellKind::kGru;
  return absl::InvalidArgumentError(
      absl::StrCat("--cells: unknown cell '", name, "' (lstm, rnn or gru)"));
}

// Every flag's value, checked before any data is made: a bad one ends the program with
// status 2 and one line naming it (base/flag_checks.h).
void CheckFlags() {
  tg::FlagChecks checks("adding_problem");
  checks.NotEmpty("cells", absl::GetFlag(FLAGS_cells))
      .EachOneOf("cells", absl::GetFlag(FLAGS_cells), {"lstm", "rnn", "gru"})
      .NotEmpty("lengths", absl::GetFlag(FLAGS_lengths))
      .EachAtLeast("lengths", absl::GetFlag(FLAGS_lengths), 2)
      .AtLeast("hidden", absl::GetFlag(FLAGS_hidden), 1)
      .AtLeast("batch", absl::GetFlag(FLAGS_batch), 1)
      .GreaterThan("lr", absl::GetFlag(FLAGS_lr), 0)
      .Finite("clip", absl::GetFlag(FLAGS_clip))
      .Finite("forget_bias", absl::GetFlag(FLAGS_forget_bias))
      .GreaterThan("minutes", absl::GetFlag(FLAGS_minutes), 0)
      .AtLeast("max_sequences", absl::GetFlag(FLAGS_max_sequences), 0)
      .GreaterThan("target_mse", absl::GetFlag(FLAGS_target_mse), 0)
      .AtLeast("eval_every", absl::GetFlag(FLAGS_eval_every), 1)
      .AtLeast("test_size", absl::GetFlag(FLAGS_test_size), 1)
      .AtLeast("eval_batch", absl::GetFlag(FLAGS_eval_batch), 1)
      .AtLeast("threads", absl::GetFlag(FLAGS_threads), 1);
  checks.ExitIfAny();
}

// The flags as a Config; CheckFlags has accepted them.
Config ReadFlags() {
  Config c;
  c.cells = absl::GetFlag(FLAGS_cells);
  for (const std::string& text : absl::GetFlag(FLAGS_lengths)) {
    int64_t t = 0;
    c.lengths.push_back(absl::SimpleAtoi(text, &t) ? t : 0);
  }
  c.hidden = absl::GetFlag(FLAGS_hidden);
  c.batch = absl::GetFlag(FLAGS_batch);
  c.eval_every = absl::GetFlag(FLAGS_eval_every);
  c.test_size = absl::GetFlag(FLAGS_test_size);
  c.eval_batch = absl::GetFlag(FLAGS_eval_batch);
  c.max_sequences = absl::GetFlag(FLAGS_max_sequences);
  c.lr = absl::GetFlag(FLAGS_lr);
  c.clip = absl::GetFlag(FLAGS_clip);
  c.forget_bias = absl::GetFlag(FLAGS_forget_bias);
  c.budget_seconds = absl::GetFlag(FLAGS_minutes) * 60;
  c.target_mse = absl::GetFlag(FLAGS_target_mse);
  c.threads = absl::GetFlag(FLAGS_threads);
  c.compile = absl::GetFlag(FLAGS_compile);
  c.seed = absl::GetFlag(FLAGS_seed);
  c.out_dir = absl::GetFlag(FLAGS_out_dir);
  c.dot = absl::GetFlag(FLAGS_dot);
  c.dot_scope = absl::GetFlag(FLAGS_dot_scope);
  return c;
}

std::string RunName(const std::string& cell, int64_t steps) {
  return absl::StrCat(cell, "_T", steps);
}

// Mean squared error of `model` on `test`, evaluated in chunks of `chunk` sequences on an
// inference graph (no gradients recorded).
absl::StatusOr<double> TestMse(tg::Graph& g, const tg::examples::AddingModel& model,
                               const AddingBatch& test, int64_t chunk) {
  double sum = 0;
  for (int64_t begin = 0; begin < test.batch; begin += chunk) {
    const int64_t end = std::min(test.batch, begin + chunk);
    g.Clear();
    tg::examples::AddingForward f = tg::examples::BuildAddingForward(
        g, model, tg::examples::SliceAddingBatch(test, begin, end));
    absl::StatusOr<double> loss = f.loss.Scalar();
    if (!loss.ok()) return loss.status();
    sum += *loss * static_cast<double>(end - begin);
  }
  return sum / static_cast<double>(test.batch);
}

// Trains one cell at one T until solved, out of budget or interrupted; a curve row per
// evaluation goes to `curve`.
absl::StatusOr<RunResult> TrainOne(const Config& c, const std::string& cell_name, int64_t steps,
                                   const AddingBatch& test, tg::examples::CsvWriter& curve,
                                   bool write_dot) {
  const tg::CellKind kind = *ParseCell(cell_name);
  tg::ParameterStore store({.seed = c.seed});
  absl::StatusOr<tg::examples::AddingModel> model = tg::examples::MakeAddingModel(
      store, {.kind = kind, .hidden = c.hidden, .forget_bias = c.forget_bias});
  if (!model.ok()) return model.status();
  absl::StatusOr<tg::Adam> adam = tg::Adam::Create(store, {.learning_rate = c.lr});
  if (!adam.ok()) return adam.status();
  // The same training stream for every cell at this T.
  tg::Rng data_rng(c.seed * 1000003 + static_cast<uint64_t>(steps));
  const tg::ExecOptions exec{.num_threads = c.threads};
  tg::Graph g({.exec = exec});
  tg::Graph eval_g({.mode = tg::ExecMode::kInference, .exec = exec});

  RunResult r{.cell = cell_name, .steps = steps};
  const std::string name = RunName(cell_name, steps);
  tg::examples::Progress progress({.total = c.max_sequences > 0 ? c.max_sequences / c.batch : 0,
                                   .budget_seconds = c.budget_seconds,
                                   .unit = "seq"});
  int64_t updates = 0;
  double loss_sum = 0;
  int64_t loss_count = 0;
  double last_loss = std::nan("");  // no training loss before the first update
  auto evaluate = [&]() -> absl::Status {
    const double start = progress.elapsed_seconds();
    absl::StatusOr<double> mse = TestMse(eval_g, *model, test, c.eval_batch);
    if (!mse.ok()) return mse.status();
    r.eval_seconds += progress.elapsed_seconds() - start;
    r.test_mse = *mse;
    r.seconds = progress.elapsed_seconds() - r.eval_seconds;
    if (loss_count > 0) last_loss = loss_sum / static_cast<double>(loss_count);
    loss_sum = 0;
    loss_count = 0;
    return curve.Row(name, {static_cast<double>(steps), static_cast<double>(updates),
                            static_cast<double>(r.sequences), r.seconds, last_loss, r.test_mse,
                            kAddingMeanPredictorMse, c.target_mse});
  };
  if (absl::Status s = evaluate(); !s.ok()) return s;
  progress.Print(absl::StrFormat("%s: T=%d, %d parameters, test MSE at init %.4f", name, steps,
                                 store.num_elements(), r.test_mse));

  tg::DotOptions dot;
  dot.title = absl::StrCat("adding_problem: one training step of ", name);
  dot.max_nodes = 0;
  dot.only_scope = c.dot_scope;
  std::optional<tg::examples::CompiledAddingStep> compiled;
  if (c.compile) {
    absl::StatusOr<tg::examples::CompiledAddingStep> step =
        tg::examples::CompiledAddingStep::Create(*model, steps, c.batch, exec,
                                                 write_dot ? c.dot : "", dot);
    if (!step.ok()) return step.status();
    compiled = *std::move(step);
    if (write_dot) progress.Print(absl::StrCat("wrote the graph of one training step to ", c.dot));
  }
  while (true) {
    if (r.test_mse < c.target_mse) {
      r.solved = true;
      break;
    }
    if (tg::examples::InterruptRequested()) {
      r.interrupted = true;
      break;
    }
    if (progress.elapsed_seconds() - r.eval_seconds >= c.budget_seconds) break;
    if (c.max_sequences > 0 && r.sequences + c.batch > c.max_sequences) break;

    AddingBatch batch = tg::examples::MakeAddingBatch(data_rng, steps, c.batch);
    absl::StatusOr<double> loss = 0.0;
    if (compiled.has_value()) {
      loss = compiled->Run(batch);
    } else {
      g.Clear();
      tg::examples::AddingForward f = tg::examples::BuildAddingForward(g, *model, batch);
      if (absl::Status s = tg::Backward(f.loss); !s.ok()) return s;
      if (write_dot && updates == 0) {
        if (absl::Status s = tg::WriteDot(g, c.dot, dot); !s.ok()) return s;
        progress.Print(absl::StrCat("wrote the graph of one training step (", g.num_nodes(),
                                    " nodes) to ", c.dot));
      }
      loss = f.loss.Scalar();
    }
    if (!loss.ok()) return loss.status();
    if (c.clip > 0) tg::ClipGradNorm(store, c.clip);
    if (absl::Status s = adam->Step(); !s.ok()) return s;
    store.ZeroGrad();
    loss_sum += *loss;
    ++loss_count;
    ++updates;
    r.sequences += c.batch;
    if (updates % c.eval_every == 0) {
      if (absl::Status s = evaluate(); !s.ok()) return s;
    }
    progress.Update(updates, static_cast<double>(r.sequences),
                    {{"loss", loss_count > 0 ? loss_sum / static_cast<double>(loss_count) : last_loss},
                     {"test_mse", r.test_mse}});
  }
  // The last updates since an evaluation count too.
  if (loss_count > 0) {
    if (absl::Status s = evaluate(); !s.ok()) return s;
    r.solved = r.test_mse < c.target_mse;
  }
  r.seconds = progress.elapsed_seconds() - r.eval_seconds;
  progress.Finish();
  progress.Print(absl::StrFormat(
      "%s: %s, test MSE %.4f after %d sequences (%d updates), %.1f s training (+%.1f s evaluating)",
      name, r.solved ? "solved" : "NOT solved", r.test_mse, r.sequences, updates, r.seconds,
      r.eval_seconds));
  return r;
}

void PrintTable(const Config& c, const std::vector<RunResult>& results) {
  std::printf("\nadding problem: hidden %lld, batch %lld, Adam %g, clip %g, budget %.1f min%s; "
              "solved = test MSE < %g (mean predictor: %.3f)\n",
              static_cast<long long>(c.hidden), static_cast<long long>(c.batch), c.lr, c.clip,
              c.budget_seconds / 60,
              c.max_sequences > 0 ? absl::StrCat(" or ", c.max_sequences, " sequences").c_str() : "",
              c.target_mse, kAddingMeanPredictorMse);
  std::printf("%-5s %5s  %-6s %9s %11s %9s %12s\n", "cell", "T", "solved", "test MSE",
              "sequences", "train s", "(+ eval s)");
  for (const RunResult& r : results) {
    std::printf("%-5s %5lld  %-6s %9.4f %11lld %9.1f %12.1f%s\n", r.cell.c_str(),
                static_cast<long long>(r.steps), r.solved ? "yes" : "no", r.test_mse,
                static_cast<long long>(r.sequences), r.seconds, r.eval_seconds,
                r.interrupted ? "  (interrupted)" : "");
  }
}

absl::Status Run(const Config& c, bool plot, bool expect_beat_mean) {
  std::error_code ec;
  std::filesystem::create_directories(c.out_dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--out_dir: cannot create '", c.out_dir, "': ", ec.message()));
  }
  const std::string curve_path = absl::StrCat(c.out_dir, "/curve.csv");
  const std::string results_path = absl::StrCat(c.out_dir, "/results.csv");
  absl::StatusOr<tg::examples::CsvWriter> curve = tg::examples::CsvWriter::Open(
      curve_path,
      {"run", "T", "updates", "sequences", "seconds", "train_loss", "test_mse", "mean_predictor_mse",
       "target_mse"});
  if (!curve.ok()) return curve.status();
  absl::StatusOr<tg::examples::CsvWriter> table = tg::examples::CsvWriter::Open(
      results_path, {"cell", "T", "solved", "test_mse", "sequences", "seconds", "eval_seconds"});
  if (!table.ok()) return table.status();

  std::printf("adding problem (Le et al. 2015): cells %s, T %s, %d thread(s); output in %s\n",
              absl::StrJoin(c.cells, ",").c_str(), absl::StrJoin(c.lengths, ",").c_str(),
              c.threads, c.out_dir.c_str());
  std::vector<RunResult> results;
  bool dot_pending = !c.dot.empty();
  for (int64_t steps : c.lengths) {
    tg::Rng test_rng(c.seed * 1000003 + static_cast<uint64_t>(steps) + 0x7e57);
    const AddingBatch test = tg::examples::MakeAddingBatch(test_rng, steps, c.test_size);
    for (const std::string& cell : c.cells) {
      if (tg::examples::InterruptRequested()) break;
      absl::StatusOr<RunResult> r = TrainOne(c, cell, steps, test, *curve, dot_pending);
      if (!r.ok()) return r.status();
      dot_pending = false;
      results.push_back(*r);
      if (absl::Status s = table->Row(cell, {static_cast<double>(steps), r->solved ? 1.0 : 0.0,
                                             r->test_mse, static_cast<double>(r->sequences),
                                             r->seconds, r->eval_seconds});
          !s.ok()) {
        return s;
      }
    }
  }
  PrintTable(c, results);
  std::printf("wrote %s and %s\n", results_path.c_str(), curve_path.c_str());

  if (plot) {
    tg::examples::PlotSpec spec{.png = absl::StrCat(c.out_dir, "/adding_problem.png"),
                                .title = "adding problem: test MSE (fixed 1,000 sequences)",
                                .xlabel = "sequences seen",
                                .ylabel = "test MSE",
                                .logy = true};
    for (const RunResult& r : results) {
      const std::string name = RunName(r.cell, r.steps);
      spec.series.push_back({.csv = curve_path, .x = "sequences", .y = "test_mse",
                             .title = absl::StrCat(r.cell, " T=", r.steps),
                             .filter_column = "run", .filter_value = name});
    }
    spec.series.push_back({.csv = curve_path, .x = "sequences", .y = "mean_predictor_mse",
                           .title = "predict the mean (1/6)"});
    spec.series.push_back({.csv = curve_path, .x = "sequences", .y = "target_mse",
                           .title = absl::StrCat("solved (", c.target_mse, ")")});
    if (absl::Status s = tg::examples::WritePlot(spec); !s.ok()) return s;
    std::printf("wrote %s\n", spec.png.c_str());
  }

  if (expect_beat_mean) {
    bool any = false, ok = true;
    for (const RunResult& r : results) {
      if (r.cell != "lstm") continue;
      any = true;
      const bool beat = r.test_mse < 0.5 * kAddingMeanPredictorMse;
      std::printf("--expect_beat_mean: lstm T=%lld test MSE %.4f vs mean predictor %.4f: %s\n",
                  static_cast<long long>(r.steps), r.test_mse, kAddingMeanPredictorMse,
                  beat ? "clearly below (pass)" : "NOT clearly below (fail)");
      ok = ok && beat;
    }
    if (!any) return absl::FailedPreconditionError("--expect_beat_mean needs lstm in --cells");
    if (!ok) return absl::FailedPreconditionError("--expect_beat_mean failed");
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  tg::examples::ParseFlags(argc, argv, "adding_problem",
      "The adding problem (Hochreiter & Schmidhuber 1997; variant of Le, Jaitly & Hinton 2015):\n"
      "each of T steps carries [value ~ U[0,1], marker]; two markers are set, one in each half;\n"
      "the target is the sum of the two marked values (predicting the mean scores MSE ~0.167).\n"
      "Trains each cell at each T on fresh batches (Adam, global-norm clipping) until the MSE on\n"
      "a fixed test set goes below --target_mse or the budget runs out, then prints a table\n"
      "(cell, T, solved, test MSE, sequences seen, seconds) and writes it as CSV.\n\n"
      "  adding_problem --cells=lstm --lengths=50 --plot\n"
      "  adding_problem --cells=rnn --lengths=10 --minutes=2");
  CheckFlags();
  const Config config = ReadFlags();
  tg::examples::InstallInterruptHandler();
  if (absl::Status s = Run(config, absl::GetFlag(FLAGS_plot), absl::GetFlag(FLAGS_expect_beat_mean));
      !s.ok()) {
    std::fprintf(stderr, "adding_problem: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
