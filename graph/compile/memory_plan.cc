#include "graph/compile/memory_plan.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <queue>
#include <set>
#include <utility>

namespace tg::compile {
namespace {

// Free blocks of the allocation, coalesced, found by address and by size.
class FreeList {
 public:
  explicit FreeList(int64_t& work) : work_(work) {}

  // `bytes` at the best-fitting free block, or at the top (growing a free block that ends
  // there).
  int64_t Take(int64_t bytes) {
    ++work_;
    auto fit = by_size_.lower_bound({bytes, std::numeric_limits<int64_t>::min()});
    if (fit != by_size_.end()) {
      const auto [size, at] = *fit;
      Erase(at, size);
      if (size > bytes) Insert(at + bytes, size - bytes);
      return at;
    }
    if (!by_address_.empty()) {
      auto last = std::prev(by_address_.end());
      if (last->first + last->second == top_) {
        const int64_t at = last->first;
        Erase(at, last->second);
        top_ = at + bytes;
        return at;
      }
    }
    top_ += bytes;
    return top_ - bytes;
  }

  void Give(int64_t at, int64_t bytes) {
    ++work_;
    auto next = by_address_.lower_bound(at);
    if (next != by_address_.end() && at + bytes == next->first) {
      bytes += next->second;
      Erase(next->first, next->second);
    }
    next = by_address_.lower_bound(at);
    if (next != by_address_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == at) {
        at = prev->first;
        bytes += prev->second;
        Erase(prev->first, prev->second);
      }
    }
    Insert(at, bytes);
  }

  int64_t top() const { return top_; }

 private:
  void Insert(int64_t at, int64_t bytes) {
    by_address_.emplace(at, bytes);
    by_size_.emplace(bytes, at);
  }
  void Erase(int64_t at, int64_t bytes) {
    by_address_.erase(at);
    by_size_.erase({bytes, at});
  }

  std::map<int64_t, int64_t> by_address_;      // offset -> bytes
  std::set<std::pair<int64_t, int64_t>> by_size_;  // (bytes, offset)
  int64_t top_ = 0;
  int64_t& work_;
};

}  // namespace

int64_t PlacedBytes(int64_t bytes) { return std::max<int64_t>(64, (bytes + 63) / 64 * 64); }

void SweepLifetimes(const Program& program, absl::Span<const Lifetime> lifetimes,
                    absl::FunctionRef<void(BufferId)> free,
                    absl::FunctionRef<void(BufferId)> take) {
  const int end = static_cast<int>(program.instructions.size());
  struct Live {
    int first, last;
    BufferId buffer;
  };
  std::vector<Live> live;
  for (size_t b = 0; b < program.buffers.size(); ++b) {
    const Lifetime& l = lifetimes[b];
    if (program.buffers[b].storage != Storage::kPlanned || !l.live()) continue;
    live.push_back(l.pinned ? Live{0, end, static_cast<BufferId>(b)}
                            : Live{l.first, l.last, static_cast<BufferId>(b)});
  }
  std::sort(live.begin(), live.end(), [](const Live& x, const Live& y) {
    return x.first != y.first ? x.first < y.first : x.buffer < y.buffer;
  });
  using Ending = std::pair<int, BufferId>;  // (last, buffer)
  std::priority_queue<Ending, std::vector<Ending>, std::greater<>> ending;
  for (const Live& l : live) {
    while (!ending.empty() && ending.top().first < l.first) {
      free(ending.top().second);
      ending.pop();
    }
    take(l.buffer);
    ending.push({l.last, l.buffer});
  }
}

Placement PlaceMemory(const Program& program, absl::Span<const Lifetime> lifetimes) {
  Placement placed{.offset = std::vector<int64_t>(program.buffers.size(), -1)};
  FreeList free(placed.work);
  SweepLifetimes(
      program, lifetimes,
      [&](BufferId b) { free.Give(placed.offset[b], PlacedBytes(program.buffers[b].bytes)); },
      [&](BufferId b) { placed.offset[b] = free.Take(PlacedBytes(program.buffers[b].bytes)); });
  placed.bytes = free.top();
  return placed;
}

}  // namespace tg::compile
