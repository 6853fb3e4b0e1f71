// char_lm: a character-level language model trained on any UTF-8 text (Moby-Dick by
// default), with truncated BPTT across batches, validation bits per character on the held-out
// tail, checkpoints (periodic and on Ctrl-C), --resume and temperature sampling.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numbers>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "autodiff/backward.h"
#include "examples/char_lm/batches.h"
#include "examples/char_lm/char_checkpoint.h"
#include "examples/char_lm/compiled_update.h"
#include "examples/char_lm/evaluate.h"
#include "examples/char_lm/model.h"
#include "examples/char_lm/run_info.h"
#include "examples/common/csv_writer.h"
#include "examples/common/flags.h"
#include "examples/common/interrupt.h"
#include "examples/common/plot.h"
#include "examples/common/progress.h"
#include "examples/common/text_data.h"
#include "graph/dot.h"
#include "base/flag_checks.h"
#include "base/status_macros.h"
#include "models/lr_schedule.h"
#include "models/optimizers.h"
#include "models/unroll.h"
#include "models/weight_average.h"
#include "ops/ops.h"

ABSL_FLAG(std::string, data, "data/moby_dick.txt", "UTF-8 text to train on (scripts/fetch_data.sh fetches Moby-Dick)");
ABSL_FLAG(std::string, cell, "lstm", "recurrent cell: lstm, gru, rnn (tanh) or lnlstm (layer-normalised LSTM)");
ABSL_FLAG(int, layers, 1, "recurrent layers");
ABSL_FLAG(int64_t, embedding, 64, "embedding size");
ABSL_FLAG(int64_t, hidden, 256, "hidden size of each layer");
// dropout and average are optional so that a resumed run can tell a value the user typed,
// which must match the checkpoint's, from the default, which the checkpoint's overrides.
constexpr double kDefaultDropout = 0.1;
constexpr double kDefaultAverage = 0.997;
ABSL_FLAG(std::optional<double>, dropout, std::nullopt,
          "dropout rate in [0, 1) on the embedding's output, between layers and on the head's "
          "input (torch.nn.Dropout(p) at each; a new mask every update, compiled or not); "
          "default 0.1; 0: none, as bench/torch_char_lm.py trains. A resumed run keeps the "
          "setting of the run it continues");
ABSL_FLAG(double, forget_bias, 0,
          "added to the LSTM forget gate's bias at initialisation (1 as Keras; 0 as PyTorch); --cell=lstm only");
ABSL_FLAG(int64_t, seq, 100, "characters per update and stream (the BPTT horizon)");
ABSL_FLAG(int64_t, batch, 32, "parallel streams per update");
ABSL_FLAG(bool, shift_epochs, false,
          "start every pass after the first 0..seq-1 characters later (pseudo-random), so "
          "truncation points move between passes");
ABSL_FLAG(double, lr, 2e-3, "Adam learning rate (> 0)");
ABSL_FLAG(double, clip, 5,
          "global gradient-norm clipping threshold (> 0; max_norm of "
          "torch.nn.utils.clip_grad_norm_)");
ABSL_FLAG(std::string, lr_decay, "none",
          "none: constant --lr, as bench/torch_char_lm.py trains; cosine: anneal --lr to 0 over "
          "--max_updates, or over --minutes of training when --max_updates is 0 "
          "(torch.optim.lr_scheduler.CosineAnnealingLR with eta_min=0)");
ABSL_FLAG(std::optional<double>, average, std::nullopt,
          "score validation and sample with an exponential moving average of the weights of "
          "this decay, in [0, 1); default 0.997 (about the last 330 updates, fewer early on); "
          "0: the raw weights, as bench/torch_char_lm.py scores. A resumed run keeps the "
          "setting of the run it continues");
ABSL_FLAG(int, threads, 2, "threads for matrix products (at least 1)");
ABSL_FLAG(int, replicas, 0,
          "compiled training: split each batch's streams into this many slices that run at "
          "once, one thread each, their gradients summed (data parallelism: the same update, "
          "without syncing the threads at every op); 0: as many as --threads; 1: every op "
          "split over --threads instead; at most --batch");
