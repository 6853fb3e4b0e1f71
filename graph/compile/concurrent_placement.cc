#include "graph/compile/concurrent_placement.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <queue>
#include <set>
#include <utility>

#include "graph/compile/dependencies.h"

namespace tg::compile {
namespace {

// Free blocks by size, each remembering the highest level of an instruction that touched
// it; blocks of one size ordered by that level, so a request looks at one block per size.
class FreeBlocks {
 public:
  explicit FreeBlocks(int64_t& work) : work_(work) {}

  // `bytes` at the smallest free block that fits and whose owners all ran at levels below
  // `level`; else at the top.
  int64_t Take(int64_t bytes, int level) {
    for (auto it = by_size_.lower_bound(bytes); it != by_size_.end(); ++it) {
      ++work_;
      auto& [size, blocks] = *it;
      const auto [lowest, offset] = *blocks.begin();
      if (lowest >= level) continue;
      const int64_t remainder = size - bytes;
      blocks.erase(blocks.begin());
      if (blocks.empty()) by_size_.erase(it);
      if (remainder > 0) Give(offset + bytes, remainder, lowest);
      return offset;
    }
    ++work_;
    const int64_t at = top_;
    top_ += bytes;
    return at;
  }
  void Give(int64_t offset, int64_t bytes, int level) {
    ++work_;
    by_size_[bytes].emplace(level, offset);
  }
  int64_t top() const { return top_; }

 private:
  std::map<int64_t, std::set<std::pair<int, int64_t>>> by_size_;  // size -> (level, offset)
  int64_t top_ = 0;
  int64_t& work_;
};

}  // namespace

std::vector<int> InstructionLevels(const Program& program) {
  const Dependencies deps(program);
  std::vector<int> level(program.instructions.size(), 0);
  for (size_t i = 0; i < level.size(); ++i) {
    for (int p : deps.before(static_cast<int>(i))) level[i] = std::max(level[i], level[p] + 1);
  }
  return level;
}

Placement PlaceMemoryConcurrently(const Program& program, absl::Span<const Lifetime> lifetimes) {
  const int end = static_cast<int>(program.instructions.size());
  const std::vector<int> level = InstructionLevels(program);
  // Per buffer, the lowest and highest level of an instruction touching it.
  std::vector<int> low(program.buffers.size(), end), high(program.buffers.size(), 0);
  for (int i = 0; i < end; ++i) {
    auto touch = [&](ValueId v) {
      const BufferId b = program.values[v].buffer;
      if (b < 0) return;
      low[b] = std::min(low[b], level[i]);
      high[b] = std::max(high[b], level[i]);
    };
    for (ValueId v : program.instructions[i].inputs) touch(v);
    touch(program.instructions[i].output);
  }
  Placement placed{.offset = std::vector<int64_t>(program.buffers.size(), -1)};
  FreeBlocks free(placed.work);
  SweepLifetimes(
      program, lifetimes,
      [&](BufferId b) {
        free.Give(placed.offset[b], PlacedBytes(program.buffers[b].bytes), high[b]);
      },
      [&](BufferId b) {
        placed.offset[b] = free.Take(PlacedBytes(program.buffers[b].bytes), low[b]);
      });
  placed.bytes = free.top();
  return placed;
}

}  // namespace tg::compile
