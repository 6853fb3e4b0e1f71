#include "graph/tensor.h"

#include <cstring>

namespace tg {

void Tensor::SetZero() const {
  if (num_bytes() > 0) std::memset(data_, 0, num_bytes());
}

void Tensor::CopyFrom(const Tensor& src) const {
  TG_CHECK(src.dtype() == dtype_ && src.num_elements() == num_elements());
  if (num_bytes() > 0) std::memmove(data_, src.raw(), num_bytes());
}

AlignedBuffer AllocateAligned(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  TG_CHECK(p != nullptr) << "out of memory allocating " << bytes << " bytes";
  return AlignedBuffer(static_cast<std::byte*>(p));
}

}  // namespace tg