ABSL_FLAG(int64_t, recompute_every, 0,
          "compiled training: keep the recurrent state only every this many steps and recompute "
          "the steps between during backward (activation checkpointing; near sqrt(--seq) keeps "
          "the least memory); 0: keep every step's values. Less than --seq");
ABSL_FLAG(bool, compile, true,
          "record one update, compile it (time batching, memory plan) and replay it; "
          "--nocompile runs every update eagerly");
ABSL_FLAG(double, minutes, 3, "training time budget in minutes (evaluation and checkpoints not counted; 0: no training, "
          "only scoring and sampling)");
ABSL_FLAG(int64_t, max_updates, 0, "stop after this many updates in all (0: no limit; --minutes still applies)");
ABSL_FLAG(int64_t, eval_every, 500, "updates between validation scores (0: only at the end)");
ABSL_FLAG(std::vector<std::string>, eval_at, {}, "also score validation after these update counts, e.g. 638,1050,2623,4846");
ABSL_FLAG(std::vector<std::string>, eval_at_minutes, {}, "also score validation when training time passes these minutes, e.g. 1,2,5");
ABSL_FLAG(double, valid_fraction, 0.1, "the text's tail held out for validation, in (0, 1)");
ABSL_FLAG(int64_t, valid_streams, 1, "score the held-out text as this many contiguous streams (1: one stream)");
ABSL_FLAG(std::string, checkpoint, "", "checkpoint file (default <out_dir>/char_lm.safetensors)");
ABSL_FLAG(double, checkpoint_minutes, 5, "minutes between checkpoints, > 0 (one is also written at the end and on Ctrl-C)");
ABSL_FLAG(int64_t, checkpoint_every, 0,
          "also write a checkpoint after every this many updates in all, >= 0 (0: only by "
          "--checkpoint_minutes)");
ABSL_FLAG(int64_t, stop_after_updates, 0,
          "for tests of --resume: end after this many updates in all without a final checkpoint or "
          "score, as if the process were killed there, >= 0 (0: off)");
ABSL_FLAG(bool, resume, false, "continue from --checkpoint (model shape and vocabulary come from it)");
ABSL_FLAG(int64_t, sample, 300, "characters to sample at the end (0: none)");
ABSL_FLAG(std::string, prime, "Call me", "text the sample starts from");
ABSL_FLAG(double, temperature, 0.8, "sampling temperature (> 0; lower is more conservative)");
ABSL_FLAG(uint64_t, seed, 1, "seed for initialisation and sampling");
ABSL_FLAG(std::string, out_dir, "results/char_lm", "where the CSV learning curve, plots and checkpoint go");
ABSL_FLAG(bool, plot, false, "write the learning curve as a PNG (needs gnuplot)");
ABSL_FLAG(std::string, dot, "", "write the graph of one LSTM step and its backward in Graphviz DOT");
ABSL_FLAG(double, expect_bpc_below, 0,
          "exit with status 1 unless the final validation bits/char is below this (tests; 0: no check)");

namespace tg::examples {
namespace {

// --lr_decay=cosine over a time budget: the fraction of the budget spent, in these steps.
constexpr int64_t kDecaySteps = 1'000'000;

struct Data {
  CharVocab vocab;
  std::vector<int32_t> train, valid;
};

absl::StatusOr<Data> LoadData(const std::string& path, const std::string& saved_vocab) {
  TG_ASSIGN_OR_RETURN(std::string text, LoadUtf8Text(path));
  Data data;
  if (saved_vocab.empty()) {
    data.vocab = CharVocab::FromText(text);
  } else {
    TG_ASSIGN_OR_RETURN(data.vocab, CharVocab::Deserialize(saved_vocab));
  }
  TG_ASSIGN_OR_RETURN(std::vector<int32_t> ids, data.vocab.Encode(text));
  const double fraction = absl::GetFlag(FLAGS_valid_fraction);
  const auto split = static_cast<size_t>(static_cast<double>(ids.size()) * (1 - fraction));
  data.train.assign(ids.begin(), ids.begin() + split);
  data.valid.assign(ids.begin() + split, ids.end());
  const int64_t need = absl::GetFlag(FLAGS_batch) * absl::GetFlag(FLAGS_seq) + 1;
  if (static_cast<int64_t>(data.train.size()) < need || data.valid.size() < 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s' is too short: %d training characters for batch x seq = %d, %d held out", path,
        data.train.size(), need, data.valid.size()));
  }
  return data;
}

