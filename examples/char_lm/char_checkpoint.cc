#include "examples/char_lm/char_checkpoint.h"

#include <filesystem>
#include <utility>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "models/checkpoint.h"

namespace tg::examples {
namespace {

constexpr absl::string_view kCarriedPrefix = "extra.carried.l";
constexpr char kDropoutRngKey[] = "char_lm.dropout_rng";
constexpr char kCompiledRunsKey[] = "char_lm.compiled_runs";
constexpr char kLastLossKey[] = "char_lm.last_train_loss";

// The flags RunInfo::flags records, and the first of them on which the carried state
// depends (which characters each stream holds, and where each update's chunk starts).
constexpr const char* kTrainingFlags[] = {
    "batch",    "seq",  "shift_epochs", "seed",    "valid_fraction", "data",    "lr",
    "lr_decay", "clip", "max_updates",  "minutes", "compile",        "threads", "replicas"};
constexpr int kStreamFlags = 6;

std::string CarriedName(size_t layer, char part) {
  return absl::StrCat(kCarriedPrefix, layer, ".", std::string(1, part));
}

absl::Status Bad(const std::string& path, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat("checkpoint '", path, "': ", message));
}

// "extra.carried.l<layer>.<h|c>" into its layer and part; false for any other name.
bool ParseCarriedName(const std::string& name, size_t* layer, char* part) {
  absl::string_view rest(name);
  if (!absl::StartsWith(rest, kCarriedPrefix)) return false;
  rest.remove_prefix(kCarriedPrefix.size());
  if (rest.size() < 3 || rest[rest.size() - 2] != '.') return false;
  *part = rest.back();
  uint64_t l = 0;
  if (!absl::SimpleAtoi(rest.substr(0, rest.size() - 2), &l) || l > 1000) return false;
  *layer = static_cast<size_t>(l);
  return *part == 'h' || *part == 'c';
}

absl::StatusOr<std::vector<HostState>> CarriedFromTensors(const std::vector<NamedTensor>& tensors,
                                                          const std::string& path) {
  std::vector<HostState> carried;
  std::vector<bool> has_h;
  for (const NamedTensor& t : tensors) {
    size_t layer = 0;
    char part = 0;
    if (!ParseCarriedName(t.name, &layer, &part)) {
      return Bad(path, absl::StrCat("tensor '", t.name, "' is not one char_lm writes"));
    }
    if (t.dtype == DType::kI32 || t.shape.rank() != 2) {
      return Bad(path,
                 absl::StrCat("carried state '", t.name, "' is ", std::string(DTypeName(t.dtype)),
                              " ", t.shape.ToString(), ", not a float matrix"));
    }
    if (carried.size() <= layer) {
      carried.resize(layer + 1);
      has_h.resize(layer + 1, false);
    }
    HostState& s = carried[layer];
    if (part == 'h') has_h[layer] = true;
    if (!s.h.empty() || !s.c.empty()) {
      if (!(s.shape == t.shape) || s.dtype != t.dtype) {
        return Bad(path, absl::StrCat("carried state '", t.name,
                                      "' differs in shape or dtype "
                                      "from the other part of its layer"));
      }
    }
    s.shape = t.shape;
    s.dtype = t.dtype;
    (part == 'h' ? s.h : s.c) = t.ToDoubles();
  }
  for (size_t l = 0; l < carried.size(); ++l) {
    if (!has_h[l])
      return Bad(path, absl::StrCat("carried state '", CarriedName(l, 'h'), "' is missing"));
  }
  return carried;
}

}  // namespace

