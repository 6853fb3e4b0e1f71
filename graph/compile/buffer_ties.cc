#include "graph/compile/buffer_ties.h"

#include <iterator>

namespace tg::compile {

BufferTies::BufferTies(const Program& program)
    : parent_(program.buffers.size()),
      offset_(program.buffers.size(), 0),
      size_(program.buffers.size(), 1),
      movable_(program.buffers.size()),
      taken_(program.buffers.size()) {
  for (size_t b = 0; b < program.buffers.size(); ++b) {
    parent_[b] = static_cast<BufferId>(b);
    movable_[b] = program.buffers[b].storage == Storage::kPlanned;
    taken_[b].emplace(0, program.buffers[b].bytes);
  }
}

std::pair<BufferId, int64_t> BufferTies::Find(BufferId b) const {
  int64_t offset = 0;
  while (parent_[b] != b) {  // no path compression: Undo must find the tree it left
    offset += offset_[b];
    b = parent_[b];
  }
  return {b, offset};
}

bool BufferTies::Tie(BufferId a, BufferId b, int64_t distance) {
  auto [ra, oa] = Find(a);
  auto [rb, ob] = Find(b);
  if (ra == rb) return ob == oa + distance;
  if (!movable_[ra] || !movable_[rb]) return false;
  // rb's root lands `shift` bytes after ra's; the smaller group moves into the larger.
  int64_t shift = oa + distance - ob;
  BufferId keep = ra, move = rb;
  if (size_[ra] < size_[rb]) {
    std::swap(keep, move);
    shift = -shift;
  }
  std::map<int64_t, int64_t>& taken = taken_[keep];
  for (const auto& [begin, end] : taken_[move]) {
    ++work_;
    const int64_t b0 = begin + shift, b1 = end + shift;
    auto next = taken.lower_bound(b0);
    if (next != taken.end() && next->first < b1) return false;
    if (next != taken.begin() && std::prev(next)->second > b0) return false;
  }
  size_t added = 0;
  for (const auto& [begin, end] : taken_[move]) {
    ++work_;
    if (!taken.emplace(begin + shift, end + shift).second) continue;  // an empty buffer
    inserted_.push_back(begin + shift);
    ++added;
  }
  parent_[move] = keep;
  offset_[move] = shift;
  size_[keep] += size_[move];
  log_.push_back({move, keep, added});
  return true;
}

void BufferTies::Undo(size_t mark) {
  while (log_.size() > mark) {
    const Change c = log_.back();
    log_.pop_back();
    for (size_t k = 0; k < c.intervals; ++k) {
      taken_[c.parent].erase(inserted_.back());
      inserted_.pop_back();
    }
    size_[c.parent] -= size_[c.child];
    parent_[c.child] = c.child;
    offset_[c.child] = 0;
  }
}

}  // namespace tg::compile
