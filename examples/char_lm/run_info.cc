#include "examples/char_lm/run_info.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"

namespace tg::examples {
namespace {

std::string InfoPath(const std::string& checkpoint_path) { return absl::StrCat(checkpoint_path, ".json"); }

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
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "': \"", key, "\" is ", it->dump(), "; it must be an integer in [1, ", max, "]"));
  }
  return it->get<int64_t>();
}

}  // namespace

absl::Status SaveRunInfo(const std::string& checkpoint_path, const RunInfo& info) {
  nlohmann::json j = {{"cell", info.model.cell},
                      {"num_layers", info.model.num_layers},
                      {"vocab_size", info.model.vocab_size},
                      {"embedding_dim", info.model.embedding_dim},
                      {"hidden_size", info.model.hidden_size},
                      {"dropout", info.model.dropout},
                      {"vocab", info.vocab},
                      {"average_decay", info.average_decay},
                      {"train_seconds", info.train_seconds}};
  const std::string path = InfoPath(checkpoint_path), temp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(temp);
    out << j.dump(2) << "\n";
    if (!out.flush()) return absl::InternalError(absl::StrCat("cannot write '", temp, "'"));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename '", temp, "' to '", path, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<RunInfo> LoadRunInfo(const std::string& checkpoint_path) {
  const std::string path = InfoPath(checkpoint_path);
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read '", path, "' (the checkpoint's run info)"));
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

}  // namespace tg::examples
