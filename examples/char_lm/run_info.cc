#include "examples/char_lm/run_info.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace tg::examples {
namespace {

std::string InfoPath(const std::string& checkpoint_path) { return absl::StrCat(checkpoint_path, ".json"); }

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

}  // namespace tg::examples
