// Elementwise kernels: Unary / Binary / Ternary drivers plus one functor per
// op. A functor's operator() is a template over B, called with a Batch<T> of the
// active ISA (isa.h) by the per-ISA loops of pointwise_kernels.cc, and with a
// plain float/double by tests, where it takes the naive std:: path (the scalar
// reference). The drivers here only split the work; each range runs the loop
// built for the active ISA, through a pointer chosen on the first call.
//
// With threads > 1, work over at least kParallelPointwise output elements is
// split into ranges run on ThreadPool::Shared() (thread_pool.h). Range
// boundaries fall on whole SIMD batches (SplitPointwise), so results are
// bitwise the same for any thread count.
#ifndef TAPEGRAD_OPS_KERNELS_POINTWISE_H_
#define TAPEGRAD_OPS_KERNELS_POINTWISE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "ops/kernels/isa.h"
#include "ops/kernels/xsimd_include.h"
#include "base/thread_pool.h"

namespace tg::kernels {

// True for xsimd batches, false for scalars: lets one functor body serve the
// SIMD path and the scalar reference.
template <class B>
inline constexpr bool kIsBatch = !std::is_floating_point_v<B>;

// Element type of a batch or a scalar.
template <class B>
struct ScalarOf {
  using type = B;
};
template <class T, class A>
struct ScalarOf<xsimd::batch<T, A>> {
  using type = T;
};
template <class B>
using ScalarOfT = typename ScalarOf<B>::type;

// A constant as B (batch or scalar); constants in functors are stored as
// double so one functor object serves float and double.
template <class B>
inline B Splat(double c) {
  return B(static_cast<ScalarOfT<B>>(c));
}

// Lanes of T in the widest register any built ISA uses (AVX-512: 64 bytes).
template <class T>
inline constexpr int64_t kMaxWidth = static_cast<int64_t>(64 / sizeof(T));

namespace internal {

// One input of a pointwise kernel: contiguous (stride 1) or a single value
// broadcast over all n elements (stride 0).
template <class T>
struct Operand {
  const T* data;
  int64_t stride;
  Operand Advanced(int64_t i) const { return {stride != 0 ? data + i : data, stride}; }
};

// The per-ISA pointwise loop (pointwise_kernels.cc): out[i] (+)= f(src[0][i], ...,
// src[N-1][i]) over [0, n). Each batch is loaded before it is stored, so out may alias any
// contiguous input. Instantiated for every functor in TG_POINTWISE_FUNCTORS.
template <class T, class F, int N>
using MapKernel = void (*)(const F& f, T* out, int64_t n, bool accumulate, const Operand<T>* src);

}  // namespace internal

namespace avx2 {
// MapKernel built for AVX2.
template <class T, class F, int N>
void MapOperands(const F& f, T* out, int64_t n, bool accumulate, const internal::Operand<T>* src);
}  // namespace avx2
namespace avx512 {
// MapKernel built for AVX-512.
template <class T, class F, int N>
void MapOperands(const F& f, T* out, int64_t n, bool accumulate, const internal::Operand<T>* src);
}  // namespace avx512

// Pointwise work over fewer output elements than this runs on the caller
// alone, whatever the thread count, and never touches the pool. On an idle
// 2-core Zen3 (bench/pointwise_bench.cc, real time, 1 vs 2 threads) an f32 add
// took 0.87 vs 0.96 us at 4K elements, 3.1 vs 2.1 us at 16K, 11.7 vs 6.5 us at
// 64K; a tanh 1.3 vs 1.4, 5.4 vs 4.9, 31 vs 19 us.
inline constexpr int64_t kParallelPointwise = int64_t{1} << 14;

// How ParallelRanges splits [0, n) of T for `threads`: `chunks` ranges, the
// c-th from Begin(c) to Begin(c + 1) (Begin(chunks) = n). chunks == 1: one
// range [0, n) on the caller. Exposed for tests.
//
// The output may be made of runs of `run` elements, each mapped by its own
// call (broadcasting); run = 0 means one run of n. A boundary sits a multiple
// of `line` elements (64 bytes, a whole number of SIMD batches) past the start
// of its run, so each element lands in the same batch, with the same
// neighbours, as on one thread, and a range ends in a partial batch only where
// the run ends: bitwise the same results even where the compiler contracts
// the accumulating add into an FMA in the body but not in the tail. (For an
// output that starts on a cache line, ranges also never share a line.)
struct PointwiseSplit {
  int chunks = 1;
  int64_t size = 0;  // nominal range length, a multiple of line
  int64_t run = 0;
  int64_t line = 1;
  int64_t Begin(int c, int64_t n) const {
    if (c >= chunks) return n;
    const int64_t x = c * size;
    return run > 0 ? x - x % run % line : x;
  }
};

// min_parallel: kParallelPointwise except in tests and
// bench/pointwise_bench.cc.
template <class T>
PointwiseSplit SplitPointwise(int64_t n, int threads, int64_t run = 0,
                              int64_t min_parallel = kParallelPointwise) {
  constexpr int64_t line = kMaxWidth<T>;
  if (threads <= 1 || n < std::max(min_parallel, 2 * line)) {
    return {.chunks = 1, .size = n, .run = 0, .line = line};
  }
  // A few ranges per thread: claimed dynamically, they let the caller and a
  // worker that starts late still finish together.
  const int64_t want = std::min<int64_t>(4 * int64_t{threads}, 4095);
  int64_t size = (n + want - 1) / want;
  size = (size + line - 1) / line * line;
  const int64_t chunks = (n + size - 1) / size;
  return {.chunks = static_cast<int>(chunks), .size = size,
          .run = run >= n ? 0 : run, .line = line};
}

// Calls body(begin, end) on ranges covering [0, n) once each, as
// SplitPointwise<T>(n, threads, run) says: on the caller and pool workers, or
// on the caller alone as body(0, n).
template <class T, class Body>
void ParallelRanges(int64_t n, int threads, Body&& body, int64_t run = 0,
                    int64_t min_parallel = kParallelPointwise) {
  const PointwiseSplit s = SplitPointwise<T>(n, threads, run, min_parallel);
  if (s.chunks <= 1) {
    body(int64_t{0}, n);
    return;
  }
  ThreadPool::Shared().ParallelFor(s.chunks, threads, [&](int c) {
    body(s.Begin(c, n), s.Begin(c + 1, n));
  });
}

// Every functor the kernels are built for, with its arity: each is instantiated once per ISA
// (pointwise_kernels.cc). Unary, Binary and Ternary take no other functor.
#define TG_POINTWISE_FUNCTORS(X)                                                      \
  X(CopyFn, 1) X(NegFn, 1) X(ScaleFn, 1) X(AddScalarFn, 1) X(SquareFn, 1) X(ReluFn, 1) \
  X(SigmoidFn, 1) X(TanhFn, 1) X(ExpFn, 1) X(LogFn, 1) X(SqrtFn, 1)                  \
  X(AddFn, 2) X(SubFn, 2) X(MulFn, 2) X(DivFn, 2) X(ReluGradFn, 2)                   \
  X(SigmoidGradFn, 2) X(TanhGradFn, 2) X(MulAddFn, 3)

namespace internal {

// Whether TG_POINTWISE_FUNCTORS lists F with arity N.
template <class F, int N>
inline constexpr bool kListedFunctor = false;

// Map over [0, n) on the active ISA, split across `threads` when large.
template <class T, class F, int N>
void ParallelMap(const F& f, T* out, int64_t n, bool accumulate, int threads,
                 const Operand<T> (&src)[N]) {
  static_assert(kListedFunctor<F, N>,
                "list the functor in TG_POINTWISE_FUNCTORS (ops/kernels/pointwise.h), which "
                "builds it for each ISA");
  static const MapKernel<T, F, N> map =
      ForActiveIsa<MapKernel<T, F, N>>(&avx2::MapOperands<T, F, N>, &avx512::MapOperands<T, F, N>);
  ParallelRanges<T>(n, threads, [&](int64_t begin, int64_t end) {
    Operand<T> part[N];
    for (int k = 0; k < N; ++k) part[k] = src[k].Advanced(begin);
    map(f, out + begin, end - begin, accumulate, part);
  });
}

}  // namespace internal

// out[i] = f(x[i]), or out[i] += f(x[i]) when accumulate. Any alignment and
// length; out may alias x. threads: as for Gemm (the caller plus up to
// threads - 1 pool workers), used from kParallelPointwise elements on.
template <class T, class F>
void Unary(F f, const T* x, T* out, int64_t n, bool accumulate, int threads = 1) {
  if (n <= 0) return;
  const internal::Operand<T> src[] = {{x, 1}};
  internal::ParallelMap<T, F, 1>(f, out, n, accumulate, threads, src);
}

// out[i] (+)= f(a[i], b[i]). A stride is 1 (contiguous) or 0 (a single value
// broadcast over n).
template <class T, class F>
void Binary(F f, const T* a, int64_t a_stride, const T* b, int64_t b_stride,
            T* out, int64_t n, bool accumulate, int threads = 1) {
  if (n <= 0) return;
  const internal::Operand<T> src[] = {{a, a_stride}, {b, b_stride}};
  internal::ParallelMap<T, F, 2>(f, out, n, accumulate, threads, src);
}

// out[i] (+)= f(a[i], b[i], c[i]); strides as in Binary.
template <class T, class F>
void Ternary(F f, const T* a, int64_t a_stride, const T* b, int64_t b_stride,
             const T* c, int64_t c_stride, T* out, int64_t n, bool accumulate,
             int threads = 1) {
  if (n <= 0) return;
  const internal::Operand<T> src[] = {{a, a_stride}, {b, b_stride}, {c, c_stride}};
  internal::ParallelMap<T, F, 3>(f, out, n, accumulate, threads, src);
}

// ---- Functors. B is Batch<float|double> or a scalar float|double. ----

// out = x: the functor of copy.
struct CopyFn {
  template <class B>
  B operator()(B x) const {
    return x;
  }
};

struct AddFn {
  template <class B>
  B operator()(B a, B b) const {
    return a + b;
  }
};

struct SubFn {
  template <class B>
  B operator()(B a, B b) const {
    return a - b;
  }
};

struct MulFn {
  template <class B>
  B operator()(B a, B b) const {
    return a * b;
  }
};

struct DivFn {
  template <class B>
  B operator()(B a, B b) const {
    return a / b;
  }
};

struct NegFn {
  template <class B>
  B operator()(B x) const {
    return -x;
  }
};

// x * c. c is double so one functor serves both element types.
struct ScaleFn {
  double c;
  template <class B>
  B operator()(B x) const {
    return x * Splat<B>(c);
  }
};

// x + c.
struct AddScalarFn {
  double c;
  template <class B>
  B operator()(B x) const {
    return x + Splat<B>(c);
  }
};

struct SquareFn {
  template <class B>
  B operator()(B x) const {
    return x * x;
  }
};

// a * b + c; a gradient helper (e.g. dx += dy * y).
struct MulAddFn {
  template <class B>
  B operator()(B a, B b, B c) const {
    return a * b + c;
  }
};

// max(x, 0) that propagates NaN (a NaN activation should stay visible).
struct ReluFn {
  template <class B>
  B operator()(B x) const {
    if constexpr (kIsBatch<B>) {
      return xsimd::select(x <= B(0), B(0), x);
    } else {
      return x <= B(0) ? B(0) : x;
    }
  }
};

// (x, dy) -> x > 0 ? dy : 0.
struct ReluGradFn {
  template <class B>
  B operator()(B x, B dy) const {
    if constexpr (kIsBatch<B>) {
      return xsimd::select(x > B(0), dy, B(0));
    } else {
      return x > B(0) ? dy : B(0);
    }
  }
};

// 1 / (1 + exp(-x)). The SIMD path evaluates z = exp(-|x|) in (0, 1], which
// never overflows, and returns 1/(1+z) or z/(1+z): full relative accuracy in
// both tails and exact limits 0 and 1 for huge |x|.
struct SigmoidFn {
  template <class B>
  B operator()(B x) const {
    if constexpr (kIsBatch<B>) {
      const B one(1);
      const B z = xsimd::exp(-xsimd::abs(x));
      const B p = one / (one + z);
      return xsimd::select(x >= B(0), p, z * p);
    } else {
      return B(1) / (B(1) + std::exp(-x));
    }
  }
};

// (y, dy) -> dy * y * (1 - y), with y = sigmoid(x) the forward output.
struct SigmoidGradFn {
  template <class B>
  B operator()(B y, B dy) const {
    return dy * y * (B(1) - y);
  }
};

// xsimd::tanh is accurate to ~0.15e-6 relative in f32 (checked by
// PointwiseKernelTest.TanhAccuracyAndLimits against long double) and
// saturates to +-1 without overflow.
struct TanhFn {
  template <class B>
  B operator()(B x) const {
    if constexpr (kIsBatch<B>) {
      return xsimd::tanh(x);
    } else {
      return std::tanh(x);
    }
  }
};

// (y, dy) -> dy * (1 - y*y), with y = tanh(x) the forward output.
struct TanhGradFn {
  template <class B>
  B operator()(B y, B dy) const {
    return dy * (B(1) - y * y);
  }
};

struct ExpFn {
  template <class B>
  B operator()(B x) const {
    if constexpr (kIsBatch<B>) {
      return xsimd::exp(x);
    } else {
      return std::exp(x);
    }
  }
};

struct LogFn {
  template <class B>
  B operator()(B x) const {
    if constexpr (kIsBatch<B>) {
      return xsimd::log(x);
    } else {
      return std::log(x);
    }
  }
};

struct SqrtFn {
  template <class B>
  B operator()(B x) const {
    if constexpr (kIsBatch<B>) {
      return xsimd::sqrt(x);
    } else {
      return std::sqrt(x);
    }
  }
};

namespace internal {
#define TG_POINTWISE_LIST_FUNCTOR(F, N) \
  template <>                           \
  inline constexpr bool kListedFunctor<F, N> = true;
TG_POINTWISE_FUNCTORS(TG_POINTWISE_LIST_FUNCTOR)
#undef TG_POINTWISE_LIST_FUNCTOR
}  // namespace internal

}  // namespace tg::kernels

#endif  // TAPEGRAD_OPS_KERNELS_POINTWISE_H_
