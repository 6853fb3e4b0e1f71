#include "examples/char_lm/batches.h"

#include <algorithm>

namespace tg::examples {
namespace {

// SplitMix64's finaliser: a well-mixed function of (seed, epoch).
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

StreamBatcher::StreamBatcher(const std::vector<int32_t>& ids, const StreamBatcherOptions& options)
    : ids_(ids), options_(options),
      stream_length_((static_cast<int64_t>(ids.size()) - 1) / options.batch) {
  // A shifted epoch needs steps - 1 characters of room at the end of each stream.
  const int64_t room = options.shift_epochs ? options.steps - 1 : 0;
  chunks_per_epoch_ = std::max<int64_t>(1, (stream_length_ - room) / options.steps);
}

int64_t StreamBatcher::EpochShift(int64_t epoch) const {
  if (!options_.shift_epochs || epoch == 0) return 0;
  return static_cast<int64_t>(Mix(options_.seed ^ Mix(static_cast<uint64_t>(epoch))) %
                              static_cast<uint64_t>(options_.steps));
}

void StreamBatcher::Chunk(int64_t update, std::vector<int32_t>* inputs,
                          std::vector<int32_t>* targets) const {
  const int64_t steps = options_.steps, batch = options_.batch;
  const int64_t start = EpochShift(update / chunks_per_epoch_) + (update % chunks_per_epoch_) * steps;
  inputs->resize(steps * batch);
  targets->resize(steps * batch);
  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t at = b * stream_length_ + start + t;
      (*inputs)[t * batch + b] = ids_[at];
      (*targets)[t * batch + b] = ids_[at + 1];
    }
  }
}

}  // namespace tg::examples
