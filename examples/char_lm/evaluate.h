// Scoring and sampling with a trained CharModel, in inference mode (no tape for backward).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/char_lm/model.h"
#include "examples/common/text_data.h"
#include "base/random.h"

namespace tg::examples {

struct EvaluateOptions {
  int64_t streams = 1;  // 1: the held-out text scored as one stream, as bench/torch_char_lm.py does
  int64_t steps = 100;  // characters per graph (the state is carried across graphs)
  int num_threads = 1;
};

// Bits per character of predicting ids[i+1] from ids[0..i], for every i.
absl::StatusOr<double> BitsPerChar(const CharModel& model, const std::vector<int32_t>& ids,
                                   const EvaluateOptions& options);

struct SampleOptions {
  int64_t length = 300;
  double temperature = 1.0;  // < 1 sharper, > 1 flatter; must be > 0
  uint64_t seed = 1;
  int num_threads = 1;
};

// Feeds `prime` through the model, then draws `length` characters one at a time from
// softmax(logits / temperature); `emit` receives each one as it is drawn.
absl::StatusOr<std::string> Sample(const CharModel& model, const CharVocab& vocab,
                                   const std::string& prime, const SampleOptions& options,
                                   const std::function<void(const std::string&)>& emit = {});

}  // namespace tg::examples
