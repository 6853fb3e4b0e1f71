// The vanishing gradient, seen. On the adding problem (a loss on the last step only, whose
// inputs that matter lie up to T steps back), the norm of dL/dh_t for every step t of the
// tanh RNN and of the LSTM, on the same fixed batch, at initialisation and after a short
// training. The RNN's norm shrinks exponentially going back in time (each step multiplies it
// by roughly W_hh^T diag(1 - h^2)); the LSTM's cell state gives the error a path whose
// factor per step is the forget gate. That path is only as good as the gate: with PyTorch's
// initialisation (forget bias 0, gate ~0.5) the LSTM's gradient at init vanishes about as
// fast as the RNN's, so the default starts the gate open (--forget_bias=1, gate ~0.73) as
// Gers et al. (2000) advise; training then pushes it towards 1 where the task needs memory.
//
// The gradients are measured in float64 on a copy of the float32 weights, so that a norm of
// 1e-30 is a number rather than an underflow.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "autodiff/backward.h"
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
#include "base/status_macros.h"
#include "models/optimizers.h"
#include "models/stack.h"

ABSL_FLAG(int64_t, steps, 50,
          "sequence length T of the adding problem, at least 2 (50: long enough for the RNN's gradient to "
          "vanish, short enough for the LSTM to learn the task within --train_steps)");
ABSL_FLAG(int64_t, hidden, 128, "hidden units of both cells");
ABSL_FLAG(int64_t, probe_batch, 100,
          "sequences in the fixed batch on which dL/dh_t is measured (norms are averaged over it)");
ABSL_FLAG(int64_t, train_steps, 2000,
          "Adam updates between the two measurements (0: both measure the initial weights)");
ABSL_FLAG(int64_t, batch, 50, "sequences per training update (fresh ones every update)");
ABSL_FLAG(double, lr, 1e-3, "Adam learning rate (> 0)");
ABSL_FLAG(double, clip, 1.0, "global gradient-norm clipping threshold (<= 0: off)");
ABSL_FLAG(double, forget_bias, 1.0,
          "added to the LSTM's forget-gate bias at init (Gers et al. 2000; 0 is PyTorch's, whose "
          "forget gate starts at 0.5 and lets the LSTM's gradient at init vanish about as fast "
          "as the RNN's)");
ABSL_FLAG(int, threads, 1,
          "intra-op threads for the GEMMs, at least 1 (ExecOptions::num_threads; tapegrad's own "
          "pool, safe on a busy machine)");
ABSL_FLAG(uint64_t, seed, 1, "seed of the initial weights and of the data");
ABSL_FLAG(std::string, out_dir, "results/gradient_flow", "where the CSV files (and plot) go");
ABSL_FLAG(bool, plot, false,
          "also write gradient_flow.png (||dL/dh_t|| vs t, log y) via gnuplot");
ABSL_FLAG(std::string, dot, "",
          "write the graph of one training step (the RNN's first; forward and backward) to this "
          "DOT file");
ABSL_FLAG(std::string, dot_scope, "",
          "with --dot: only this name scope (e.g. step_1), as DotOptions::only_scope");
ABSL_FLAG(bool, expect_vanishing, false,
          "exit status 1 unless, at initialisation, the RNN's ratio ||dL/dh_0|| / ||dL/dh_T-1|| "
          "is at least --vanishing_factor times smaller than the LSTM's (a smoke test)");
ABSL_FLAG(double, vanishing_factor, 1e3, "how much smaller --expect_vanishing requires (> 0)");

