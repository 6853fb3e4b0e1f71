#include "examples/char_lm/run_info.h"

#include <charconv>
#include <fstream>
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
  absl::StatusOr<int64_t> Int(absl::string_view name) const {
    TG_ASSIGN_OR_RETURN(std::string text, Text(name));
    int64_t x = 0;
    if (!absl::SimpleAtoi(text, &x)) return NotA(name, text, "whole number");
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
  try {
    info.model.cell = j.at("cell").get<std::string>();
    info.model.num_layers = j.at("num_layers").get<int>();
    info.model.vocab_size = j.at("vocab_size").get<int64_t>();
    info.model.embedding_dim = j.at("embedding_dim").get<int64_t>();
    info.model.hidden_size = j.at("hidden_size").get<int64_t>();
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
  TG_ASSIGN_OR_RETURN(int64_t layers, read.Int("num_layers"));
  info.model.num_layers = static_cast<int>(layers);
  TG_ASSIGN_OR_RETURN(info.model.vocab_size, read.Int("vocab_size"));
  TG_ASSIGN_OR_RETURN(info.model.embedding_dim, read.Int("embedding_dim"));
  TG_ASSIGN_OR_RETURN(info.model.hidden_size, read.Int("hidden_size"));
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
