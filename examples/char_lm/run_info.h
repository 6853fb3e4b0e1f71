// What a checkpoint needs beside its tensors to be resumed or sampled from: the model's
// shape, the vocabulary and the training clock. Saved as <checkpoint>.json next to the
// safetensors file (written first, atomically, so a checkpoint never lacks it); the update
// count itself is the optimizer's "optimizer.step" inside the checkpoint.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "examples/char_lm/model.h"
#include "examples/common/text_data.h"

namespace tg::examples {

struct RunInfo {
  CharModelOptions model = {};
  std::string vocab = "";  // CharVocab::Serialize()
  double average_decay = 0;  // --average: the checkpoint carries a WeightAverage (0: none)
  double train_seconds = 0;
};

absl::Status SaveRunInfo(const std::string& checkpoint_path, const RunInfo& info);
absl::StatusOr<RunInfo> LoadRunInfo(const std::string& checkpoint_path);

}  // namespace tg::examples
