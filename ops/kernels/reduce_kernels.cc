// The reductions and row-wise softmax kernels of one ISA (compiled once per ISA; reduce.cc
// calls the active one's table).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ops/kernels/pointwise_map_internal.h"
#include "ops/kernels/reduce_internal.h"
#include "ops/kernels/simd.h"

namespace tg::kernels::TG_KERNEL_ISA {
namespace {

// Independent accumulators: hide the add latency (4 cycles, 2 ports).
constexpr int kAcc = 4;

// Fixed-order tree over the lanes of v.
template <class T, class Op>
T Horizontal(Batch<T> v, Op op) {
  alignas(64) T buf[kWidth<T>];
  v.store_aligned(buf);
  for (int64_t w = kWidth<T> / 2; w >= 1; w /= 2) {
    for (int64_t j = 0; j < w; ++j) buf[j] = op(buf[j], buf[j + w]);
  }
  return buf[0];
}

template <class T>
T HorizontalSum(Batch<T> v) {
  return Horizontal<T>(v, [](T a, T b) { return a + b; });
}

// sum_i f(x[i]) with f applied to whole batches; the zero-padded tail batch
// is masked after f, since f(0) need not be 0.
template <class T, class F>
T MapSum(F f, const T* x, int64_t n) {
  constexpr int64_t w = kWidth<T>;
  Batch<T> acc[kAcc];
  for (auto& a : acc) a = Batch<T>(T(0));
  int64_t i = 0;
  for (; i + kAcc * w <= n; i += kAcc * w) {
    for (int u = 0; u < kAcc; ++u) {
      acc[u] += f(Batch<T>::load_unaligned(x + i + u * w));
    }
  }
  for (; i + w <= n; i += w) acc[0] += f(Batch<T>::load_unaligned(x + i));
  const int64_t len = n - i;
  if (len > 0) {
    alignas(64) T buf[w] = {};
    for (int64_t j = 0; j < len; ++j) buf[j] = x[i + j];
    f(Batch<T>::load_aligned(buf)).store_aligned(buf);
    for (int64_t j = len; j < w; ++j) buf[j] = T(0);
    acc[1] += Batch<T>::load_aligned(buf);
  }
  return HorizontalSum<T>((acc[0] + acc[1]) + (acc[2] + acc[3]));
}

template <class T>
T RowMax(const T* x, int64_t n) {
  constexpr int64_t w = kWidth<T>;
  Batch<T> m(x[0]);
  int64_t i = 0;
  for (; i + w <= n; i += w) m = xsimd::max(m, Batch<T>::load_unaligned(x + i));
  T r = Horizontal<T>(m, [](T a, T b) { return std::max(a, b); });
  for (; i < n; ++i) r = std::max(r, x[i]);
  return r;
}

// sum_i exp(x[i] - m) for a row.
template <class T>
T SumExp(const T* x, int64_t n, T m) {
  const Batch<T> bm(m);
  return MapSum([bm](Batch<T> v) { return xsimd::exp(v - bm); }, x, n);
}

template <class T>
T Sum(const T* x, int64_t n) {
  return MapSum([](Batch<T> v) { return v; }, x, n);
}

template <class T>
void SumAxis(const T* x, T* out, int64_t outer, int64_t axis, int64_t inner,
             bool accumulate) {
  constexpr int64_t w = kWidth<T>;
  auto emit = [accumulate](T* dst, T s) { *dst = accumulate ? *dst + s : s; };
  for (int64_t o = 0; o < outer; ++o) {
    const T* xo = x + o * axis * inner;
    T* oo = out + o * inner;
    if (inner == 1) {
      emit(oo, Sum(xo, axis));
      continue;
    }
    // Each column's sum runs over a in order, in a SIMD lane or in the scalar
    // tail alike, so every column gets the same bits either way.
    int64_t j = 0;
    for (; j + kAcc * w <= inner; j += kAcc * w) {
      Batch<T> acc[kAcc];
      for (auto& a : acc) a = Batch<T>(T(0));
      for (int64_t a = 0; a < axis; ++a) {
        const T* row = xo + a * inner + j;
        for (int u = 0; u < kAcc; ++u) {
          acc[u] += Batch<T>::load_unaligned(row + u * w);
        }
      }
      for (int u = 0; u < kAcc; ++u) {
        T* dst = oo + j + u * w;
        if (accumulate) acc[u] += Batch<T>::load_unaligned(dst);
        acc[u].store_unaligned(dst);
      }
    }
    for (; j + w <= inner; j += w) {
      Batch<T> acc(T(0));
      for (int64_t a = 0; a < axis; ++a) {
        acc += Batch<T>::load_unaligned(xo + a * inner + j);
      }
      if (accumulate) acc += Batch<T>::load_unaligned(oo + j);
      acc.store_unaligned(oo + j);
    }
    for (; j < inner; ++j) {
      T s = T(0);
      for (int64_t a = 0; a < axis; ++a) s += xo[a * inner + j];
      emit(oo + j, s);
    }
  }
}

// Two passes per row (sum of exps, then exp / sum) instead of staging exps in
// out: no scratch memory, and accumulate mode gets the same bits.
template <class T>
void SoftmaxRows(const T* x, T* out, int64_t rows, int64_t cols,
                 bool accumulate) {
  if (cols <= 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    const T m = RowMax(xr, cols);
    const Batch<T> bm(m), bs(SumExp(xr, cols, m));
    UnaryHere([bm, bs](Batch<T> v) { return xsimd::exp(v - bm) / bs; }, xr,
          out + r * cols, cols, accumulate);
  }
}

template <class T>
void LogSoftmaxRows(const T* x, T* out, int64_t rows, int64_t cols,
                    bool accumulate) {
  if (cols <= 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    const T m = RowMax(xr, cols);
    const Batch<T> bm(m), bl(std::log(SumExp(xr, cols, m)));
    UnaryHere([bm, bl](Batch<T> v) { return (v - bm) - bl; }, xr, out + r * cols,
          cols, accumulate);
  }
}

template <class T>
void SoftmaxCrossEntropyRows(const T* logits, const int32_t* targets,
                             int64_t rows, int64_t cols, T* per_row_loss) {
  if (cols <= 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = logits + r * cols;
    const T m = RowMax(xr, cols);
    // Both terms are >= 0 (m is the max, the sum is >= 1): no cancellation.
    per_row_loss[r] = (m - xr[targets[r]]) + std::log(SumExp(xr, cols, m));
  }
}

template <class T>
constexpr internal::ReduceKernels<T> kReduceKernels = {
    .sum = Sum<T>,
    .sum_axis = SumAxis<T>,
    .softmax_rows = SoftmaxRows<T>,
    .log_softmax_rows = LogSoftmaxRows<T>,
    .softmax_cross_entropy_rows = SoftmaxCrossEntropyRows<T>,
};

}  // namespace

const internal::ReduceTable kReduceTable = {.f32 = kReduceKernels<float>,
                                            .f64 = kReduceKernels<double>};

}  // namespace tg::kernels::TG_KERNEL_ISA