absl::Status SaveCharCheckpoint(const std::string& path, const ParameterStore& store,
                                Optimizer& optimizer, const RunInfo& info,
                                const TrainingState& state) {
  CheckpointExtras extras{.metadata = RunInfoMetadata(info)};
  extras.metadata[kDropoutRngKey] = state.dropout_rng;
  extras.metadata[kLastLossKey] = ExactText(state.last_train_loss);
  if (state.compiled_runs.has_value()) {
    extras.metadata[kCompiledRunsKey] = absl::StrCat(*state.compiled_runs);
  }
  // The values as saved, in f32 like the model (exact: they came from f32 tensors).
  std::vector<std::vector<float>> values;
  std::vector<std::pair<std::string, Shape>> names;
  for (size_t l = 0; l < state.carried.size(); ++l) {
    const HostState& s = state.carried[l];
    for (char part : {'h', 'c'}) {
      const std::vector<double>& v = part == 'h' ? s.h : s.c;
      if (part == 'c' && v.empty()) continue;
      values.emplace_back(v.begin(), v.end());
      names.emplace_back(CarriedName(l, part), s.shape);
    }
  }
  for (size_t i = 0; i < values.size(); ++i) {
    extras.tensors.push_back(
        {names[i].first, Tensor(values[i].data(), DType::kF32, names[i].second)});
  }
  TG_RETURN_IF_ERROR(SaveCheckpoint(path, store, &optimizer, extras));
  std::error_code ignored;  // a stale two-file run info only misleads a reader
  std::filesystem::remove(absl::StrCat(path, ".json"), ignored);
  return absl::OkStatus();
}

absl::StatusOr<TrainingState> LoadCharCheckpoint(const std::string& path, ParameterStore& store,
                                                 Optimizer& optimizer) {
  LoadedExtras extras;
  TG_RETURN_IF_ERROR(LoadCheckpoint(path, store, &optimizer, &extras));
  TrainingState state;
  TG_ASSIGN_OR_RETURN(state.carried, CarriedFromTensors(extras.tensors, path));
  const auto& m = extras.metadata;
  if (auto it = m.find(kDropoutRngKey); it != m.end()) state.dropout_rng = it->second;
  if (auto it = m.find(kCompiledRunsKey); it != m.end()) {
    uint64_t runs = 0;
    if (!absl::SimpleAtoi(it->second, &runs)) {
      return Bad(path, absl::StrCat("metadata '", kCompiledRunsKey, "' is '", it->second,
                                    "', not a count"));
    }
    state.compiled_runs = runs;
  }
  if (auto it = m.find(kLastLossKey);
      it != m.end() && !absl::SimpleAtod(it->second, &state.last_train_loss)) {
    return Bad(path,
               absl::StrCat("metadata '", kLastLossKey, "' is '", it->second, "', not a number"));
  }
  return state;
}

absl::Status CheckCarriedState(const std::vector<HostState>& carried,
                               const std::vector<State>& zero, const std::string& path) {
  if (carried.empty()) return absl::OkStatus();
  if (carried.size() != zero.size()) {
    return Bad(path, absl::StrCat("carried state for ", carried.size(),
                                  " layers, but the model has ", zero.size()));
  }
  for (size_t l = 0; l < carried.size(); ++l) {
    const Shape want = zero[l].h.shape();
    if (!(carried[l].shape == want)) {
      return Bad(path, absl::StrCat("carried state '", CarriedName(l, 'h'), "' is ",
                                    carried[l].shape.ToString(),
                                    ", but the model and --batch need ", want.ToString()));
    }
    if (carried[l].c.empty() == zero[l].c.valid()) {
      return Bad(path, absl::StrCat("carried state '", CarriedName(l, 'c'), "' is ",
                                    zero[l].c.valid() ? "missing" : "for a cell without one"));
    }
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> TrainingFlags() {
  std::map<std::string, std::string> flags;
  for (const char* name : kTrainingFlags) {
    if (absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name); flag != nullptr) {
      flags[name] = flag->CurrentValue();
    }
  }
  return flags;
}

std::vector<std::string> ChangedStreamFlags(const std::map<std::string, std::string>& saved) {
  std::vector<std::string> changed;
  const std::map<std::string, std::string> now = TrainingFlags();
  for (int i = 0; i < kStreamFlags; ++i) {
    auto was = saved.find(kTrainingFlags[i]), is = now.find(kTrainingFlags[i]);
    if (was == saved.end() || is == now.end() || was->second == is->second) continue;
    changed.push_back(
        absl::StrCat("--", is->first, "=", is->second, " (the checkpoint's: ", was->second, ")"));
  }
  return changed;
}

}  // namespace tg::examples