// The optimizer's step count, which a checkpoint restores: the number of updates done.
int64_t UpdatesDone(Optimizer& optimizer) {
  for (auto& [name, tensor] : optimizer.StateTensors()) {
    if (name == "optimizer.step") return static_cast<int64_t>(*tensor.data<double>());
  }
  return 0;
}

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

// --replicas, or by default one per thread but never more than the batch has streams.
int Replicas() {
  const int replicas = absl::GetFlag(FLAGS_replicas);
  if (replicas > 0) return replicas;
  return static_cast<int>(std::clamp<int64_t>(absl::GetFlag(FLAGS_threads), 1, absl::GetFlag(FLAGS_batch)));
}

class Trainer {
 public:
  // `optimizer` is `average` when weights are averaged (it wraps the Adam), else the Adam.
  // `resumed`: what the checkpoint this run continues carried (default: a new run).
  Trainer(const Data& data, CharModel model, ParameterStore& store, Optimizer& optimizer,
          WeightAverage* average, RunInfo info, TrainingState resumed)
      : data_(data), model_(std::move(model)), store_(store), optimizer_(optimizer),
        average_(average), info_(std::move(info)), resumed_(std::move(resumed)),
        batcher_(data.train, {.batch = absl::GetFlag(FLAGS_batch),
                              .steps = absl::GetFlag(FLAGS_seq),
                              .shift_epochs = absl::GetFlag(FLAGS_shift_epochs),
                              .seed = absl::GetFlag(FLAGS_seed)}),
        graph_({.exec = {.num_threads = absl::GetFlag(FLAGS_threads)}}),
        carried_(resumed_.carried),
        dropout_rng_(DropoutSeed()),
        compile_(absl::GetFlag(FLAGS_compile)),
        last_loss_(resumed_.last_train_loss) {
    // Checked by Main: a saved position restores.
    if (!resumed_.dropout_rng.empty()) dropout_rng_.RestoreState(resumed_.dropout_rng);
  }

  absl::Status Run();

 private:
  absl::Status Update();
  absl::Status UpdateEagerly();
  absl::Status UpdateCompiled();
  absl::Status FinishUpdate();  // clip, step, zero the gradients
  absl::StatusOr<double> Validate();
  absl::Status Checkpoint(const std::string& why);
  static uint64_t DropoutSeed() { return absl::GetFlag(FLAGS_seed) + 1; }

  const Data& data_;
  CharModel model_;
  ParameterStore& store_;
  Optimizer& optimizer_;
  WeightAverage* average_;  // null: validation and samples use the raw weights
  RunInfo info_;
  TrainingState resumed_;
  StreamBatcher batcher_;
  Graph graph_;
  std::vector<HostState> carried_;  // eager: the state carried into the next chunk
  Rng dropout_rng_;
  bool compile_;
  std::optional<CompiledUpdate> compiled_;
  std::vector<int32_t> inputs_, targets_;
  int64_t updates_ = 0;
  double last_loss_;
  double train_seconds_ = 0;  // this run's training time, excluding validation and checkpoints
  double earlier_seconds_ = 0;  // training time of the runs this one resumed
};

absl::Status Trainer::Update() {
  return compile_ ? UpdateCompiled() : UpdateEagerly();
}

absl::Status Trainer::FinishUpdate() {
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
    TG_ASSIGN_OR_RETURN(compiled_, CompiledUpdate::Create(model_, batcher_.steps(), batcher_.batch(),
                                                          absl::GetFlag(FLAGS_threads),
                                                          Replicas(),
                                                          absl::GetFlag(FLAGS_recompute_every),
                                                          absl::GetFlag(FLAGS_dot), recording_rng));
    if (!resumed_.carried.empty()) TG_RETURN_IF_ERROR(compiled_->SetCarriedState(resumed_.carried));
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
  const std::string& path = absl::GetFlag(FLAGS_checkpoint);
  info_.train_seconds = earlier_seconds_ + train_seconds_;
  TrainingState state{.dropout_rng = dropout_rng_.SaveState(), .last_train_loss = last_loss_};
  if (compiled_.has_value()) {
    state.carried = compiled_->CarriedState();
    state.compiled_runs = compiled_->run_count();
  } else if (compile_) {  // no update yet in this run: what it resumed from stays
    state.carried = resumed_.carried;
    state.compiled_runs = resumed_.compiled_runs;
  } else {
    state.carried = carried_;
  }
  TG_RETURN_IF_ERROR(SaveCharCheckpoint(path, store_, optimizer_, info_, state));
  std::printf("checkpoint (%s): %s at update %lld\n", why.c_str(), path.c_str(),
              static_cast<long long>(updates_));
  return absl::OkStatus();
}

