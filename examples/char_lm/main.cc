// char_lm: a character-level language model trained on any UTF-8 text (Moby-Dick by
// default), with truncated BPTT across batches, validation bits per character on the held-out
// tail, checkpoints (periodic and on Ctrl-C), --resume and temperature sampling.
//
// Under mpirun it trains on N ranks (distributed.h, docs/distributed.md).
//
// flags.h: the flags and their check; run_setup.h: the text, the run info and the resumed
// state; trainer.h: the training loop; compiled_update.h: one compiled update;
// char_checkpoint.h: the checkpoint file; distributed.h: the ranks.
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "examples/char_lm/char_checkpoint.h"
#include "examples/char_lm/distributed.h"
#include "examples/char_lm/flags.h"
#include "examples/char_lm/model.h"
#include "examples/char_lm/run_info.h"
#include "examples/char_lm/run_setup.h"
#include "examples/char_lm/trainer.h"
#include "examples/common/flags.h"
#include "examples/common/interrupt.h"
#include "examples/common/progress.h"
#include "graph/graph.h"
#include "models/optimizers.h"
#include "models/weight_average.h"

namespace tg::examples {
namespace {

absl::Status Main(Ranks& ranks) {
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot create --out_dir '", out_dir, "': ", ec.message()));
  const std::string checkpoint = CheckpointPath();
  const bool resume = absl::GetFlag(FLAGS_resume);
  RunInfo info;
  if (resume) {
    TG_ASSIGN_OR_RETURN(info, ranks.LoadRunInfo(checkpoint));  // rank 0 reads it
    TG_RETURN_IF_ERROR(RefuseChangedSettings(info, checkpoint));
  } else {
    info = NewRunInfo();
  }
  TG_ASSIGN_OR_RETURN(Data data, LoadData(absl::GetFlag(FLAGS_data), info.vocab));
  // The prime's characters are known only now; refuse a foreign one before training, not after.
  // The default prime is English: a text without its characters samples from its own start.
  if (const std::string prime = absl::GetFlag(FLAGS_prime); absl::GetFlag(FLAGS_sample) > 0) {
    if (absl::Status s = data.vocab.Encode(prime).status(); !s.ok()) {
      if (prime != absl::FindCommandLineFlag("prime")->DefaultValue()) {
        return absl::InvalidArgumentError(absl::StrCat("--prime=", prime, ": ", s.message()));
      }
      std::printf("the default --prime=\"%s\" is not in this text's characters (%s): "
                  "sampling without a prime\n",
                  prime.c_str(), std::string(s.message()).c_str());
      absl::SetFlag(&FLAGS_prime, "");
    }
  }
  SettleLearningRate(resume ? info.flags : std::map<std::string, std::string>{});
  info.vocab = data.vocab.Serialize();
  info.model.vocab_size = data.vocab.size();
  const std::map<std::string, std::string> saved_flags = std::exchange(info.flags, TrainingFlags());

  ParameterStore store({.seed = absl::GetFlag(FLAGS_seed)});
  TG_ASSIGN_OR_RETURN(CharModel model, CharModel::Create(store, info.model));
  TG_ASSIGN_OR_RETURN(Adam adam, Adam::Create(store, {.learning_rate = *absl::GetFlag(FLAGS_lr)}));
  std::optional<WeightAverage> average;
  if (info.average_decay > 0) {
    TG_RETURN_IF_ERROR(WeightAverage::Validate({.decay = info.average_decay}));
    average.emplace(store, adam, WeightAverageOptions{.decay = info.average_decay});
  }
  Optimizer& optimizer = average.has_value() ? static_cast<Optimizer&>(*average) : adam;
  TrainingState resumed;
  if (resume) {
    TG_RETURN_IF_ERROR(ranks.OnRoot([&]() -> absl::Status {  // rank 0 reads the checkpoint
      TG_ASSIGN_OR_RETURN(resumed, LoadCharCheckpoint(checkpoint, store, optimizer));
      std::printf("resumed from %s at update %lld (%s of training so far)\n", checkpoint.c_str(),
                  static_cast<long long>(UpdatesDone(optimizer)), FormatDuration(info.train_seconds).c_str());
      return CheckResumedState(resumed, model, saved_flags, checkpoint);
    }));
  }
  // On N ranks every rank continues from rank 0's weights, optimizer state and training state.
  TG_RETURN_IF_ERROR(ranks.ShareModel(store, optimizer));
  if (resume) {
    Graph scratch;
    TG_RETURN_IF_ERROR(ranks.ShareTrainingState(resumed, model.ZeroState(scratch, absl::GetFlag(FLAGS_batch))));
  }
  Trainer trainer(data, std::move(model), store, optimizer, average.has_value() ? &*average : nullptr,
                  std::move(info), std::move(resumed), ranks);
  return trainer.Run();
}

}  // namespace
}  // namespace tg::examples

int main(int argc, char** argv) {
  tg::examples::ParseFlags(argc, argv, "char_lm",
      "trains a character-level language model on UTF-8 text and samples from it.\n"
      "  scripts/fetch_data.sh && build/examples/char_lm --minutes=10\n"
      "  build/examples/char_lm --cell=lstm --hidden=256 --seq=100 --dropout=0 --average=0 --lr=2e-3\n"
      "      # bench/torch_char_lm.py's model and training exactly\n"
      "  build/examples/char_lm --resume --minutes=5        # continue from the checkpoint\n"
      "  build/examples/char_lm --resume --minutes=0 --sample=500 --prime=\"Call me\"   # sample only");
  tg::examples::CheckFlags(tg::examples::LaunchedRanks(), tg::examples::LaunchedRank());
  tg::examples::InstallInterruptHandler();
  // Under mpirun: one rank of N (examples/char_lm/distributed.h); otherwise no MPI at all.
  absl::StatusOr<std::unique_ptr<tg::examples::Ranks>> ranks = tg::examples::Ranks::Start(&argc, &argv);
  if (!ranks.ok()) {
    std::fprintf(stderr, "char_lm: %s\n", std::string(ranks.status().message()).c_str());
    return 1;
  }
  // On N ranks a failing rank ends the job: the others would wait for it.
  if (absl::Status s = tg::examples::Main(**ranks); !s.ok()) (*ranks)->Abort(s);
  return 0;
}
