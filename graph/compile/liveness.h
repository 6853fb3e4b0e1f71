// What memory a program touches and in which order: the logical buffers (maximal byte ranges
// that recorded tensors cover; without Backward's buffer reuse each is one value or
// gradient with its views) and, from every read, write and accumulate, which instructions
// must stay before which. Accumulates into the same bytes commute, so they never order each
// other: that is what lets a sum of weight-gradient products run as one product.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "graph/compile/program.h"

namespace tg::compile {

struct ByteRange {
  const std::byte* begin = nullptr;
  const std::byte* end = nullptr;
};
ByteRange RangeOf(const Tensor& t);

class BufferMap {
 public:
  // `tensors`: every tensor of the graph (values of all nodes). `movable(p)`: whether the
  // memory at p may be moved (the graph's arena; parameters and their gradients may not).
  template <class Movable>
  BufferMap(absl::Span<const Tensor> tensors, Movable movable) {
    Build(tensors);
    for (Buffer& b : buffers_) b.movable = movable(b.range.begin);
  }

  struct Buffer {
    ByteRange range;
    bool movable = false;
    size_t bytes() const { return static_cast<size_t>(range.end - range.begin); }
  };
  int size() const { return static_cast<int>(buffers_.size()); }
  const Buffer& buffer(int i) const { return buffers_[i]; }
  // The buffer a tensor lies in, or -1 (an empty tensor, or memory never recorded).
  int Find(const Tensor& t) const;
  // The tensor's byte offset inside its buffer.
  int64_t OffsetIn(int buffer, const Tensor& t) const;

 private:
  void Build(absl::Span<const Tensor> tensors);
  std::vector<Buffer> buffers_;  // sorted by address, disjoint
};

class Dependencies {
 public:
  Dependencies(const Program& program, const BufferMap& buffers);
  // Instructions that must run before / after instruction i.
  absl::Span<const int> before(int i) const { return before_[i]; }
  absl::Span<const int> after(int i) const { return after_[i]; }

 private:
  std::vector<std::vector<int>> before_, after_;
};

}  // namespace tg::compile
