#include "examples/time_series/training.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "autodiff/backward.h"
#include "examples/common/interrupt.h"
#include "examples/common/progress.h"
#include "examples/time_series/baselines.h"
#include "examples/time_series/compiled_update.h"
#include "examples/time_series/forecaster.h"
#include "graph/dot.h"
#include "models/early_stopping.h"
#include "models/layers.h"
#include "models/lr_schedule.h"
#include "models/losses.h"
#include "models/optimizers.h"
#include "ops/ops.h"

namespace tg::examples {
namespace {

// One progress line for all the models training at once: their updates summed.
class SharedProgress {
 public:
  SharedProgress(int64_t total_steps, int64_t batch)
      : progress_({.total = total_steps, .unit = "windows"}), batch_(batch) {}

  void Add(int64_t steps, double loss, double valid) {
    std::lock_guard<std::mutex> lock(mu_);
    done_ += steps;
    std::vector<std::pair<std::string, double>> shown = {{"loss", loss}};
    if (std::isfinite(valid)) shown.push_back({"valid_nrmse", valid});
    progress_.Update(done_, static_cast<double>(done_ * batch_), shown);
  }
  void Print(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    progress_.Print(line);
  }
  void Finish() { progress_.Finish(); }

 private:
  std::mutex mu_;
  Progress progress_;
  int64_t batch_;
  int64_t done_ = 0;
};

DotOptions FirstStepDotOptions(const TrainOptions& options, int64_t window) {
  DotOptions dot;
  dot.title = absl::StrCat("time_series: one training step (window ", window, ", batch ",
                           options.batch, ", hidden ", options.hidden, ")");
  dot.max_nodes = 0;
  dot.only_scope = options.dot_scope;
  return dot;
}

// One update run eagerly on `g` (cleared first): forward, loss, backward; returns the loss.
absl::StatusOr<double> EagerUpdate(const Forecaster& model, const WindowTask& task,
                                   absl::Span<const int64_t> ids, absl::Span<const double> y,
                                   Graph& g, bool write_dot, const TrainOptions& options,
                                   SharedProgress& progress) {
  g.Clear();
  Expr pred = model.Predict(g, task, ids);
  const int64_t n = static_cast<int64_t>(ids.size());
  Expr loss = MseLoss(pred, HostConstant(g, {n, task.horizon}, y, DType::kF32));
  if (absl::Status s = Backward(loss); !s.ok()) return s;
  if (write_dot) {
    if (absl::Status s = WriteDot(g, options.dot, FirstStepDotOptions(options, task.window));
        !s.ok()) {
      return s;
    }
    progress.Print(absl::StrCat("wrote the graph of one training step (", g.num_nodes(),
                                " nodes) to ", options.dot));
  }
  return loss.Scalar();
}

absl::StatusOr<MemberResult> TrainMember(const WindowTask& task, const TrainOptions& options,
                                         uint64_t seed, int threads, bool write_dot,
                                         SharedProgress& progress) {
  ParameterStore store({.seed = seed});
  absl::StatusOr<Forecaster> model = Forecaster::Create(
      store, {.input_size = task.input_size(), .horizon = task.horizon, .hidden = options.hidden,
              .skip = options.skip, .level_input = options.level_input});
  if (!model.ok()) return model.status();
  if (options.skip && options.start_from_linear) {
    // A ridge of 1% of the mean diagonal: the exact least-squares AR of a smooth series has
    // large coefficients of alternating sign, and an LSTM trained beside them learns little
    // (Mackey-Glass: 3x the error after 4000 updates); the shrunk AR starts as well as a
    // random skip there and keeps a short series from overfitting before it is linear-good.
    constexpr double kStartRidge = 1e-2;
    absl::StatusOr<LinearFit> fit = FitNormalizedAr(task, task.num_train, kStartRidge);
    if (!fit.ok()) return fit.status();
    if (absl::Status s = model->StartFromLinear(store, *fit); !s.ok()) return s;
  }
  absl::StatusOr<Adam> adam = Adam::Create(store, {.learning_rate = options.lr});
  if (!adam.ok()) return adam.status();
  const CosineLr schedule{.base_lr = options.lr, .total_steps = options.steps,
                          .min_lr = options.min_lr};
  // At least once per pass over the train windows: a short series overfits within a few
  // passes, and the best of them must be seen.
  const int64_t per_epoch = (task.num_train + options.batch - 1) / options.batch;
  const int64_t eval_every = std::min(options.eval_every, per_epoch);
  EarlyStopping stopping({.patience = (options.patience + eval_every - 1) / eval_every});
  MemberResult result;
  result.seed = seed;

  Graph eval_graph({.mode = ExecMode::kInference, .exec = {.num_threads = threads}});
  auto validate = [&](int64_t step, double train_loss, double lr) -> absl::StatusOr<double> {
    absl::StatusOr<Forecasts> f =
        ForecastWindows(*model, task, task.valid_begin, task.num_valid, eval_graph);
    if (!f.ok()) return f.status();
    const double score = MeanOf(NrmsePerStep(task, task.valid_begin, task.num_valid, *f));
    stopping.Observe(step, score, store);
    result.curve.push_back({.step = step, .train_loss = train_loss, .valid_nrmse = score,
                            .learning_rate = lr});
    return score;
  };
  // The starting point counts too: a series the LSTM cannot improve on keeps the linear start.
  if (absl::StatusOr<double> s = validate(0, NAN, options.lr); !s.ok()) return s.status();

  // The update: recorded once and replayed (options.compile), or run eagerly on `g`.
  std::optional<CompiledUpdate> compiled;
  if (options.compile) {
    DotOptions dot = FirstStepDotOptions(options, task.window);
    absl::StatusOr<CompiledUpdate> made = CompiledUpdate::Create(
        *model, task, options.batch, threads, write_dot ? options.dot : "", dot);
    if (!made.ok()) return made.status();
    compiled = *std::move(made);
    if (write_dot) {
      progress.Print(absl::StrCat("wrote the graph of one training step (",
                                  compiled->recorded_nodes(), " nodes) to ", options.dot));
    }
  }
  Graph g({.exec = {.num_threads = threads}});
  Rng rng(seed + 1);
  std::vector<int64_t> order(task.num_train);
  std::iota(order.begin(), order.end(), 0);
  size_t cursor = order.size();  // reshuffle at the start of every pass over the train windows
  std::vector<int64_t> ids(options.batch);
  std::vector<double> y(options.batch * task.horizon);
  double loss_sum = 0, valid = NAN;
  int64_t loss_count = 0, step = 0, unreported = 0;
  while (step < options.steps && !stopping.ShouldStop() && !InterruptRequested()) {
    const double lr = schedule.At(step);
    adam->set_learning_rate(lr);
    for (int64_t b = 0; b < options.batch; ++b) {
      if (cursor == order.size()) {
        for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.Below(i + 1)]);
        cursor = 0;
      }
      const int64_t w = ids[b] = order[cursor++];
      for (int64_t k = 1; k <= task.horizon; ++k) {
        y[b * task.horizon + k - 1] = task.ToUnits(w, task.target(w, k));
      }
    }
    absl::StatusOr<double> value = compiled.has_value()
                                       ? compiled->Run(task, ids, y)
                                       : EagerUpdate(*model, task, ids, y, g,
                                                     step == 0 && write_dot, options, progress);
    if (!value.ok()) return value.status();
    if (options.clip > 0) ClipGradNorm(store, options.clip);
    if (absl::Status s = adam->Step(); !s.ok()) return s;
    store.ZeroGrad();
    if (!std::isfinite(*value)) {
      return absl::InternalError(absl::StrCat("training diverged (seed ", seed, ", update ", step,
                                              ", loss ", *value, "); try a smaller --lr"));
    }
    loss_sum += *value;
    ++loss_count;
    ++step;
    ++unreported;
    if (step % eval_every == 0 || step == options.steps) {
      absl::StatusOr<double> s = validate(step, loss_sum / loss_count, lr);
      if (!s.ok()) return s.status();
      valid = *s;
      loss_sum = 0;
      loss_count = 0;
    }
    if (unreported == 20 || step == options.steps) {
      progress.Add(unreported, *value, valid);
      unreported = 0;
    }
  }
  progress.Add(unreported, NAN, NAN);
  result.steps = step;
  result.best_step = stopping.best_step();
  result.best_valid_nrmse = stopping.best_score();
  if (absl::Status s = stopping.Restore(store); !s.ok()) return s;
  absl::StatusOr<Forecasts> kept_valid =
      ForecastWindows(*model, task, task.valid_begin, task.num_valid, eval_graph);
  if (!kept_valid.ok()) return kept_valid.status();
  result.valid = std::move(*kept_valid);
  absl::StatusOr<Forecasts> test =
      ForecastWindows(*model, task, task.test_begin, task.num_test, eval_graph);
  if (!test.ok()) return test.status();
  result.test = std::move(*test);
  return result;
}

}  // namespace

