// What a checkpoint needs beside its tensors before the model can even be built, to be
// resumed or sampled from: the model's shape, the vocabulary, the training clock and the
// flags that shaped training. Kept in the checkpoint's safetensors "__metadata__" under
// "char_lm." keys, so a checkpoint is one file written atomically; the update count itself
// is the optimizer's "optimizer.step" tensor. Checkpoints of the older two-file layout keep
// these in <checkpoint>.json beside the safetensors file, which LoadRunInfo still reads.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "examples/char_lm/model.h"

namespace tg::examples {

struct RunInfo {
  CharModelOptions model = {};
  std::string vocab = "";    // CharVocab::Serialize()
  double average_decay = 0;  // --average: the checkpoint carries a WeightAverage (0: none)
  double train_seconds = 0;  // wall-clock training time, over every run resumed so far
  // The flags that shape the trained numbers (name without "--" to its value as typed on a
  // command line); empty in a two-file checkpoint.
  std::map<std::string, std::string> flags = {};
};

// The metadata keys that hold wall-clock measurements: the only entries in which two runs
// of the same flags and seed may differ.
inline constexpr const char* kWallClockMetadataKeys[] = {"char_lm.train_seconds"};

// `info` as "__metadata__" entries: "char_lm.cell", "char_lm.num_layers",
// "char_lm.vocab_size", "char_lm.embedding_dim", "char_lm.hidden_size", "char_lm.dropout",
// "char_lm.forget_bias", "char_lm.vocab", "char_lm.average_decay", "char_lm.train_seconds"
// and "char_lm.flag.<name>" per flag. Numbers as the shortest text that reads back exactly.
std::map<std::string, std::string> RunInfoMetadata(const RunInfo& info);

// The run info of `checkpoint_path`: from its metadata, or for a checkpoint of the two-file
// layout (no "char_lm.cell" entry) from <checkpoint_path>.json. Errors name the file and
// the entry.
absl::StatusOr<RunInfo> LoadRunInfo(const std::string& checkpoint_path);

// RunInfoMetadata read back; `path` names the file in errors.
absl::StatusOr<RunInfo> RunInfoFromMetadata(const std::map<std::string, std::string>& metadata,
                                            const std::string& path);

// The shortest decimal text that reads back as exactly `x` (std::to_chars).
std::string ExactText(double x);

}  // namespace tg::examples
