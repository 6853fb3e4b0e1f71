// The pointwise loop of one ISA (per-ISA kernel sources only, see simd.h): Map runs a functor
// over whole batches and a zero-padded tail batch.
#ifndef TAPEGRAD_OPS_KERNELS_POINTWISE_MAP_INTERNAL_H_
#define TAPEGRAD_OPS_KERNELS_POINTWISE_MAP_INTERNAL_H_

#include <cstdint>

#include "ops/kernels/pointwise.h"
#include "ops/kernels/simd.h"

namespace tg::kernels::TG_KERNEL_ISA {

// One input of a pointwise kernel: contiguous (stride 1) or a single value
// broadcast over all n elements (stride 0).
template <class T>
class Source {
 public:
  explicit Source(internal::Operand<T> op)
      : p_(op.data), contiguous_(op.stride != 0), splat_(contiguous_ ? T(0) : *op.data) {}

  Batch<T> Load(int64_t i) const {
    return contiguous_ ? Batch<T>::load_unaligned(p_ + i) : splat_;
  }

  // The last partial batch, zero-padded, so the functor still sees a full
  // batch and the tail gets the same arithmetic as the body.
  Batch<T> LoadTail(int64_t i, int64_t len) const {
    if (!contiguous_) return splat_;
    alignas(64) T buf[kWidth<T>] = {};
    for (int64_t j = 0; j < len; ++j) buf[j] = p_[i + j];
    return Batch<T>::load_aligned(buf);
  }

 private:
  const T* p_;
  bool contiguous_;
  Batch<T> splat_;
};

// out[i] (+)= f(src[i]...). Each batch is loaded before it is stored, so out
// may alias any contiguous input.
template <class T, class F, class... S>
void Map(F f, T* out, int64_t n, bool accumulate, const S&... src) {
  constexpr int64_t w = kWidth<T>;
  int64_t i = 0;
  if (accumulate) {
    for (; i + w <= n; i += w) {
      Batch<T> r = Batch<T>::load_unaligned(out + i) + f(src.Load(i)...);
      r.store_unaligned(out + i);
    }
  } else {
    for (; i + w <= n; i += w) f(src.Load(i)...).store_unaligned(out + i);
  }
  const int64_t len = n - i;
  if (len <= 0) return;
  alignas(64) T buf[w] = {};
  Batch<T> r = f(src.LoadTail(i, len)...);
  if (accumulate) {
    for (int64_t j = 0; j < len; ++j) buf[j] = out[i + j];
    r = Batch<T>::load_aligned(buf) + r;
  }
  r.store_aligned(buf);
  for (int64_t j = 0; j < len; ++j) out[i + j] = buf[j];
}

// out[i] (+)= f(x[i]) on this ISA, on the calling thread.
template <class T, class F>
void UnaryHere(F f, const T* x, T* out, int64_t n, bool accumulate) {
  if (n > 0) Map(f, out, n, accumulate, Source<T>({x, 1}));
}

}  // namespace tg::kernels::TG_KERNEL_ISA

#endif  // TAPEGRAD_OPS_KERNELS_POINTWISE_MAP_INTERNAL_H_
