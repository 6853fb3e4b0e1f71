// Truncated BPTT across batches: the text is cut into B contiguous streams, and update k
// reads characters [kT, kT+T) of every stream, so the state one update ends with is the
// right state to start the next one from (carried as values, no gradient across).
#pragma once

#include <cstdint>
#include <vector>

namespace tg::examples {

class StreamBatcher {
 public:
  // ids must outlive the batcher; each stream gets (ids.size() - 1) / batch characters.
  StreamBatcher(const std::vector<int32_t>& ids, int64_t batch, int64_t steps);
  // Updates per pass over the text (at least 1 when the text holds one chunk per stream).
  int64_t chunks_per_epoch() const { return stream_length_ / steps_; }
  // Chunk k (0 <= k < chunks_per_epoch()): inputs [T,B] and next-character targets [T*B],
  // both time-major (row t * B + b).
  void Chunk(int64_t k, std::vector<int32_t>* inputs, std::vector<int32_t>* targets) const;
  int64_t batch() const { return batch_; }
  int64_t steps() const { return steps_; }

 private:
  const std::vector<int32_t>& ids_;
  int64_t batch_, steps_, stream_length_;
};

}  // namespace tg::examples