namespace {

using tg::examples::AddingBatch;

struct Config {
  int64_t steps = 50, hidden = 128, probe_batch = 100, train_steps = 2000, batch = 50;
  double lr = 1e-3, clip = 1, forget_bias = 1;
  int threads = 1;
  uint64_t seed = 1;
  std::string out_dir, dot, dot_scope;
};

// ||dL/dh_t|| for t = 0..T-1 and the loss on the probe batch.
struct Profile {
  std::vector<double> norms = {};
  double loss = 0;
  double ratio() const { return norms.front() / norms.back(); }
};

struct CellResult {
  std::string name;
  Profile init = {}, trained = {};
};

// Every flag's value, checked before any data is made: a bad one ends the program with
// status 2 and one line naming it (base/flag_checks.h).
void CheckFlags() {
  tg::FlagChecks checks("gradient_flow");
  checks.AtLeast("steps", absl::GetFlag(FLAGS_steps), 2)
      .AtLeast("hidden", absl::GetFlag(FLAGS_hidden), 1)
      .AtLeast("probe_batch", absl::GetFlag(FLAGS_probe_batch), 1)
      .AtLeast("train_steps", absl::GetFlag(FLAGS_train_steps), 0)
      .AtLeast("batch", absl::GetFlag(FLAGS_batch), 1)
      .GreaterThan("lr", absl::GetFlag(FLAGS_lr), 0)
      .Finite("clip", absl::GetFlag(FLAGS_clip))
      .Finite("forget_bias", absl::GetFlag(FLAGS_forget_bias))
      .AtLeast("threads", absl::GetFlag(FLAGS_threads), 1)
      .GreaterThan("vanishing_factor", absl::GetFlag(FLAGS_vanishing_factor), 0);
  checks.ExitIfAny();
}

// The flags as a Config; CheckFlags has accepted them.
Config ReadFlags() {
  Config c;
  c.steps = absl::GetFlag(FLAGS_steps);
  c.hidden = absl::GetFlag(FLAGS_hidden);
  c.probe_batch = absl::GetFlag(FLAGS_probe_batch);
  c.train_steps = absl::GetFlag(FLAGS_train_steps);
  c.batch = absl::GetFlag(FLAGS_batch);
  c.lr = absl::GetFlag(FLAGS_lr);
  c.clip = absl::GetFlag(FLAGS_clip);
  c.forget_bias = absl::GetFlag(FLAGS_forget_bias);
  c.threads = absl::GetFlag(FLAGS_threads);
  c.seed = absl::GetFlag(FLAGS_seed);
  c.out_dir = absl::GetFlag(FLAGS_out_dir);
  c.dot = absl::GetFlag(FLAGS_dot);
  c.dot_scope = absl::GetFlag(FLAGS_dot_scope);
  return c;
}

// dL/dh_t for every t on `probe`, in float64 on a copy of the store. The loss is the batch
// mean, so row b of dL/dh_t is (1/B) d l_b / d h_t^b; the norm reported is the mean over the
// batch of || d l_b / d h_t^b || (one example's own loss and state).
absl::StatusOr<Profile> Measure(const Config& c, const tg::ParameterStore& store,
                                tg::CellKind kind, const AddingBatch& probe) {
  TG_ASSIGN_OR_RETURN(tg::ParameterStore store64, store.CloneAs(tg::DType::kF64));
  absl::StatusOr<tg::examples::AddingModel> model = tg::examples::MakeAddingModel(
      store64, {.kind = kind, .hidden = c.hidden, .dtype = tg::DType::kF64});
  if (!model.ok()) return model.status();
  tg::Graph g({.exec = {.num_threads = c.threads}});
  tg::examples::AddingForward f =
      tg::examples::BuildAddingForward(g, *model, probe, tg::DType::kF64);
  absl::StatusOr<std::vector<tg::Expr>> grads = tg::Backward(f.loss, f.hidden);
  if (!grads.ok()) return grads.status();
  Profile p;
  absl::StatusOr<double> loss = f.loss.Scalar();
  if (!loss.ok()) return loss.status();
  p.loss = *loss;
  const int64_t batch = probe.batch, hidden = c.hidden;
  for (const tg::Expr& grad : *grads) {
    absl::StatusOr<std::vector<double>> v = grad.ToVector<double>();
    if (!v.ok()) return v.status();
    double mean = 0;
    for (int64_t b = 0; b < batch; ++b) {
      double sq = 0;
      for (int64_t j = 0; j < hidden; ++j) sq += (*v)[b * hidden + j] * (*v)[b * hidden + j];
      mean += std::sqrt(sq) * static_cast<double>(batch);  // undo the batch mean's 1/B
    }
    p.norms.push_back(mean / static_cast<double>(batch));
  }
  return p;
}

absl::StatusOr<CellResult> RunCell(const Config& c, const std::string& name, tg::CellKind kind,
                                   const AddingBatch& probe, bool write_dot) {
  CellResult result{.name = name};
  tg::ParameterStore store({.seed = c.seed});
  absl::StatusOr<tg::examples::AddingModel> model = tg::examples::MakeAddingModel(
      store, {.kind = kind, .hidden = c.hidden, .forget_bias = c.forget_bias});
  if (!model.ok()) return model.status();
  absl::StatusOr<Profile> init = Measure(c, store, kind, probe);
  if (!init.ok()) return init.status();
  result.init = *init;

  absl::StatusOr<tg::Adam> adam = tg::Adam::Create(store, {.learning_rate = c.lr});
  if (!adam.ok()) return adam.status();
  tg::Rng data_rng(c.seed * 1000003 + static_cast<uint64_t>(c.steps));  // the same for both cells
  tg::Graph g({.exec = {.num_threads = c.threads}});
  tg::examples::Progress progress({.total = c.train_steps, .unit = "seq"});
  double loss_avg = 0;
  for (int64_t step = 0; step < c.train_steps; ++step) {
    if (tg::examples::InterruptRequested()) {
      return absl::CancelledError(absl::StrCat("interrupted while training ", name));
    }
    g.Clear();
    AddingBatch batch = tg::examples::MakeAddingBatch(data_rng, c.steps, c.batch);
    tg::examples::AddingForward f = tg::examples::BuildAddingForward(g, *model, batch);
    if (absl::Status s = tg::Backward(f.loss); !s.ok()) return s;
    if (write_dot && step == 0) {
      tg::DotOptions opts;
      opts.title = absl::StrCat("gradient_flow: one training step of the ", name, ", T=", c.steps);
      opts.max_nodes = 0;
      opts.only_scope = c.dot_scope;
      if (absl::Status s = tg::WriteDot(g, c.dot, opts); !s.ok()) return s;
      progress.Print(absl::StrCat("wrote the graph of one training step (", g.num_nodes(),
                                  " nodes) to ", c.dot));
    }
    if (c.clip > 0) tg::ClipGradNorm(store, c.clip);
    if (absl::Status s = adam->Step(); !s.ok()) return s;
    store.ZeroGrad();
    absl::StatusOr<double> loss = f.loss.Scalar();
    if (!loss.ok()) return loss.status();
    loss_avg = step == 0 ? *loss : 0.98 * loss_avg + 0.02 * *loss;
    progress.Update(step + 1, static_cast<double>((step + 1) * c.batch),
                    {{"loss", loss_avg}});
  }
  progress.Finish();
  absl::StatusOr<Profile> trained = Measure(c, store, kind, probe);
  if (!trained.ok()) return trained.status();
  result.trained = *trained;
  progress.Print(absl::StrFormat("%s: probe MSE %.4f at init, %.4f after %d updates (%.1f s)", name,
                                 result.init.loss, result.trained.loss, c.train_steps,
                                 progress.elapsed_seconds()));
  return result;
}

// Rows to print: the last steps one by one, then every so often back to t = 0.
std::vector<int64_t> TableSteps(int64_t steps) {
  std::vector<int64_t> ts;
  for (int64_t back : {1, 2, 3, 5, 10, 20, 30, 40, 50, 75, 100, 150, 200, 300, 400, 500, 1000}) {
    if (back < steps) ts.push_back(steps - back);
  }
  ts.push_back(0);
  return ts;
}

absl::Status Run(const Config& c, bool plot, bool expect_vanishing, double vanishing_factor) {
  std::error_code ec;
  std::filesystem::create_directories(c.out_dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--out_dir: cannot create '", c.out_dir, "': ", ec.message()));
  }
  std::printf("gradient flow on the adding problem: T=%lld, hidden %lld, LSTM forget bias %g, "
              "probe batch %lld, %lld training updates of %lld; output in %s\n",
              static_cast<long long>(c.steps), static_cast<long long>(c.hidden), c.forget_bias,
              static_cast<long long>(c.probe_batch), static_cast<long long>(c.train_steps),
              static_cast<long long>(c.batch), c.out_dir.c_str());
  tg::Rng probe_rng(c.seed * 1000003 + static_cast<uint64_t>(c.steps) + 0x7e57);
  const AddingBatch probe = tg::examples::MakeAddingBatch(probe_rng, c.steps, c.probe_batch);

  std::vector<CellResult> results;
  for (auto [name, kind] : {std::pair{"rnn", tg::CellKind::kRnnTanh},
                            std::pair{"lstm", tg::CellKind::kLstm}}) {
    absl::StatusOr<CellResult> r = RunCell(c, name, kind, probe, !c.dot.empty() && results.empty());
    if (!r.ok()) return r.status();
    results.push_back(*r);
  }
  const CellResult& rnn = results[0];
  const CellResult& lstm = results[1];

  const std::string norms_path = absl::StrCat(c.out_dir, "/norms.csv");
  const std::string summary_path = absl::StrCat(c.out_dir, "/summary.csv");
  {
    absl::StatusOr<tg::examples::CsvWriter> csv = tg::examples::CsvWriter::Open(
        norms_path, {"t", "rnn_init", "rnn_trained", "lstm_init", "lstm_trained"});
    if (!csv.ok()) return csv.status();
    for (int64_t t = 0; t < c.steps; ++t) {
      if (absl::Status s = csv->Row({static_cast<double>(t), rnn.init.norms[t],
                                     rnn.trained.norms[t], lstm.init.norms[t],
                                     lstm.trained.norms[t]});
          !s.ok()) {
        return s;
      }
    }
    absl::StatusOr<tg::examples::CsvWriter> summary = tg::examples::CsvWriter::Open(
        summary_path,
        {"curve", "norm_h0", "norm_hlast", "ratio", "factor_per_step", "probe_mse"});
    if (!summary.ok()) return summary.status();
    for (const CellResult& r : results) {
      for (auto [stage, p] : {std::pair{"init", &r.init}, std::pair{"trained", &r.trained}}) {
        if (absl::Status s = summary->Row(
                absl::StrCat(r.name, "_", stage),
                {p->norms.front(), p->norms.back(), p->ratio(),
                 std::pow(p->ratio(), 1.0 / static_cast<double>(c.steps - 1)), p->loss});
            !s.ok()) {
          return s;
        }
      }
    }
  }

  std::printf("\n||dL/dh_t||, mean over %lld sequences (loss on the last step, T=%lld)\n",
              static_cast<long long>(c.probe_batch), static_cast<long long>(c.steps));
  std::printf("%6s %12s %12s %12s %12s\n", "t", "rnn init", "rnn trained", "lstm init",
              "lstm trained");
  for (int64_t t : TableSteps(c.steps)) {
    std::printf("%6lld %12.3e %12.3e %12.3e %12.3e\n", static_cast<long long>(t),
                rnn.init.norms[t], rnn.trained.norms[t], lstm.init.norms[t],
                lstm.trained.norms[t]);
  }
  std::printf("\nratio ||dL/dh_0|| / ||dL/dh_%lld|| (and the factor per step back):\n",
              static_cast<long long>(c.steps - 1));
  for (const CellResult& r : results) {
    for (auto [stage, p] : {std::pair{"init", &r.init}, std::pair{"trained", &r.trained}}) {
      std::printf("  %-4s %-7s  %10.3e  (x%.4f per step; probe MSE %.4f)\n", r.name.c_str(),
                  stage, p->ratio(), std::pow(p->ratio(), 1.0 / static_cast<double>(c.steps - 1)),
                  p->loss);
    }
  }
  std::printf("wrote %s and %s\n", norms_path.c_str(), summary_path.c_str());

  if (plot) {
    tg::examples::PlotSpec spec{
        .png = absl::StrCat(c.out_dir, "/gradient_flow.png"),
        .title = absl::StrCat("||dL/dh_t|| on the adding problem, T=", c.steps,
                              " (loss at the last step)"),
        .xlabel = "t",
        .ylabel = "||dL/dh_t||",
        .logy = true};
    for (auto [column, title] : {std::pair{"rnn_init", "rnn, init"},
                                 std::pair{"rnn_trained", "rnn, trained"},
                                 std::pair{"lstm_init", "lstm, init"},
                                 std::pair{"lstm_trained", "lstm, trained"}}) {
      spec.series.push_back({.csv = norms_path, .x = "t", .y = column, .title = title});
    }
    if (absl::Status s = tg::examples::WritePlot(spec); !s.ok()) return s;
    std::printf("wrote %s\n", spec.png.c_str());
  }

  if (expect_vanishing) {
    const bool ok = rnn.init.ratio() * vanishing_factor < lstm.init.ratio();
    std::printf("--expect_vanishing: at init the RNN's ratio %.3e vs the LSTM's %.3e: %s\n",
                rnn.init.ratio(), lstm.init.ratio(),
                ok ? absl::StrFormat("over %g times smaller (pass)", vanishing_factor).c_str()
                   : absl::StrFormat("NOT %g times smaller (fail)", vanishing_factor).c_str());
    if (!ok) return absl::FailedPreconditionError("--expect_vanishing failed");
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  tg::examples::ParseFlags(argc, argv, "gradient_flow",
      "The vanishing gradient, seen: on the adding problem (loss on the last step), the norm\n"
      "of dL/dh_t for every step t, for the tanh RNN and the LSTM on the same fixed batch, at\n"
      "initialisation and after --train_steps Adam updates. Prints a table of norms and the\n"
      "ratio ||dL/dh_0|| / ||dL/dh_T-1|| of each, and writes them as CSV.\n\n"
      "  gradient_flow --plot\n"
      "  gradient_flow --steps=50 --train_steps=3000 --plot");
  CheckFlags();
  const Config config = ReadFlags();
  tg::examples::InstallInterruptHandler();
  if (absl::Status s = Run(config, absl::GetFlag(FLAGS_plot), absl::GetFlag(FLAGS_expect_vanishing),
                           absl::GetFlag(FLAGS_vanishing_factor));
      !s.ok()) {
    std::fprintf(stderr, "gradient_flow: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
