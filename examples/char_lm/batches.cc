#include "examples/char_lm/batches.h"

namespace tg::examples {

StreamBatcher::StreamBatcher(const std::vector<int32_t>& ids, int64_t batch, int64_t steps)
    : ids_(ids), batch_(batch), steps_(steps),
      stream_length_((static_cast<int64_t>(ids.size()) - 1) / batch) {}

void StreamBatcher::Chunk(int64_t k, std::vector<int32_t>* inputs,
                          std::vector<int32_t>* targets) const {
  inputs->resize(steps_ * batch_);
  targets->resize(steps_ * batch_);
  for (int64_t t = 0; t < steps_; ++t) {
    for (int64_t b = 0; b < batch_; ++b) {
      const int64_t at = b * stream_length_ + k * steps_ + t;
      (*inputs)[t * batch_ + b] = ids_[at];
      (*targets)[t * batch_ + b] = ids_[at + 1];
    }
  }
}

}  // namespace tg::examples
