/// \file
/// Buffers tied at fixed distances, for time batching: the rows of T steps must be adjacent
/// so that a stacked operand is one dense tensor and stacking copies nothing. Tied buffers
/// form a group with one root; a tie that contradicts earlier ones, touches external memory
/// or makes two buffers of a group overlap is refused. A batch of ties that fails part-way
/// is rolled back from an undo log.
///
/// Groups join smaller into larger, and each group keeps its buffers' byte intervals in an
/// ordered map, so a tie costs the smaller group's intervals times a logarithm: chaining T
/// buffers one by one stays near linear.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "graph/compile/program.h"

namespace tg::compile {

/// Buffers of a program tied at fixed distances (see graph/compile/buffer_ties.h).
class BufferTies {
 public:
  /// Every buffer of `program` on its own.
  explicit BufferTies(const Program& program);

  /// Asks for buffer b to start `distance` bytes after buffer a. Returns false, changing
  /// nothing, if that is impossible (external memory, a contradiction, an overlap).
  bool Tie(BufferId a, BufferId b, int64_t distance);
  /// Buffer b's group (its root buffer) and b's byte offset from the root's first byte.
  std::pair<BufferId, int64_t> Find(BufferId b) const;

  /// The undo log's length: Undo(Mark()) later returns to the ties made until now.
  size_t Mark() const { return log_.size(); }
  /// Takes back every tie made since `mark`.
  void Undo(size_t mark);
  /// What the ties cost: intervals compared or moved.
  int64_t work() const { return work_; }

 private:
  struct Change {
    BufferId child;   // the root that joined `parent`'s group
    BufferId parent;
    size_t intervals;  // how many of child's intervals were added to parent's map
  };
  std::vector<BufferId> parent_;
  std::vector<int64_t> offset_;  // from the parent's first byte
  std::vector<int> size_;        // roots: buffers in the group
  std::vector<bool> movable_;
  // Roots: [begin, end) of every buffer in the group, relative to the root, by begin.
  std::vector<std::map<int64_t, int64_t>> taken_;
  std::vector<Change> log_;
  std::vector<int64_t> inserted_;  // keys added to the parents' maps, in log order
  int64_t work_ = 0;
};

}  // namespace tg::compile
