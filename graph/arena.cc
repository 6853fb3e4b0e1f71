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
  absl::StatusOr<AlignedBuffer> memory = TryAllocateAligned(size);
  // Doubling asked too much (the system refuses more than it has free): halve the chunk
  // until it fits, down to the request alone. Falling straight back to the request would
  // give every later allocation a chunk of its own, and chunk walks (Contains, the capacity)
  // would grow with the allocations.
  while (!memory.ok() && size > bytes) {
    size = RoundUp64(std::max(bytes, size / 2));
    memory = TryAllocateAligned(size);
  }
  if (!memory.ok()) {
    used_ -= bytes;
    return nullptr;
  }
  chunks_.push_back({*std::move(memory), size});
  current_ = chunks_.size() - 1;
  offset_ = bytes;
  return chunks_.back().memory.get();
}

void Arena::Reset() {
  if (chunks_.size() > 1) {
    // Folding needs the total at once; without it the chunks stay as they are.
    size_t total = capacity_bytes();
    absl::StatusOr<AlignedBuffer> memory = TryAllocateAligned(total);
    if (memory.ok()) {
      chunks_.clear();
      chunks_.push_back({*std::move(memory), total});
    }
  }
  current_ = 0;
  offset_ = 0;
  used_ = 0;
  blocks_.clear();
  for (auto& [size, free] : free_) free.clear();
}

Arena::Block& Arena::AllocateBlock(size_t bytes) {
  bytes = RoundUp64(std::max<size_t>(bytes, 1));
  std::vector<std::byte*>& free = free_[bytes];
  if (!free.empty()) {
    Block* b = FindBlock(free.back());
    free.pop_back();
    b->free = false;
    b->refs = 0;
    return *b;
  }
  auto* p = static_cast<std::byte*>(Allocate(bytes));
  if (p == nullptr) {
    refused_ = Block{};
    return refused_;
  }
  auto it = std::lower_bound(blocks_.begin(), blocks_.end(), p,
                             [](const Block& b, const std::byte* q) { return b.data < q; });
  return *blocks_.insert(it, Block{.data = p, .bytes = bytes});
}

Arena::Block* Arena::FindBlock(const void* p) {
  const auto* q = static_cast<const std::byte*>(p);
  if (q == nullptr) return nullptr;
  auto it = std::upper_bound(blocks_.begin(), blocks_.end(), q,
                             [](const std::byte* a, const Block& b) { return a < b.data; });
  if (it == blocks_.begin()) return nullptr;
  --it;
  return q < it->data + it->bytes ? &*it : nullptr;
}

void Arena::Recycle(Block& b) {
  b.free = true;
  free_[b.bytes].push_back(b.data);
}

bool Arena::Contains(const void* p) const {
  const auto* q = static_cast<const std::byte*>(p);
  for (const Chunk& c : chunks_) {
    if (q >= c.memory.get() && q < c.memory.get() + c.size) return true;
  }
  return false;
}

size_t Arena::capacity_bytes() const {
  size_t total = 0;
  for (const Chunk& c : chunks_) total += c.size;
  return total;
}

}  // namespace tg
