#include "examples/char_lm/trainer.h"

#include <algorithm>
#include <cstdio>
#include <numbers>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "autodiff/backward.h"
#include "base/status_macros.h"
#include "examples/char_lm/evaluate.h"
#include "examples/char_lm/flags.h"
#include "examples/common/interrupt.h"
#include "examples/common/plot.h"
#include "graph/dot.h"
#include "models/lr_schedule.h"
#include "models/optimizers.h"
#include "ops/ops.h"

namespace tg::examples {
namespace {

// --lr_decay=cosine over a time budget: the fraction of the budget spent, in these steps.
constexpr int64_t kDecaySteps = 1'000'000;

double ToBits(double nats) { return nats / std::numbers::ln2; }

// Whether training time crossed one of --eval_at_minutes during the last update.
bool PassedMinuteMark(double before_seconds, double after_seconds) {
  for (const std::string& at : absl::GetFlag(FLAGS_eval_at_minutes)) {
    double minutes = 0;
    if (absl::SimpleAtod(at, &minutes) && before_seconds < minutes * 60 && after_seconds >= minutes * 60) return true;
  }
  return false;
}

// Whether validation is scored after `updates` updates (--eval_every, --eval_at).
bool EvaluateNow(int64_t updates) {
  const int64_t every = absl::GetFlag(FLAGS_eval_every);
  if (every > 0 && updates % every == 0) return true;
  for (const std::string& at : absl::GetFlag(FLAGS_eval_at)) {
    if (at == absl::StrCat(updates)) return true;
  }
  return false;
}

}  // namespace

Trainer::Trainer(const Data& data, CharModel model, ParameterStore& store, Optimizer& optimizer,
                 WeightAverage* average, RunInfo info, TrainingState resumed, Ranks& ranks)
    : data_(data), model_(std::move(model)), store_(store), optimizer_(optimizer),
      average_(average), info_(std::move(info)), resumed_(std::move(resumed)), ranks_(ranks),
      batcher_(data.train, {.batch = absl::GetFlag(FLAGS_batch),
                            .steps = absl::GetFlag(FLAGS_seq),
                            .shift_epochs = absl::GetFlag(FLAGS_shift_epochs),
                            .seed = absl::GetFlag(FLAGS_seed)}),
      graph_({.exec = {.num_threads = absl::GetFlag(FLAGS_threads)}}),
      carried_(resumed_.carried),
      dropout_rng_(DropoutSeed()),
      compile_(absl::GetFlag(FLAGS_compile)),
      last_loss_(resumed_.last_train_loss) {
  // Checked by CheckResumedState: a saved position restores.
  if (!resumed_.dropout_rng.empty()) dropout_rng_.RestoreState(resumed_.dropout_rng);
}

uint64_t Trainer::DropoutSeed() const { return absl::GetFlag(FLAGS_seed) + 1 + ranks_.rank(); }

absl::Status Trainer::Update() {
  return compile_ ? UpdateCompiled() : UpdateEagerly();
}

double Trainer::SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

absl::Status Trainer::FinishUpdate() {
  // On N ranks: the gradients' mean, and in the same messages the loss, the clock and
  // Ctrl-C, which every decision after this update reads the same on every rank.
  UpdateSummary summary{.loss = last_loss_,
                        .train_seconds = train_seconds_ + unclocked_ + SecondsSince(running_since_),
                        .interrupted = InterruptRequested()};
  TG_RETURN_IF_ERROR(ranks_.ReduceGradients(store_, summary));
  last_loss_ = summary.loss;
  train_seconds_ = summary.train_seconds;
  interrupted_ = summary.interrupted;
  unclocked_ = 0;  // the rest of this update counts towards the next one
  running_since_ = Clock::now();
  ClipGradNorm(store_, absl::GetFlag(FLAGS_clip));
  TG_RETURN_IF_ERROR(optimizer_.Step());
  store_.ZeroGrad();
  ++updates_;
  return absl::OkStatus();
}

absl::Status Trainer::UpdateCompiled() {
  if (!compiled_.has_value()) {
    const absl::Time start = absl::Now();
    // Recorded from the seed alone, so that a resumed run records the same dropout seeds and
    // continues their streams from the saved run count.
    Rng recording_rng(DropoutSeed());
    const int64_t batch = batcher_.batch(), streams = ranks_.Streams(batch);
    TG_ASSIGN_OR_RETURN(compiled_, CompiledUpdate::Create(model_, batcher_.steps(), batch,
                                                          ranks_.FirstStream(batch), streams,
                                                          absl::GetFlag(FLAGS_threads),
                                                          Replicas(streams),
                                                          absl::GetFlag(FLAGS_recompute_every),
                                                          ranks_.is_root() ? absl::GetFlag(FLAGS_dot) : "",
                                                          recording_rng));
    if (!resumed_.carried.empty()) {
      TG_RETURN_IF_ERROR(compiled_->SetCarriedState(ranks_.OwnStreams(resumed_.carried, batch)));
    }
    // Without a saved count (an eager or two-file checkpoint), as if compiled from the start.
    compiled_->set_run_count(resumed_.compiled_runs.value_or(static_cast<uint64_t>(updates_)));
    const CompiledGraph& p = compiled_->program();
    std::printf(
        "compiled one update in %.3f s: %d kernels (%d nodes batched over time), %.1f MB planned%s\n",
        absl::ToDoubleSeconds(absl::Now() - start), p.num_kernels(), p.num_stacked_nodes(),
        p.peak_bytes() / 1e6,
        compiled_->num_replicas() > 1
            ? absl::StrFormat(" (each of %d replicas)", compiled_->num_replicas()).c_str()
            : "");
  }
  if (batcher_.StartsEpoch(updates_)) compiled_->ResetState();
  batcher_.Chunk(updates_, &inputs_, &targets_);
  TG_ASSIGN_OR_RETURN(last_loss_, compiled_->Run(inputs_, targets_));
  return FinishUpdate();
}

absl::Status Trainer::UpdateEagerly() {
  if (batcher_.StartsEpoch(updates_)) carried_.clear();  // a new pass starts from zero state
  batcher_.Chunk(updates_, &inputs_, &targets_);
  Graph& g = graph_;
  g.Clear();
  std::vector<State> initial;
  for (const HostState& s : carried_) initial.push_back(FeedIn(g, s));
  const int64_t steps = batcher_.steps(), batch = batcher_.batch();
  CharModel::Output out =
      model_.Run(g, g.Input({steps, batch}, inputs_), initial, &dropout_rng_);
  Expr loss = SoftmaxCrossEntropy(out.logits, g.Input({steps * batch}, targets_));
  TG_RETURN_IF_ERROR(Backward(loss));
  TG_ASSIGN_OR_RETURN(last_loss_, loss.Scalar());
  carried_.clear();
  for (const State& s : out.final) {
    TG_ASSIGN_OR_RETURN(HostState h, CopyOut(s));
    carried_.push_back(std::move(h));
  }
  if (updates_ == 0 && !absl::GetFlag(FLAGS_dot).empty()) {
    // One step of the first layer with its backward: the whole update has thousands of nodes.
    TG_RETURN_IF_ERROR(WriteDot(g, absl::GetFlag(FLAGS_dot), {.title = "char_lm: one step and its backward",
                                                              .only_scope = "l0/step_1"}));
  }
  return FinishUpdate();
}

absl::StatusOr<double> Trainer::Validate() {
  std::optional<WeightAverage::Swapped> averaged;
  if (average_ != nullptr) averaged.emplace(*average_);
  return BitsPerChar(model_, data_.valid, {.streams = absl::GetFlag(FLAGS_valid_streams),
                                           .steps = absl::GetFlag(FLAGS_seq),
                                           .num_threads = absl::GetFlag(FLAGS_threads)});
}

absl::Status Trainer::Checkpoint(const std::string& why) {
  const std::string path = CheckpointPath();
  info_.train_seconds = earlier_seconds_ + train_seconds_;
  TrainingState state{.dropout_rng = dropout_rng_.SaveState(), .last_train_loss = last_loss_};
  if (compiled_.has_value()) {
    state.carried = ranks_.GatherStreams(compiled_->CarriedState());  // every rank's streams
    state.compiled_runs = compiled_->run_count();
  } else if (compile_) {  // no update yet in this run: what it resumed from stays
    state.carried = resumed_.carried;
    state.compiled_runs = resumed_.compiled_runs;
  } else {
    state.carried = carried_;
  }
  return ranks_.OnRoot([&]() -> absl::Status {  // rank 0 writes; its error reaches every rank
    TG_RETURN_IF_ERROR(SaveCharCheckpoint(path, store_, optimizer_, info_, state));
    std::printf("checkpoint (%s): %s at update %lld\n", why.c_str(), path.c_str(),
                static_cast<long long>(updates_));
    return absl::OkStatus();
  });
}

absl::Status Trainer::Record(double valid_bpc) {
  const double seconds = earlier_seconds_ + train_seconds_;
  progress_->Print(absl::StrFormat("update %d  train %.3f  validation %.3f bits/char  (%s of training)",
                                   updates_, ToBits(last_loss_), valid_bpc, FormatDuration(seconds)));
  return curve_->Row({static_cast<double>(updates_), seconds, ToBits(last_loss_), valid_bpc});
}

absl::Status Trainer::Run() {
  curve_path_ = absl::StrCat(absl::GetFlag(FLAGS_out_dir), "/curve.csv");
  updates_ = UpdatesDone(optimizer_);
  const std::vector<std::string> columns = {"update", "train_seconds", "train_bpc", "valid_bpc"};
  TG_RETURN_IF_ERROR(ranks_.OnRoot([&]() -> absl::Status {  // rank 0 alone validates and writes
    TG_ASSIGN_OR_RETURN(CsvWriter curve,
                        absl::GetFlag(FLAGS_resume)
                            ? CsvWriter::Continue(curve_path_, columns, static_cast<double>(updates_))
                            : CsvWriter::Open(curve_path_, columns));
    curve_.emplace(std::move(curve));
    return absl::OkStatus();
  }));
  earlier_seconds_ = info_.train_seconds;
  first_update_ = updates_;
  const double budget = absl::GetFlag(FLAGS_minutes) * 60;
  const int64_t max_updates = absl::GetFlag(FLAGS_max_updates);
  const double checkpoint_every = absl::GetFlag(FLAGS_checkpoint_minutes) * 60;
  const int64_t checkpoint_every_updates = absl::GetFlag(FLAGS_checkpoint_every);
  const int64_t stop_after = absl::GetFlag(FLAGS_stop_after_updates);
  const double base_lr = *absl::GetFlag(FLAGS_lr);  // set by SettleLearningRate
  const bool cosine_lr = absl::GetFlag(FLAGS_lr_decay) == "cosine";
  const double chars_per_update = static_cast<double>(batcher_.steps() * batcher_.batch());
  progress_.emplace(ProgressOptions{.total = max_updates > 0 ? max_updates - first_update_ : 0,
                                    .budget_seconds = budget, .unit = "chars"});
  std::printf("training %s: %lld parameters, vocabulary %lld, %zu training / %zu validation characters\n",
              model_.options().cell.c_str(), static_cast<long long>(store_.num_elements()),
              static_cast<long long>(data_.vocab.size()), data_.train.size(), data_.valid.size());
  // The defaults differ from bench/torch_char_lm.py (PyTorch) in these three; say which are in effect.
  std::printf("Adam at %g, dropout %g; scoring and sampling %s\n", base_lr, model_.options().dropout,
              average_ != nullptr
                  ? absl::StrFormat("the weights' moving average (decay %g)", info_.average_decay).c_str()
                  : "the raw weights");

  double checkpointed_at = 0;  // train_seconds_ at the last checkpoint
  while (train_seconds_ < budget && (max_updates == 0 || updates_ < max_updates)) {
    if (cosine_lr) {
      const double done = max_updates > 0 ? static_cast<double>(updates_) / static_cast<double>(max_updates)
                                           : train_seconds_ / budget;
      optimizer_.set_learning_rate(CosineLr{.base_lr = base_lr, .total_steps = kDecaySteps}.At(
          static_cast<int64_t>(done * kDecaySteps)));
    }
    if (!ranks_.distributed()) interrupted_ = InterruptRequested();
    if (interrupted_) {
      progress_->Finish();
      std::printf("interrupted\n");
      break;
    }
    const double before = train_seconds_;
    running_since_ = Clock::now();
    TG_RETURN_IF_ERROR(Update());
    unclocked_ += SecondsSince(running_since_);
    progress_->Update(updates_ - first_update_, chars_per_update * static_cast<double>(updates_ - first_update_),
                      {{"bits/char", ToBits(last_loss_)}});
    if (ranks_.is_root() &&
        (EvaluateNow(updates_) || PassedMinuteMark(earlier_seconds_ + before, earlier_seconds_ + train_seconds_))) {
      TG_ASSIGN_OR_RETURN(double valid_bpc, Validate());
      TG_RETURN_IF_ERROR(Record(valid_bpc));
    }
    if (train_seconds_ - checkpointed_at >= checkpoint_every ||
        (checkpoint_every_updates > 0 && updates_ % checkpoint_every_updates == 0)) {
      TG_RETURN_IF_ERROR(Checkpoint("periodic"));
      checkpointed_at = train_seconds_;
    }
    if (stop_after > 0 && updates_ >= stop_after) {
      progress_->Finish();
      std::printf("stopped after update %lld without a final checkpoint (--stop_after_updates)\n",
                  static_cast<long long>(updates_));
      return absl::OkStatus();
    }
  }
  progress_->Finish();
  train_seconds_ += unclocked_;  // this rank's own: the decisions are made
  unclocked_ = 0;
  std::printf("trained %lld updates in %.1f s: %.0f chars/s\n", static_cast<long long>(updates_ - first_update_),
              train_seconds_, chars_per_update * static_cast<double>(updates_ - first_update_) / std::max(train_seconds_, 1e-9));
  if (ranks_.distributed()) {
    std::printf("%s\n", ranks_.CommunicationSummary(updates_ - first_update_, train_seconds_).c_str());
  }
  return Finish();
}

absl::Status Trainer::Finish() {
  TG_RETURN_IF_ERROR(Checkpoint(interrupted_ ? "interrupted" : "final"));
  if (!ranks_.is_root()) return absl::OkStatus();  // rank 0 alone scores, plots and samples
  TG_ASSIGN_OR_RETURN(double valid_bpc, Validate());
  if (!EvaluateNow(updates_)) TG_RETURN_IF_ERROR(Record(valid_bpc));

  if (absl::GetFlag(FLAGS_plot)) {
    const std::string png = absl::StrCat(absl::GetFlag(FLAGS_out_dir), "/curve.png");
    TG_RETURN_IF_ERROR(WritePlot({.png = png, .title = absl::StrCat("char_lm: ", model_.options().cell, " on ", absl::GetFlag(FLAGS_data)),
                                  .xlabel = "update", .ylabel = "bits per character",
                                  .series = {{.csv = curve_path_, .x = "update", .y = "train_bpc", .title = "training batch"},
                                             {.csv = curve_path_, .x = "update", .y = "valid_bpc", .title = "validation", .style = "linespoints"}}}));
    std::printf("plot: %s\n", png.c_str());
  }
  if (const int64_t n = absl::GetFlag(FLAGS_sample); n > 0) {
    std::optional<WeightAverage::Swapped> averaged;
    if (average_ != nullptr) averaged.emplace(*average_);
    std::printf("sample (temperature %.2f):\n%s", absl::GetFlag(FLAGS_temperature), absl::GetFlag(FLAGS_prime).c_str());
    TG_ASSIGN_OR_RETURN(std::string text,
                        Sample(model_, data_.vocab, absl::GetFlag(FLAGS_prime),
                               {.length = n, .temperature = absl::GetFlag(FLAGS_temperature),
                                .seed = absl::GetFlag(FLAGS_seed), .num_threads = absl::GetFlag(FLAGS_threads)},
                               [](const std::string& ch) { std::fputs(ch.c_str(), stdout); std::fflush(stdout); }));
    std::printf("\n");
  }
  std::printf("validation: %.3f bits/char\n", valid_bpc);
  const double expect = absl::GetFlag(FLAGS_expect_bpc_below);
  if (expect > 0 && !(valid_bpc < expect)) {
    return absl::FailedPreconditionError(absl::StrFormat("validation %.3f bits/char is not below %.3f", valid_bpc, expect));
  }
  return absl::OkStatus();
}

}  // namespace tg::examples
