/// \file
/// Where every movable buffer goes in the compiled program's one allocation. Buffers can be
/// tied at fixed distances (time batching needs the rows of T steps adjacent, so that a
/// stacked operand is one dense tensor and stacking copies nothing); a tie that contradicts
/// earlier ones or makes two buffers overlap is refused. Tied groups are then laid out by
/// lifetime: groups whose instruction ranges do not overlap share memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "graph/compile/liveness.h"
#include "graph/tensor.h"

namespace tg::compile {

/// Where every movable buffer of a BufferMap goes in the compiled program's one allocation
/// (see graph/compile/memory_plan.h). Keeps a reference to the map.
class MemoryPlan {
 public:
  /// A plan in which every buffer is its own group.
  explicit MemoryPlan(const BufferMap& buffers);

  /// Asks for buffer b to start `distance` bytes after buffer a. Returns false, changing
  /// nothing, if that is impossible (fixed memory, a contradiction, an overlap).
  bool Tie(int a, int b, int64_t distance);
  /// Buffer b's group (its root buffer) and b's byte offset from the root's start.
  std::pair<int, int64_t> Find(int b);

  /// For rolling back a batch of ties that failed part-way.
  struct Snapshot;
  /// The ties made so far.
  Snapshot Save() const;
  /// Returns to the ties of `s` (from Save on this plan).
  void Restore(Snapshot s);

  /// Lays the tied groups out. `live[b]`: first and last instruction index touching buffer b
  /// (pinned buffers, live for the whole run, give {0, num_instructions}). Returns the bytes
  /// of the one allocation; then SetBase and Translate map old addresses into it.
  size_t Place(const std::vector<std::pair<int, int>>& live);
  /// The allocation's first byte (after Place).
  void SetBase(std::byte* base) { base_ = base; }
  /// Where the tensor lives in the compiled program (fixed memory stays where it is).
  Tensor Translate(const Tensor& t) const;
  /// The new address of buffer b's first byte.
  std::byte* NewAddress(int b) const;

 private:
  struct Interval {
    int64_t begin, end;  // relative to the root
  };
  const BufferMap& buffers_;
  std::vector<int> parent_;
  std::vector<int64_t> offset_;  // from the parent's start
  std::vector<std::vector<int>> members_;       // roots only: every buffer in the group
  std::vector<std::vector<Interval>> taken_;    // roots only: sorted occupied intervals
  std::vector<int64_t> placed_;                 // roots: the group's offset in the allocation
  std::byte* base_ = nullptr;

 public:
  /// The plan's ties at one moment (its group structure; Save and Restore only).
  struct Snapshot {
    std::vector<int> parent;  ///< Each buffer's parent in its group.
    std::vector<int64_t> offset;  ///< Each buffer's offset from its parent.
    std::vector<std::vector<int>> members;  ///< Per root: the buffers of its group.
    std::vector<std::vector<Interval>> taken;  ///< Per root: the intervals its group covers.
  };
};

}  // namespace tg::compile
