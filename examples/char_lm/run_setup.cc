#include "examples/char_lm/run_setup.h"

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/random.h"
#include "base/status_macros.h"
#include "examples/char_lm/flags.h"
#include "graph/graph.h"

namespace tg::examples {
namespace {

absl::Status RefuseChange(const char* name, std::optional<double> asked, double saved,
                          const std::string& checkpoint) {
  if (!asked.has_value() || *asked == saved) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "--%s=%g, but '%s' was trained with --%s=%g (a resumed run keeps it)", name, *asked,
      checkpoint, name, saved));
}

}  // namespace

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

RunInfo NewRunInfo() {
  RunInfo info;
  info.model = {.cell = absl::GetFlag(FLAGS_cell), .num_layers = absl::GetFlag(FLAGS_layers),
                .embedding_dim = absl::GetFlag(FLAGS_embedding), .hidden_size = absl::GetFlag(FLAGS_hidden),
                .dropout = absl::GetFlag(FLAGS_dropout).value_or(kDefaultDropout),
                .forget_bias = absl::GetFlag(FLAGS_forget_bias)};
  info.average_decay = absl::GetFlag(FLAGS_average).value_or(kDefaultAverage);
  return info;
}

absl::Status RefuseChangedSettings(const RunInfo& info, const std::string& checkpoint) {
  TG_RETURN_IF_ERROR(RefuseChange("average", absl::GetFlag(FLAGS_average), info.average_decay, checkpoint));
  return RefuseChange("dropout", absl::GetFlag(FLAGS_dropout), info.model.dropout, checkpoint);
}

void SettleLearningRate(const std::map<std::string, std::string>& saved_flags) {
  if (absl::GetFlag(FLAGS_lr).has_value()) return;
  double lr = kDefaultLr;
  if (auto saved = saved_flags.find("lr"); saved != saved_flags.end()) {
    double recorded = 0;
    if (absl::SimpleAtod(saved->second, &recorded) && recorded > 0) lr = recorded;
  }
  absl::SetFlag(&FLAGS_lr, lr);
}

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

int64_t UpdatesDone(Optimizer& optimizer) {
  for (auto& [name, tensor] : optimizer.StateTensors()) {
    if (name == "optimizer.step") return static_cast<int64_t>(*tensor.data<double>());
  }
  return 0;
}

}  // namespace tg::examples
