#include "examples/char_lm/batches.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <set>
#include <vector>

namespace tg::examples {
namespace {

// ids[i] = i, so every id read names its own position in the text.
std::vector<int32_t> Positions(int32_t n) {
  std::vector<int32_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  return ids;
}

TEST(StreamBatcherTest, UpdatesReadContiguousStreamsAndPassesRepeat) {
  const std::vector<int32_t> ids = Positions(1001);  // 4 streams of 250
  const StreamBatcher batcher(ids, {.batch = 4, .steps = 10});
  EXPECT_EQ(batcher.chunks_per_epoch(), 25);
  std::vector<int32_t> in, target;
  batcher.Chunk(3, &in, &target);
  for (int64_t t = 0; t < 10; ++t) {
    for (int64_t b = 0; b < 4; ++b) {
      EXPECT_EQ(in[t * 4 + b], b * 250 + 30 + t);
      EXPECT_EQ(target[t * 4 + b], in[t * 4 + b] + 1);
    }
  }
  std::vector<int32_t> again, unused;
  batcher.Chunk(3 + 25, &again, &unused);
  EXPECT_EQ(again, in);  // without shift_epochs every pass is the same
  EXPECT_TRUE(batcher.StartsEpoch(50));
  EXPECT_FALSE(batcher.StartsEpoch(51));
}

TEST(StreamBatcherTest, ShiftedPassesMoveTheTruncationPointsAndStayInTheText) {
  const std::vector<int32_t> ids = Positions(1001);
  const StreamBatcher batcher(ids, {.batch = 4, .steps = 10, .shift_epochs = true, .seed = 7});
  // Room for a shift of up to 9 characters costs the last chunk.
  EXPECT_EQ(batcher.chunks_per_epoch(), 24);
  EXPECT_EQ(batcher.EpochShift(0), 0);
  std::set<int64_t> shifts;
  std::vector<int32_t> in, target, next_in, unused;
  for (int64_t epoch = 0; epoch < 40; ++epoch) {
    const int64_t shift = batcher.EpochShift(epoch);
    ASSERT_GE(shift, 0);
    ASSERT_LT(shift, 10);
    shifts.insert(shift);
    for (int64_t k = 0; k < batcher.chunks_per_epoch(); ++k) {
      const int64_t u = epoch * batcher.chunks_per_epoch() + k;
      batcher.Chunk(u, &in, &target);
      for (int64_t b = 0; b < 4; ++b) {
        // Stream b stays inside its own 250 characters.
        ASSERT_EQ(in[b], b * 250 + shift + k * 10) << "update " << u;
        ASSERT_LT(target[9 * 4 + b], (b + 1) * 250 + 1);
      }
      if (k + 1 < batcher.chunks_per_epoch()) {
        // The carried state is right: the next update continues where this one ended.
        batcher.Chunk(u + 1, &next_in, &unused);
        for (int64_t b = 0; b < 4; ++b) ASSERT_EQ(next_in[b], target[9 * 4 + b]);
      }
    }
  }
  EXPECT_GT(shifts.size(), 5u);  // the shifts vary from pass to pass
}

}  // namespace
}  // namespace tg::examples
