// Arena: bump allocator for a graph's activations and gradients. Every allocation is 64-byte
// aligned. Reset() rewinds without returning memory, and folds several chunks into one
// of their total size, so a training loop that clears its graph each step stops
// allocating after the first step or two.
#pragma once

#include <cstddef>
#include <vector>

#include "graph/tensor.h"

namespace tg {

class Arena {
 public:
  explicit Arena(size_t initial_bytes = 1 << 20) : min_chunk_(initial_bytes) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  void* Allocate(size_t bytes);
  void Reset();

  size_t capacity_bytes() const;       // bytes held from the system
  size_t used_bytes() const { return used_; }  // bytes handed out since the last Reset
  int num_chunks() const { return static_cast<int>(chunks_.size()); }

 private:
  struct Chunk {
    AlignedBuffer memory;
    size_t size = 0;
  };
  std::vector<Chunk> chunks_;
  size_t current_ = 0;  // index of the chunk being filled
  size_t offset_ = 0;   // bytes used in chunks_[current_]
  size_t used_ = 0;
  size_t min_chunk_;
};

}  // namespace tg