absl::Status Trainer::Run() {
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  const std::string curve_path = absl::StrCat(out_dir, "/curve.csv");
  updates_ = UpdatesDone(optimizer_);
  const std::vector<std::string> columns = {"update", "train_seconds", "train_bpc", "valid_bpc"};
  TG_ASSIGN_OR_RETURN(CsvWriter curve,
                      absl::GetFlag(FLAGS_resume)
                          ? CsvWriter::Continue(curve_path, columns, static_cast<double>(updates_))
                          : CsvWriter::Open(curve_path, columns));
  earlier_seconds_ = info_.train_seconds;
  const int64_t first_update = updates_;
  const double budget = absl::GetFlag(FLAGS_minutes) * 60;
  const int64_t max_updates = absl::GetFlag(FLAGS_max_updates);
  const double checkpoint_every = absl::GetFlag(FLAGS_checkpoint_minutes) * 60;
  const int64_t checkpoint_every_updates = absl::GetFlag(FLAGS_checkpoint_every);
  const int64_t stop_after = absl::GetFlag(FLAGS_stop_after_updates);
  const double chars_per_update = static_cast<double>(batcher_.steps() * batcher_.batch());
  Progress progress({.total = max_updates > 0 ? max_updates - first_update : 0,
                     .budget_seconds = budget, .unit = "chars"});
  std::printf("training %s: %lld parameters, vocabulary %lld, %zu training / %zu validation characters\n",
              model_.options().cell.c_str(), static_cast<long long>(store_.num_elements()),
              static_cast<long long>(data_.vocab.size()), data_.train.size(), data_.valid.size());
  // The defaults differ from bench/torch_char_lm.py (PyTorch) in these two; say which are in effect.
  std::printf("dropout %g; scoring and sampling %s\n", model_.options().dropout,
              average_ != nullptr
                  ? absl::StrFormat("the weights' moving average (decay %g)", info_.average_decay).c_str()
                  : "the raw weights");
  auto record = [&](double valid_bpc) -> absl::Status {
    const double seconds = earlier_seconds_ + train_seconds_;
    progress.Print(absl::StrFormat("update %d  train %.3f  validation %.3f bits/char  (%s of training)",
                                   updates_, ToBits(last_loss_), valid_bpc, FormatDuration(seconds)));
    return curve.Row({static_cast<double>(updates_), seconds, ToBits(last_loss_), valid_bpc});
  };

  double since_checkpoint = 0;
  while (train_seconds_ < budget && (max_updates == 0 || updates_ < max_updates)) {
    if (absl::GetFlag(FLAGS_lr_decay) == "cosine") {
      const double done = max_updates > 0 ? static_cast<double>(updates_) / static_cast<double>(max_updates)
                                           : train_seconds_ / budget;
      optimizer_.set_learning_rate(CosineLr{.base_lr = absl::GetFlag(FLAGS_lr), .total_steps = kDecaySteps}.At(
          static_cast<int64_t>(done * kDecaySteps)));
    }
    if (InterruptRequested()) {
      progress.Finish();
      std::printf("interrupted\n");
      break;
    }
    const auto start = std::chrono::steady_clock::now();
    TG_RETURN_IF_ERROR(Update());
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    train_seconds_ += took;
    since_checkpoint += took;
    progress.Update(updates_ - first_update, chars_per_update * static_cast<double>(updates_ - first_update),
                    {{"bits/char", ToBits(last_loss_)}});
    if (EvaluateNow(updates_) || PassedMinuteMark(earlier_seconds_ + train_seconds_ - took, earlier_seconds_ + train_seconds_)) {
      TG_ASSIGN_OR_RETURN(double valid_bpc, Validate());
      TG_RETURN_IF_ERROR(record(valid_bpc));
    }
    if (since_checkpoint >= checkpoint_every ||
        (checkpoint_every_updates > 0 && updates_ % checkpoint_every_updates == 0)) {
      TG_RETURN_IF_ERROR(Checkpoint("periodic"));
      since_checkpoint = 0;
    }
    if (stop_after > 0 && updates_ >= stop_after) {
      progress.Finish();
      std::printf("stopped after update %lld without a final checkpoint (--stop_after_updates)\n",
                  static_cast<long long>(updates_));
      return absl::OkStatus();
    }
  }
  progress.Finish();
  const double run_seconds = train_seconds_;
  std::printf("trained %lld updates in %.1f s: %.0f chars/s\n", static_cast<long long>(updates_ - first_update),
              run_seconds, chars_per_update * static_cast<double>(updates_ - first_update) / std::max(run_seconds, 1e-9));
  TG_RETURN_IF_ERROR(Checkpoint(InterruptRequested() ? "interrupted" : "final"));
  TG_ASSIGN_OR_RETURN(double valid_bpc, Validate());
  if (!EvaluateNow(updates_)) TG_RETURN_IF_ERROR(record(valid_bpc));

  if (absl::GetFlag(FLAGS_plot)) {
    const std::string png = absl::StrCat(out_dir, "/curve.png");
    TG_RETURN_IF_ERROR(WritePlot({.png = png, .title = absl::StrCat("char_lm: ", model_.options().cell, " on ", absl::GetFlag(FLAGS_data)),
                                  .xlabel = "update", .ylabel = "bits per character",
                                  .series = {{.csv = curve_path, .x = "update", .y = "train_bpc", .title = "training batch"},
                                             {.csv = curve_path, .x = "update", .y = "valid_bpc", .title = "validation", .style = "linespoints"}}}));
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

// A resumed run keeps how it was trained and scored: a value given anew that differs is
// refused rather than silently ignored.
absl::Status RefuseChangeOnResume(const char* name, std::optional<double> asked, double saved,
                                  const std::string& checkpoint) {
  if (!asked.has_value() || *asked == saved) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "--%s=%g, but '%s' was trained with --%s=%g (a resumed run keeps it)", name, *asked,
      checkpoint, name, saved));
}

