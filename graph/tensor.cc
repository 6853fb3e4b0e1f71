#include "graph/tensor.h"

#include <cstdint>
#include <cstring>

#include "fmt/format.h"

namespace tg {
namespace {

bool IsKnownDType(DType t) {
  return t == DType::kF32 || t == DType::kF64 || t == DType::kI32;
}

}  // namespace

void Tensor::SetZero() const {
  if (num_bytes() > 0) std::memset(data_, 0, num_bytes());
}

absl::Status Tensor::CopyFrom(const Tensor& src) const {
  if (src.dtype() != dtype_ || src.num_elements() != num_elements()) {
    return absl::InvalidArgumentError(fmt::format("Tensor::CopyFrom: cannot copy {} {} into {} {}",
                                                  src.shape(), src.dtype(), shape_, dtype_));
  }
  if (num_bytes() > 0) std::memmove(data_, src.raw(), num_bytes());
  return absl::OkStatus();
}

absl::Status Tensor::DTypeMismatch(DType asked) const {
  return absl::InvalidArgumentError(
      fmt::format("tensor {} holds {}, not {}", shape_, dtype_, asked));
}

void SetMaxTensorBytes(size_t bytes) {
  internal::max_tensor_bytes.store(bytes, std::memory_order_relaxed);
}
size_t MaxTensorBytes() { return internal::max_tensor_bytes.load(std::memory_order_relaxed); }

// The slow path of ValidateTensorType: which rule the tensor breaks, or OK for what the
// quick pass cannot decide alone ([2^40, 2^40, 0] overflows on the way to zero elements).
absl::Status internal::TensorTypeError(const Shape& shape, DType dtype) {
  if (!IsKnownDType(dtype)) {
    return absl::InvalidArgumentError(
        fmt::format("unknown dtype {} (f32, f64 or i32)", static_cast<int>(dtype)));
  }
  if (absl::Status s = shape.Validate(); !s.ok()) return s;
  const size_t elements = static_cast<size_t>(*shape.CheckedNumElements());
  size_t bytes = 0;
  if (__builtin_mul_overflow(elements, SizeOf(dtype), &bytes)) {
    return absl::ResourceExhaustedError(fmt::format(
        "tensor {} {} has {} elements, more bytes than memory holds", shape, dtype, elements));
  }
  const size_t limit = MaxTensorBytes();
  if (limit > 0 && bytes > limit) {
    return absl::ResourceExhaustedError(fmt::format(
        "tensor {} {} would take {} bytes, above the limit of {} bytes per tensor "
        "(tg::SetMaxTensorBytes)",
        shape, dtype, bytes, limit));
  }
  return absl::OkStatus();
}

absl::StatusOr<AlignedBuffer> TryAllocateAligned(size_t bytes) {
  if (bytes > SIZE_MAX - 64) {
    return absl::ResourceExhaustedError(fmt::format("cannot allocate {} bytes", bytes));
  }
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) {
    return absl::ResourceExhaustedError(fmt::format("out of memory allocating {} bytes", bytes));
  }
  return AlignedBuffer(static_cast<std::byte*>(p));
}

AlignedBuffer AllocateAligned(size_t bytes) {
  absl::StatusOr<AlignedBuffer> buffer = TryAllocateAligned(bytes);
  TG_CHECK(buffer.ok()) << buffer.status().message();
  return *std::move(buffer);
}

}  // namespace tg
