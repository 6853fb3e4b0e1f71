/// \file
/// Arena: bump allocator for a graph's activations and gradients. Every allocation is 64-byte
/// aligned. Reset() rewinds without returning memory, and folds several chunks into one
/// of their total size, so a training loop that clears its graph each step stops
/// allocating after the first step or two.
///
/// Blocks are for memory that dies before Reset (Backward's gradient buffers): the caller says
/// when one is dead (Recycle) and AllocateBlock hands it out again for the same size. Plain
/// Allocate never takes recycled memory, so forward values are never reused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "graph/tensor.h"

namespace tg {

/// Bump allocator for a graph's activations and gradients: 64-byte-aligned memory that
/// Reset rewinds all at once, plus recyclable blocks.
class Arena {
 public:
  /// An empty arena; its first chunk holds at least `initial_bytes`.
  explicit Arena(size_t initial_bytes = 1 << 20) : min_chunk_(initial_bytes) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  /// `bytes` (rounded up to 64, at least 64) of 64-byte-aligned memory, good until Reset;
  /// nullptr if the system refuses it (callers report ResourceExhausted; tensor sizes are
  /// checked against MaxTensorBytes before they get here).
  void* Allocate(size_t bytes);
  /// Rewinds to empty, keeping the memory (several chunks become one of their total size);
  /// also forgets all blocks and the free lists.
  void Reset();

  /// A block is found again by any address inside it (views). `refs` is for the caller to
  /// count with (Backward: the gradient slots keeping it); the arena only resets it.
  struct Block {
    std::byte* data = nullptr;  ///< The block's first byte.
    size_t bytes = 0;  ///< Size, rounded up to 64.
    int32_t refs = 0;  ///< The caller's reference count; 0 when handed out.
    bool free = false;  ///< On the free list.
  };
  /// A recycled block of this (rounded) size if there is one, else a new one; refs is 0.
  /// Block references and pointers are good until the next AllocateBlock or Reset. If the
  /// system refuses the memory, a block whose data is nullptr (found by no FindBlock).
  Block& AllocateBlock(size_t bytes);
  /// The block address p lies in, or nullptr (memory from Allocate, or not the arena's).
  Block* FindBlock(const void* p);
  /// b is dead: AllocateBlock may hand it out again.
  void Recycle(Block& b);

  /// Whether p lies in memory this arena handed out (the compiler moves only such memory).
  bool Contains(const void* p) const;
  /// Whether any block was handed out since the last Reset (Backward reused memory).
  bool has_blocks() const { return !blocks_.empty(); }

  /// Bytes held from the system.
  size_t capacity_bytes() const;
  /// Bytes handed out since the last Reset.
  size_t used_bytes() const { return used_; }
  /// Chunks of memory held (at most one right after a Reset).
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
  std::vector<Block> blocks_;  // sorted by address
  Block refused_;              // AllocateBlock's answer when the system refuses memory
  // Exact size classes: a BPTT loop asks for the same sizes every step. LIFO, so the block
  // handed out is the one most likely still in cache. Reset() empties the lists but keeps
  // their memory, so steady state allocates nothing here.
  absl::flat_hash_map<size_t, std::vector<std::byte*>> free_;
};

}  // namespace tg
