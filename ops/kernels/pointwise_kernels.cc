// The pointwise loop of one ISA for every functor of TG_POINTWISE_FUNCTORS (compiled once per
// ISA; pointwise.h's drivers pick the active one).
#include <cstdint>
#include <utility>

#include "ops/kernels/pointwise.h"
#include "ops/kernels/pointwise_map_internal.h"
#include "ops/kernels/simd.h"

namespace tg::kernels::TG_KERNEL_ISA {
namespace {

template <class T, class F, std::size_t... K>
void MapEach(const F& f, T* out, int64_t n, bool accumulate, const internal::Operand<T>* src,
             std::index_sequence<K...>) {
  Map(f, out, n, accumulate, Source<T>(src[K])...);
}

}  // namespace

template <class T, class F, int N>
void MapOperands(const F& f, T* out, int64_t n, bool accumulate,
                 const internal::Operand<T>* src) {
  MapEach(f, out, n, accumulate, src, std::make_index_sequence<N>());
}

#define TG_INSTANTIATE_MAP(F, N)                                                          \
  template void MapOperands<float, F, N>(const F&, float*, int64_t, bool,                 \
                                         const internal::Operand<float>*);                \
  template void MapOperands<double, F, N>(const F&, double*, int64_t, bool,               \
                                          const internal::Operand<double>*);
TG_POINTWISE_FUNCTORS(TG_INSTANTIATE_MAP)
#undef TG_INSTANTIATE_MAP

}  // namespace tg::kernels::TG_KERNEL_ISA