// Every flag's value, checked before anything is read or written: a bad one ends the program
// with status 2 and one line naming it (base/flag_checks.h).
void CheckFlags() {
  FlagChecks checks("char_lm");
  const int64_t batch = absl::GetFlag(FLAGS_batch);
  const int replicas = absl::GetFlag(FLAGS_replicas);
  checks.FileExists("data", absl::GetFlag(FLAGS_data))
      .OneOf("cell", absl::GetFlag(FLAGS_cell), {"lstm", "gru", "rnn", "lnlstm"})
      .AtLeast("layers", absl::GetFlag(FLAGS_layers), 1)
      .AtLeast("embedding", absl::GetFlag(FLAGS_embedding), 1)
      .AtLeast("hidden", absl::GetFlag(FLAGS_hidden), 1)
      .Finite("forget_bias", absl::GetFlag(FLAGS_forget_bias))
      .AtLeast("seq", absl::GetFlag(FLAGS_seq), 1)
      .AtLeast("batch", batch, 1)
      .GreaterThan("lr", absl::GetFlag(FLAGS_lr), 0)
      .GreaterThan("clip", absl::GetFlag(FLAGS_clip), 0)
      .OneOf("lr_decay", absl::GetFlag(FLAGS_lr_decay), {"none", "cosine"})
      .AtLeast("threads", absl::GetFlag(FLAGS_threads), 1)
      .AtLeast("replicas", replicas, 0)
      .AtLeast("minutes", absl::GetFlag(FLAGS_minutes), 0)
      .AtLeast("max_updates", absl::GetFlag(FLAGS_max_updates), 0)
      .AtLeast("eval_every", absl::GetFlag(FLAGS_eval_every), 0)
      .EachAtLeast("eval_at", absl::GetFlag(FLAGS_eval_at), 1)
      .EachGreaterThan("eval_at_minutes", absl::GetFlag(FLAGS_eval_at_minutes), 0)
      .InRange("valid_fraction", absl::GetFlag(FLAGS_valid_fraction), 0, 1, Interval::kOpen)
      .AtLeast("valid_streams", absl::GetFlag(FLAGS_valid_streams), 1)
      .GreaterThan("checkpoint_minutes", absl::GetFlag(FLAGS_checkpoint_minutes), 0)
      .AtLeast("checkpoint_every", absl::GetFlag(FLAGS_checkpoint_every), 0)
      .AtLeast("stop_after_updates", absl::GetFlag(FLAGS_stop_after_updates), 0)
      .AtLeast("sample", absl::GetFlag(FLAGS_sample), 0)
      .GreaterThan("temperature", absl::GetFlag(FLAGS_temperature), 0)
      .AtLeast("expect_bpc_below", absl::GetFlag(FLAGS_expect_bpc_below), 0);
  if (const std::optional<double> d = absl::GetFlag(FLAGS_dropout)) {
    checks.InRange("dropout", *d, 0, 1, Interval::kClosedOpen);
  }
  if (const std::optional<double> a = absl::GetFlag(FLAGS_average)) {
    checks.InRange("average", *a, 0, 1, Interval::kClosedOpen);
  }
  if (replicas > 0 && batch >= 1) {
    checks.AtMost("replicas", replicas, batch, absl::StrCat("--batch (", batch, ")"));
  }
  const int64_t recompute_every = absl::GetFlag(FLAGS_recompute_every);
  checks.AtLeast("recompute_every", recompute_every, int64_t{0});
  if (recompute_every > 0 && absl::GetFlag(FLAGS_seq) > 1) {
    checks.AtMost("recompute_every", recompute_every, absl::GetFlag(FLAGS_seq) - 1,
                  absl::StrCat("--seq minus one (", absl::GetFlag(FLAGS_seq) - 1, ")"));
  }
  checks.Require(absl::GetFlag(FLAGS_compile) || recompute_every == 0,
                 absl::StrCat("--recompute_every needs compiled training (drop --nocompile), "
                              "not --recompute_every=", recompute_every));
  checks.Require(absl::GetFlag(FLAGS_compile) || replicas <= 1,
                 absl::StrCat("--replicas needs compiled training (drop --nocompile, or give "
                              "--replicas=1 or 0), not --replicas=", replicas));
  if (absl::GetFlag(FLAGS_resume)) {
    std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
    if (checkpoint.empty()) checkpoint = absl::StrCat(absl::GetFlag(FLAGS_out_dir), "/char_lm.safetensors");
    checks.FileExists("checkpoint", checkpoint);
  } else {  // a resumed run takes the cell from the checkpoint and ignores --forget_bias
    const double forget_bias = absl::GetFlag(FLAGS_forget_bias);
    const std::string cell = absl::GetFlag(FLAGS_cell);
    checks.Require(forget_bias == 0 || cell == "lstm",
                   absl::StrCat("--forget_bias=", forget_bias,
                                " sets the LSTM's forget gate, but --cell=", cell,
                                " has none (it applies to --cell=lstm only)"));
  }
  checks.ExitIfAny();
}

