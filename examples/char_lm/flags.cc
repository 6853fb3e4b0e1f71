#include "examples/char_lm/flags.h"

#include <algorithm>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "base/flag_checks.h"
#include "examples/char_lm/model.h"

ABSL_FLAG(std::string, data, "data/moby_dick.txt", "UTF-8 text to train on (scripts/fetch_data.sh fetches Moby-Dick)");
ABSL_FLAG(std::string, cell, "lnlstm", "recurrent cell: lstm, gru, rnn (tanh) or lnlstm (layer-normalised LSTM)");
ABSL_FLAG(int, layers, 1, "recurrent layers");
ABSL_FLAG(int64_t, embedding, 64, "embedding size");
ABSL_FLAG(int64_t, hidden, 512, "hidden size of each layer");
// dropout and average are optional so that a resumed run can tell a value the user typed,
// which must match the checkpoint's, from the default (flags.h), which the checkpoint's
// overrides.
ABSL_FLAG(std::optional<double>, dropout, std::nullopt,
          "dropout rate in [0, 1) on the embedding's output, between layers and on the head's "
          "input (torch.nn.Dropout(p) at each; a new mask every update, compiled or not); "
          "default 0.25; 0: none, as bench/torch_char_lm.py trains. A resumed run keeps the "
          "setting of the run it continues");
ABSL_FLAG(double, forget_bias, 0,
          "added to the LSTM forget gate's bias at initialisation (1 as Keras; 0 as PyTorch); "
          "--cell=lstm or lnlstm");
ABSL_FLAG(int64_t, seq, 50, "characters per update and stream (the BPTT horizon)");
ABSL_FLAG(int64_t, batch, 32, "parallel streams per update");
ABSL_FLAG(bool, shift_epochs, false,
          "start every pass after the first 0..seq-1 characters later (pseudo-random), so "
          "truncation points move between passes");
ABSL_FLAG(std::optional<double>, lr, std::nullopt,
          "Adam learning rate (> 0); default 4e-3 (bench/torch_char_lm.py trains at 2e-3). A "
          "resumed run keeps the rate of the run it continues unless --lr is given");
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
ABSL_FLAG(std::string, dot, "", "write the graph of one step of the cell and its backward in Graphviz DOT");
ABSL_FLAG(double, expect_bpc_below, 0,
          "exit with status 1 unless the final validation bits/char is below this (tests; 0: no check)");
ABSL_FLAG(double, deadline_minutes, 5,
          "under mpirun: the longest any rank waits for the others in one collective before it "
          "names the missing ranks and ends the job, > 0 (rank 0's validation must fit in it)");
ABSL_FLAG(int64_t, check_ranks_every, 100,
          "under mpirun: every this many updates check that all ranks hold bitwise the same "
          "weights, ending the job with the differing ranks named, >= 0 (0: never)");

namespace tg::examples {

void CheckFlags(int ranks, int rank) {
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
  if (const std::optional<double> lr = absl::GetFlag(FLAGS_lr)) checks.GreaterThan("lr", *lr, 0);
  if (const std::optional<double> d = absl::GetFlag(FLAGS_dropout)) {
    checks.InRange("dropout", *d, 0, 1, Interval::kClosedOpen);
  }
  if (const std::optional<double> a = absl::GetFlag(FLAGS_average)) {
    checks.InRange("average", *a, 0, 1, Interval::kClosedOpen);
  }
  checks.GreaterThan("deadline_minutes", absl::GetFlag(FLAGS_deadline_minutes), 0)
      .AtLeast("check_ranks_every", absl::GetFlag(FLAGS_check_ranks_every), 0);
  if (ranks > 1) {  // under mpirun: every rank trains batch / ranks streams, compiled
    checks.Require(batch % ranks == 0,
                   absl::StrCat("--batch=", batch, ": ", ranks, " ranks must share the streams "
                                "equally (a multiple of ", ranks, ")"));
    checks.Require(absl::GetFlag(FLAGS_compile),
                   absl::StrCat("--nocompile: ", ranks, " ranks need compiled training"));
  }
  if (replicas > 0 && batch >= ranks) {
    checks.AtMost("replicas", replicas, batch / ranks,
                  ranks == 1 ? absl::StrCat("--batch (", batch, ")")
                             : absl::StrCat("the streams of a rank (--batch / ", ranks, " = ",
                                            batch / ranks, ")"));
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
    checks.FileExists("checkpoint", CheckpointPath());
  } else {  // a resumed run takes the cell from the checkpoint and ignores --forget_bias
    const double forget_bias = absl::GetFlag(FLAGS_forget_bias);
    const std::string cell = absl::GetFlag(FLAGS_cell);
    checks.Require(forget_bias == 0 || TakesForgetBias(cell),
                   absl::StrCat("--forget_bias=", forget_bias,
                                " sets the LSTM's forget gate, but --cell=", cell,
                                " has none (it applies to --cell=lstm and lnlstm)"));
  }
  // Under mpirun every rank finds the same faults: rank 0 alone says so.
  if (rank != 0 && !checks.violations().empty()) std::exit(2);
  checks.ExitIfAny();
}

int Replicas(int64_t streams) {
  const int replicas = absl::GetFlag(FLAGS_replicas);
  if (replicas > 0) return replicas;
  return static_cast<int>(std::clamp<int64_t>(absl::GetFlag(FLAGS_threads), 1, streams));
}

std::string CheckpointPath() {
  const std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  return checkpoint.empty() ? absl::StrCat(absl::GetFlag(FLAGS_out_dir), "/char_lm.safetensors")
                            : checkpoint;
}

}  // namespace tg::examples