absl::StatusOr<std::vector<MemberResult>> TrainEnsemble(const WindowTask& task,
                                                        const TrainOptions& options,
                                                        const std::vector<uint64_t>& seeds,
                                                        int threads) {
  return TrainEnsemble(std::vector<const WindowTask*>(seeds.size(), &task), options, seeds,
                       threads);
}

absl::StatusOr<std::vector<MemberResult>> TrainEnsemble(
    const std::vector<const WindowTask*>& member_tasks, const TrainOptions& options,
    const std::vector<uint64_t>& seeds, int threads) {
  if (member_tasks.size() != seeds.size()) {
    return absl::InvalidArgumentError(absl::StrCat("TrainEnsemble: ", member_tasks.size(),
                                                   " tasks for ", seeds.size(), " seeds"));
  }
  const int n = static_cast<int>(seeds.size());
  const int at_once = std::max(1, std::min(n, threads));
  const int intra_op = std::max(1, threads / at_once);
  SharedProgress progress(options.steps * n, options.batch);
  std::vector<absl::StatusOr<MemberResult>> results(n, absl::UnknownError("not trained"));
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int m = next++; m < n; m = next++) {
      results[m] = TrainMember(*member_tasks[m], options, seeds[m], intra_op,
                               m == 0 && !options.dot.empty(), progress);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < at_once; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  progress.Finish();
  std::vector<MemberResult> members;
  for (absl::StatusOr<MemberResult>& r : results) {
    if (!r.ok()) return r.status();
    members.push_back(std::move(*r));
  }
  return members;
}

}  // namespace tg::examples
