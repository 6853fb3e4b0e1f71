#include "graph/arena.h"

#include <algorithm>

namespace tg {

namespace {
size_t RoundUp64(size_t n) { return (n + 63) / 64 * 64; }
}  // namespace

void* Arena::Allocate(size_t bytes) {
  bytes = RoundUp64(std::max<size_t>(bytes, 1));
  used_ += bytes;
  while (current_ < chunks_.size()) {
    Chunk& c = chunks_[current_];
    if (offset_ + bytes <= c.size) {
      void* p = c.memory.get() + offset_;
      offset_ += bytes;
      return p;
    }
    ++current_;
    offset_ = 0;
  }
  size_t size = std::max({bytes, min_chunk_, capacity_bytes()});
  chunks_.push_back({AllocateAligned(size), size});
  current_ = chunks_.size() - 1;
  offset_ = bytes;
  return chunks_.back().memory.get();
}

void Arena::Reset() {
  if (chunks_.size() > 1) {
    size_t total = capacity_bytes();
    chunks_.clear();
    chunks_.push_back({AllocateAligned(total), total});
  }
  current_ = 0;
  offset_ = 0;
  used_ = 0;
}

size_t Arena::capacity_bytes() const {
  size_t total = 0;
  for (const Chunk& c : chunks_) total += c.size;
  return total;
}

}  // namespace tg
