#include "graph/compile/liveness.h"

#include <algorithm>

namespace tg::compile {

ByteRange RangeOf(const Tensor& t) {
  const auto* p = static_cast<const std::byte*>(t.raw());
  return {p, p + t.num_bytes()};
}

void BufferMap::Build(absl::Span<const Tensor> tensors) {
  std::vector<ByteRange> ranges;
  for (const Tensor& t : tensors) {
    if (t.raw() != nullptr && t.num_bytes() > 0) ranges.push_back(RangeOf(t));
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; });
  for (const ByteRange& r : ranges) {
    if (!buffers_.empty() && r.begin < buffers_.back().range.end) {
      buffers_.back().range.end = std::max(buffers_.back().range.end, r.end);
    } else {
      buffers_.push_back({.range = r});
    }
  }
}

int BufferMap::Find(const Tensor& t) const {
  const auto* p = static_cast<const std::byte*>(t.raw());
  if (p == nullptr || t.num_bytes() == 0) return -1;
  auto it = std::upper_bound(buffers_.begin(), buffers_.end(), p,
                             [](const std::byte* q, const Buffer& b) { return q < b.range.begin; });
  if (it == buffers_.begin()) return -1;
  --it;
  return p < it->range.end ? static_cast<int>(it - buffers_.begin()) : -1;
}

int64_t BufferMap::OffsetIn(int buffer, const Tensor& t) const {
  return static_cast<const std::byte*>(t.raw()) - buffers_[buffer].range.begin;
}

namespace {

enum class Access : uint8_t { kRead, kWrite, kAccumulate };

struct Touch {
  int instruction;
  Access access;
  ByteRange range;
};

bool Overlap(const ByteRange& a, const ByteRange& b) {
  return a.begin < b.end && b.begin < a.end;
}

// Two touches of the same bytes must keep their order unless both read or both accumulate.
bool Conflict(const Touch& a, const Touch& b) {
  if (a.access == b.access && a.access != Access::kWrite) return false;
  return Overlap(a.range, b.range);
}

}  // namespace

Dependencies::Dependencies(const Program& program, const BufferMap& buffers)
    : before_(program.size()), after_(program.size()) {
  std::vector<std::vector<Touch>> touches(buffers.size());
  for (int i = 0; i < static_cast<int>(program.size()); ++i) {
    const Instruction& in = program[i];
    for (const Tensor& t : in.inputs) {
      int b = buffers.Find(t);
      if (b >= 0) touches[b].push_back({i, Access::kRead, RangeOf(t)});
    }
    int b = buffers.Find(in.output);
    if (b >= 0) {
      touches[b].push_back(
          {i, in.accumulate ? Access::kAccumulate : Access::kWrite, RangeOf(in.output)});
    }
  }
  for (const std::vector<Touch>& list : touches) {
    for (size_t j = 0; j < list.size(); ++j) {
      for (size_t k = j + 1; k < list.size(); ++k) {
        const Touch &a = list[j], &b = list[k];
        if (a.instruction == b.instruction || !Conflict(a, b)) continue;
        before_[b.instruction].push_back(a.instruction);
        after_[a.instruction].push_back(b.instruction);
      }
    }
  }
}

}  // namespace tg::compile