// Whether the state a checkpoint carries fits this run; carried state of streams that other
// flags cut differently is dropped, with a note.
absl::Status CheckResumedState(TrainingState& resumed, const CharModel& model,
                               const std::map<std::string, std::string>& saved_flags,
                               const std::string& checkpoint) {
  if (!resumed.dropout_rng.empty() && !Rng(0).RestoreState(resumed.dropout_rng)) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint '", checkpoint,
                                                   "': metadata 'char_lm.dropout_rng' is not a "
                                                   "random stream position"));
  }
  if (const std::vector<std::string> changed = ChangedStreamFlags(saved_flags);
      !changed.empty() && !resumed.carried.empty()) {
    std::printf("%s: every stream starts from zero state\n", absl::StrJoin(changed, ", ").c_str());
    resumed.carried.clear();
  }
  Graph scratch;
  return CheckCarriedState(resumed.carried, model.ZeroState(scratch, absl::GetFlag(FLAGS_batch)),
                           checkpoint);
}

absl::Status Main() {
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot create --out_dir '", out_dir, "': ", ec.message()));
  if (absl::GetFlag(FLAGS_checkpoint).empty()) {
    absl::SetFlag(&FLAGS_checkpoint, absl::StrCat(out_dir, "/char_lm.safetensors"));
  }
  const std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  RunInfo info;
  if (absl::GetFlag(FLAGS_resume)) {
    TG_ASSIGN_OR_RETURN(info, LoadRunInfo(checkpoint));
    TG_RETURN_IF_ERROR(RefuseChangeOnResume("average", absl::GetFlag(FLAGS_average),
                                            info.average_decay, checkpoint));
    TG_RETURN_IF_ERROR(RefuseChangeOnResume("dropout", absl::GetFlag(FLAGS_dropout),
                                            info.model.dropout, checkpoint));
  } else {
    info.model = {.cell = absl::GetFlag(FLAGS_cell), .num_layers = absl::GetFlag(FLAGS_layers),
                  .embedding_dim = absl::GetFlag(FLAGS_embedding), .hidden_size = absl::GetFlag(FLAGS_hidden),
                  .dropout = absl::GetFlag(FLAGS_dropout).value_or(kDefaultDropout),
                  .forget_bias = absl::GetFlag(FLAGS_forget_bias)};
    info.average_decay = absl::GetFlag(FLAGS_average).value_or(kDefaultAverage);
  }
  TG_ASSIGN_OR_RETURN(Data data, LoadData(absl::GetFlag(FLAGS_data), info.vocab));
  // The prime's characters are known only now; refuse a foreign one before training, not after.
  if (const std::string prime = absl::GetFlag(FLAGS_prime); absl::GetFlag(FLAGS_sample) > 0) {
    if (absl::Status s = data.vocab.Encode(prime).status(); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--prime=", prime, ": ", s.message()));
    }
  }
  info.vocab = data.vocab.Serialize();
  info.model.vocab_size = data.vocab.size();
  const std::map<std::string, std::string> saved_flags = std::exchange(info.flags, TrainingFlags());

  ParameterStore store({.seed = absl::GetFlag(FLAGS_seed)});
  TG_ASSIGN_OR_RETURN(CharModel model, CharModel::Create(store, info.model));
  TG_ASSIGN_OR_RETURN(Adam adam, Adam::Create(store, {.learning_rate = absl::GetFlag(FLAGS_lr)}));
  std::optional<WeightAverage> average;
  if (info.average_decay > 0) {
    TG_RETURN_IF_ERROR(WeightAverage::Validate({.decay = info.average_decay}));
    average.emplace(store, adam, WeightAverageOptions{.decay = info.average_decay});
  }
  Optimizer& optimizer = average.has_value() ? static_cast<Optimizer&>(*average) : adam;
  TrainingState resumed;
  if (absl::GetFlag(FLAGS_resume)) {
    TG_ASSIGN_OR_RETURN(resumed, LoadCharCheckpoint(checkpoint, store, optimizer));
    std::printf("resumed from %s at update %lld (%s of training so far)\n", checkpoint.c_str(),
                static_cast<long long>(UpdatesDone(optimizer)), FormatDuration(info.train_seconds).c_str());
    TG_RETURN_IF_ERROR(CheckResumedState(resumed, model, saved_flags, checkpoint));
  }
  Trainer trainer(data, std::move(model), store, optimizer, average.has_value() ? &*average : nullptr,
                  std::move(info), std::move(resumed));
  return trainer.Run();
}

}  // namespace
}  // namespace tg::examples

int main(int argc, char** argv) {
  tg::examples::ParseFlags(argc, argv, "char_lm",
      "trains a character-level language model on UTF-8 text and samples from it.\n"
      "  scripts/fetch_data.sh && build/examples/char_lm --minutes=10\n"
      "  build/examples/char_lm --dropout=0 --average=0    # bench/torch_char_lm.py's model exactly\n"
      "  build/examples/char_lm --resume --minutes=5        # continue from the checkpoint\n"
      "  build/examples/char_lm --resume --minutes=0 --sample=500 --prime=\"Call me\"   # sample only");
  tg::examples::CheckFlags();
  tg::examples::InstallInterruptHandler();
  if (absl::Status s = tg::examples::Main(); !s.ok()) {
    std::fprintf(stderr, "char_lm: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
