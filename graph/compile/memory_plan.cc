#include "graph/compile/memory_plan.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <queue>

namespace tg::compile {
namespace {

int64_t RoundUp64(int64_t n) { return (n + 63) / 64 * 64; }

}  // namespace

MemoryPlan::MemoryPlan(const BufferMap& buffers)
    : buffers_(buffers),
      parent_(buffers.size()),
      offset_(buffers.size(), 0),
      members_(buffers.size()),
      taken_(buffers.size()),
      placed_(buffers.size(), 0) {
  for (int b = 0; b < buffers.size(); ++b) {
    parent_[b] = b;
    members_[b] = {b};
    taken_[b] = {{0, static_cast<int64_t>(buffers.buffer(b).bytes())}};
  }
}

std::pair<int, int64_t> MemoryPlan::Find(int b) {
  if (parent_[b] == b) return {b, 0};
  auto [root, parent_offset] = Find(parent_[b]);
  offset_[b] += parent_offset;  // path compression keeps offsets relative to the new parent
  parent_[b] = root;
  return {root, offset_[b]};
}

bool MemoryPlan::Tie(int a, int b, int64_t distance) {
  auto [ra, oa] = Find(a);
  auto [rb, ob] = Find(b);
  if (ra == rb) return ob == oa + distance;
  if (!buffers_.buffer(ra).movable || !buffers_.buffer(rb).movable) return false;
  // rb's group moves so that b starts `distance` after a: its root lands at `shift`.
  const int64_t shift = oa + distance - ob;
  std::vector<Interval>& taken = taken_[ra];
  for (const Interval& moved : taken_[rb]) {
    Interval m{moved.begin + shift, moved.end + shift};
    auto it = std::lower_bound(taken.begin(), taken.end(), m.begin,
                               [](const Interval& x, int64_t v) { return x.end <= v; });
    if (it != taken.end() && it->begin < m.end) return false;
  }
  for (const Interval& moved : taken_[rb]) {
    taken.push_back({moved.begin + shift, moved.end + shift});
  }
  std::sort(taken.begin(), taken.end(),
            [](const Interval& x, const Interval& y) { return x.begin < y.begin; });
  parent_[rb] = ra;
  offset_[rb] = shift;
  members_[ra].insert(members_[ra].end(), members_[rb].begin(), members_[rb].end());
  members_[rb].clear();
  taken_[rb].clear();
  return true;
}

MemoryPlan::Snapshot MemoryPlan::Save() const { return {parent_, offset_, members_, taken_}; }

void MemoryPlan::Restore(Snapshot s) {
  parent_ = std::move(s.parent);
  offset_ = std::move(s.offset);
  members_ = std::move(s.members);
  taken_ = std::move(s.taken);
}

size_t MemoryPlan::Place(const std::vector<std::pair<int, int>>& live) {
  struct Group {
    int root;
    int64_t low, bytes;  // extent relative to the root
    int first, last;     // instructions touching it
  };
  std::vector<Group> groups;
  for (int r = 0; r < buffers_.size(); ++r) {
    if (parent_[r] != r || !buffers_.buffer(r).movable) continue;
    Group g{r, std::numeric_limits<int64_t>::max(), 0, std::numeric_limits<int>::max(), -1};
    int64_t high = std::numeric_limits<int64_t>::min();
    for (int b : members_[r]) {
      const int64_t off = Find(b).second;
      g.low = std::min(g.low, off);
      high = std::max(high, off + static_cast<int64_t>(buffers_.buffer(b).bytes()));
      g.first = std::min(g.first, live[b].first);
      g.last = std::max(g.last, live[b].second);
    }
    g.bytes = RoundUp64(high - g.low);
    groups.push_back(g);
  }
  // A malloc run over time: groups are allocated at their first use (first fit in the free
  // list) and freed after their last, so groups whose lifetimes do not overlap share memory.
  std::sort(groups.begin(), groups.end(),
            [](const Group& x, const Group& y) { return x.first < y.first; });
  std::map<int64_t, int64_t> free;  // offset -> bytes, coalesced
  int64_t top = 0;
  using Ending = std::pair<int, int>;  // (last, index into groups)
  std::priority_queue<Ending, std::vector<Ending>, std::greater<>> ending;
  auto release = [&](const Group& g, int64_t at) {
    auto [it, inserted] = free.emplace(at, g.bytes);
    auto next = std::next(it);
    if (next != free.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free.erase(next);
    }
    if (it != free.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free.erase(it);
      }
    }
  };
  std::vector<int64_t> at(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    const Group& g = groups[i];
    while (!ending.empty() && ending.top().first < g.first) {
      const int done = ending.top().second;
      ending.pop();
      release(groups[done], at[done]);
    }
    auto fit = std::find_if(free.begin(), free.end(),
                            [&](const auto& f) { return f.second >= g.bytes; });
    if (fit != free.end()) {
      at[i] = fit->first;
      const int64_t rest = fit->second - g.bytes, rest_at = fit->first + g.bytes;
      free.erase(fit);
      if (rest > 0) free.emplace(rest_at, rest);
    } else if (!free.empty() &&
               std::prev(free.end())->first + std::prev(free.end())->second == top) {
      auto last = std::prev(free.end());  // grow the free block at the top
      at[i] = last->first;
      top = last->first + g.bytes;
      free.erase(last);
    } else {
      at[i] = top;
      top += g.bytes;
    }
    placed_[g.root] = at[i] - g.low;
    ending.push({g.last, static_cast<int>(i)});
  }
  return static_cast<size_t>(top);
}

std::byte* MemoryPlan::NewAddress(int b) const {
  if (!buffers_.buffer(b).movable) return const_cast<std::byte*>(buffers_.buffer(b).range.begin);
  // Find() compresses paths; after Place every buffer's parent is its root already.
  int root = b;
  int64_t off = 0;
  while (parent_[root] != root) {
    off += offset_[root];
    root = parent_[root];
  }
  return base_ + placed_[root] + off;
}

Tensor MemoryPlan::Translate(const Tensor& t) const {
  const int b = buffers_.Find(t);
  if (b < 0) return t;
  return Tensor(NewAddress(b) + buffers_.OffsetIn(b, t), t.dtype(), t.shape());
}

}  // namespace tg::compile
