// Truncated BPTT across batches: the text is cut into B contiguous streams, and update k of
// an epoch reads characters [kT, kT+T) of every stream, so the state one update ends with is
// the right state to start the next one from (carried as values, no gradient across).
// With shift_epochs, every epoch after the first starts all streams a pseudo-random
// 0..T-1 characters later, so the truncation points move from one pass to the next.
#pragma once

#include <cstdint>
#include <vector>

namespace tg::examples {

struct StreamBatcherOptions {
  int64_t batch = 32;
  int64_t steps = 100;
  bool shift_epochs = false;
  uint64_t seed = 1;  // picks the shifts
};

class StreamBatcher {
 public:
  // ids must outlive the batcher; each stream gets (ids.size() - 1) / batch characters.
  StreamBatcher(const std::vector<int32_t>& ids, const StreamBatcherOptions& options);
  // Updates per pass over the text (at least 1 when the text holds one chunk per stream,
  // plus steps - 1 characters of room for the shift).
  int64_t chunks_per_epoch() const { return chunks_per_epoch_; }
  // Whether update u (counted from 0 over all epochs) starts a pass, i.e. from zero state.
  bool StartsEpoch(int64_t update) const { return update % chunks_per_epoch_ == 0; }
  // The characters of update u: inputs [T,B] and next-character targets [T*B], both
  // time-major (row t * B + b). A function of u alone, so a resumed run continues exactly.
  void Chunk(int64_t update, std::vector<int32_t>* inputs, std::vector<int32_t>* targets) const;
  // Where every stream's epoch starts: 0 for the first epoch and without shift_epochs.
  int64_t EpochShift(int64_t epoch) const;
  int64_t batch() const { return options_.batch; }
  int64_t steps() const { return options_.steps; }

 private:
  const std::vector<int32_t>& ids_;
  StreamBatcherOptions options_;
  int64_t stream_length_, chunks_per_epoch_;
};

}  // namespace tg::examples
