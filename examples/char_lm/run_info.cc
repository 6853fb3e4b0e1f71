#include "examples/char_lm/run_info.h"

#include <charconv>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "models/checkpoint.h"
#include "nlohmann/json.hpp"

namespace tg::examples {
namespace {

constexpr absl::string_view kPrefix = "char_lm.";
constexpr absl::string_view kFlagPrefix = "char_lm.flag.";

// Reads typed entries of one checkpoint's metadata, with errors that name the file and key.
class MetadataReader {
 public:
  MetadataReader(const std::map<std::string, std::string>& metadata, const std::string& path)
      : metadata_(metadata), path_(path) {}

  absl::StatusOr<std::string> Text(absl::string_view name) const {
    auto it = metadata_.find(absl::StrCat(kPrefix, name));
    if (it == metadata_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint '", path_, "': metadata has no '", kPrefix, name, "' entry"));
    }
    return it->second;
  }
  absl::StatusOr<double> Double(absl::string_view name) const {
    TG_ASSIGN_OR_RETURN(std::string text, Text(name));
    double x = 0;
    if (!absl::SimpleAtod(text, &x)) return NotA(name, text, "number");
    return x;
  }
  // A whole number in [1, max].
  absl::StatusOr<int64_t> PositiveInt(absl::string_view name, int64_t max) const {
    TG_ASSIGN_OR_RETURN(std::string text, Text(name));
    int64_t x = 0;
    if (!absl::SimpleAtoi(text, &x) || x < 1 || x > max) {
      return NotA(name, text, absl::StrCat("whole number in [1, ", max, "]").c_str());
    }
    return x;
  }

 private:
  absl::Status NotA(absl::string_view name, const std::string& text, const char* what) const {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint '", path_, "': metadata '", kPrefix,
                                                   name, "' is '", text, "', not a ", what));
  }
  const std::map<std::string, std::string>& metadata_;
  const std::string& path_;
};

// Field `key` as an integer in [1, max]. nlohmann's get<int>() converts 1e300 or 2^40 with
// undefined or wrapped results, so the JSON type and range are checked first.
absl::StatusOr<int64_t> PositiveInteger(const nlohmann::json& j, const char* key, int64_t max,
                                        const std::string& path) {
  const auto it = j.find(key);
  if (it == j.end()) return absl::InvalidArgumentError(absl::StrCat("'", path, "': no \"", key, "\""));
  bool in_range = false;
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    in_range = v >= 1 && v <= static_cast<uint64_t>(max);
  } else if (it->is_number_integer()) {
    const int64_t v = it->get<int64_t>();
    in_range = v >= 1 && v <= max;
  }
  if (!in_range) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "': \"", key, "\" is ", it->dump(),
                                                   "; it must be an integer in [1, ", max, "]"));
  }
  return it->get<int64_t>();
}

// The two-file layout: the run info as a JSON object in <checkpoint>.json.
absl::StatusOr<RunInfo> LoadTwoFileRunInfo(const std::string& checkpoint_path) {
  const std::string path = absl::StrCat(checkpoint_path, ".json");
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(
        "checkpoint '", checkpoint_path, "' has no char_lm run info in its metadata, and '", path,
        "' (where older checkpoints keep it) cannot be read"));
  }
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a JSON object"));
  }
  RunInfo info;
  constexpr int64_t kMaxInt = std::numeric_limits<int>::max();
  constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
  TG_ASSIGN_OR_RETURN(const int64_t num_layers, PositiveInteger(j, "num_layers", kMaxInt, path));
  info.model.num_layers = static_cast<int>(num_layers);
  TG_ASSIGN_OR_RETURN(info.model.vocab_size, PositiveInteger(j, "vocab_size", kMaxInt64, path));
  TG_ASSIGN_OR_RETURN(info.model.embedding_dim, PositiveInteger(j, "embedding_dim", kMaxInt64, path));
  TG_ASSIGN_OR_RETURN(info.model.hidden_size, PositiveInteger(j, "hidden_size", kMaxInt64, path));
  try {
    info.model.cell = j.at("cell").get<std::string>();
    info.model.dropout = j.at("dropout").get<double>();
    info.vocab = j.at("vocab").get<std::string>();
    info.average_decay = j.value("average_decay", 0.0);  // absent before weight averaging
    info.train_seconds = j.at("train_seconds").get<double>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "': ", e.what()));
  }
  return info;
}

}  // namespace

std::string ExactText(double x) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), x);
  return std::string(buffer, end);
}

std::map<std::string, std::string> RunInfoMetadata(const RunInfo& info) {
  auto key = [](absl::string_view name) { return absl::StrCat(kPrefix, name); };
  std::map<std::string, std::string> m = {
      {key("cell"), info.model.cell},
      {key("num_layers"), absl::StrCat(info.model.num_layers)},
      {key("vocab_size"), absl::StrCat(info.model.vocab_size)},
      {key("embedding_dim"), absl::StrCat(info.model.embedding_dim)},
      {key("hidden_size"), absl::StrCat(info.model.hidden_size)},
      {key("dropout"), ExactText(info.model.dropout)},
      {key("forget_bias"), ExactText(info.model.forget_bias)},
      {key("vocab"), info.vocab},
      {key("average_decay"), ExactText(info.average_decay)},
      {key("train_seconds"), ExactText(info.train_seconds)}};
  for (const auto& [name, value] : info.flags) m[absl::StrCat(kFlagPrefix, name)] = value;
  return m;
}

absl::StatusOr<RunInfo> RunInfoFromMetadata(const std::map<std::string, std::string>& metadata,
                                            const std::string& path) {
  MetadataReader read(metadata, path);
  RunInfo info;
  TG_ASSIGN_OR_RETURN(info.model.cell, read.Text("cell"));
  constexpr int64_t kMaxInt = std::numeric_limits<int>::max();
  constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
  TG_ASSIGN_OR_RETURN(int64_t layers, read.PositiveInt("num_layers", kMaxInt));
  info.model.num_layers = static_cast<int>(layers);
  TG_ASSIGN_OR_RETURN(info.model.vocab_size, read.PositiveInt("vocab_size", kMaxInt64));
  TG_ASSIGN_OR_RETURN(info.model.embedding_dim, read.PositiveInt("embedding_dim", kMaxInt64));
  TG_ASSIGN_OR_RETURN(info.model.hidden_size, read.PositiveInt("hidden_size", kMaxInt64));
  TG_ASSIGN_OR_RETURN(info.model.dropout, read.Double("dropout"));
  TG_ASSIGN_OR_RETURN(info.model.forget_bias, read.Double("forget_bias"));
  TG_ASSIGN_OR_RETURN(info.vocab, read.Text("vocab"));
  TG_ASSIGN_OR_RETURN(info.average_decay, read.Double("average_decay"));
  TG_ASSIGN_OR_RETURN(info.train_seconds, read.Double("train_seconds"));
  for (const auto& [key, value] : metadata) {
    if (absl::StartsWith(key, kFlagPrefix)) {
      info.flags[key.substr(kFlagPrefix.size())] = value;
    }
  }
  return info;
}

absl::StatusOr<RunInfo> LoadRunInfo(const std::string& checkpoint_path) {
  TG_ASSIGN_OR_RETURN(auto metadata, ReadCheckpointMetadata(checkpoint_path));
  if (!metadata.contains(absl::StrCat(kPrefix, "cell"))) return LoadTwoFileRunInfo(checkpoint_path);
  return RunInfoFromMetadata(metadata, checkpoint_path);
}

}  // namespace tg::examples
