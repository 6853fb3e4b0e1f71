/// \file
/// What memory a program touches and in which order: the logical buffers (maximal byte ranges
/// that recorded tensors cover; without Backward's buffer reuse each is one value or
/// gradient with its views) and, from every read, write and accumulate, which instructions
/// must stay before which. Accumulates into the same bytes commute, so they never order each
/// other: that is what lets a sum of weight-gradient products run as one product.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "graph/compile/program.h"

namespace tg::compile {

/// The bytes [begin, end).
struct ByteRange {
  const std::byte* begin = nullptr;  ///< First byte.
  const std::byte* end = nullptr;  ///< One past the last byte.
};
/// The bytes tensor `t` covers.
ByteRange RangeOf(const Tensor& t);

/// The logical buffers of a program: maximal disjoint byte ranges covered by its tensors,
/// sorted by address.
class BufferMap {
 public:
  /// `tensors`: every tensor of the graph (values of all nodes). `movable(p)`: whether the
  /// memory at p may be moved (the graph's arena; parameters and their gradients may not).
  template <class Movable>
  BufferMap(absl::Span<const Tensor> tensors, Movable movable) {
    Build(tensors);
    for (Buffer& b : buffers_) b.movable = movable(b.range.begin);
  }

  /// One logical buffer.
  struct Buffer {
    ByteRange range;  ///< The bytes it covers, in the recorded memory.
    bool movable = false;  ///< Whether the memory plan may move it.
    /// Its size in bytes.
    size_t bytes() const { return static_cast<size_t>(range.end - range.begin); }
  };
  /// Number of buffers.
  int size() const { return static_cast<int>(buffers_.size()); }
  /// Buffer i, by address order.
  const Buffer& buffer(int i) const { return buffers_[i]; }
  /// The buffer a tensor lies in, or -1 (an empty tensor, or memory never recorded).
  int Find(const Tensor& t) const;
  /// The tensor's byte offset inside its buffer.
  int64_t OffsetIn(int buffer, const Tensor& t) const;

 private:
  void Build(absl::Span<const Tensor> tensors);
  std::vector<Buffer> buffers_;  // sorted by address, disjoint
};

/// Which instructions must stay before which, from every read, write and accumulate of
/// the buffers' bytes (accumulates into the same bytes do not order each other).
class Dependencies {
 public:
  /// The dependencies of `program`, whose tensors lie in `buffers`.
  Dependencies(const Program& program, const BufferMap& buffers);
  /// Instructions that must run before instruction i.
  absl::Span<const int> before(int i) const { return before_[i]; }
  /// Instructions that must run after instruction i.
  absl::Span<const int> after(int i) const { return after_[i]; }

 private:
  std::vector<std::vector<int>> before_, after_;
};

}  // namespace tg::compile
