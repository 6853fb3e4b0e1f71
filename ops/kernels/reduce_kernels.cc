// The reductions and row-wise softmax and normalisation kernels of one ISA (compiled once per ISA; reduce.cc
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

// Column sums of a * b, each column's over the rows in order (in a SIMD lane or in the scalar
// tail alike), kAcc batches of columns held in registers over all rows.
template <class T>
void MulSumRows(const T* a, const T* b, T* out, int64_t rows, int64_t cols, bool accumulate) {
  constexpr int64_t w = kWidth<T>;
  int64_t j = 0;
  for (; j + kAcc * w <= cols; j += kAcc * w) {
    Batch<T> acc[kAcc];
    for (auto& x : acc) x = Batch<T>(T(0));
    for (int64_t r = 0; r < rows; ++r) {
      for (int u = 0; u < kAcc; ++u) {
        const int64_t at = r * cols + j + u * w;
        acc[u] = xsimd::fma(Batch<T>::load_unaligned(a + at), Batch<T>::load_unaligned(b + at),
                            acc[u]);
      }
    }
    for (int u = 0; u < kAcc; ++u) {
      if (accumulate) acc[u] += Batch<T>::load_unaligned(out + j + u * w);
      acc[u].store_unaligned(out + j + u * w);
    }
  }
  for (; j + w <= cols; j += w) {
    Batch<T> acc(T(0));
    for (int64_t r = 0; r < rows; ++r) {
      acc = xsimd::fma(Batch<T>::load_unaligned(a + r * cols + j),
                       Batch<T>::load_unaligned(b + r * cols + j), acc);
    }
    if (accumulate) acc += Batch<T>::load_unaligned(out + j);
    acc.store_unaligned(out + j);
  }
  for (; j < cols; ++j) {
    T s = T(0);
    for (int64_t r = 0; r < rows; ++r) s = std::fma(a[r * cols + j], b[r * cols + j], s);
    out[j] = accumulate ? out[j] + s : s;
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

// Normalisation statistics in one pass over shifted data: with K = x[0] and d = x - K, the
// sums of d and d^2 (and, for the gradient, of dy and dy d), then var = mean(d^2) - mean(d)^2.
// The shift keeps that difference from cancelling (x - K is exact where x is near K, however
// far the mean is from 0), and the sums run side by side, so a short row waits for one
// horizontal sum, not one per statistic in a row. A fixed order for a given length:
// deterministic.
template <class T>
struct RowSums {
  T k;  // the shift, x[0]
  T d, dd, g, gd;  // sums of d, d^2, dy, dy d (the last two with a gradient only)
};

template <class T, bool kGrad>
inline RowSums<T> SumRow(const T* x, const T* dy, int64_t n) {
  constexpr int64_t w = kWidth<T>;
  const T k = x[0];
  const Batch<T> bk(k);
  Batch<T> s0(T(0)), s1(T(0)), q0(T(0)), q1(T(0)), g0(T(0)), g1(T(0)), p0(T(0)), p1(T(0));
  auto add = [&](int64_t i, Batch<T>& s, Batch<T>& q, Batch<T>& g, Batch<T>& p) {
    const Batch<T> d = Batch<T>::load_unaligned(x + i) - bk;
    s += d;
    q = xsimd::fma(d, d, q);
    if constexpr (kGrad) {
      const Batch<T> e = Batch<T>::load_unaligned(dy + i);
      g += e;
      p = xsimd::fma(e, d, p);
    }
  };
  int64_t i = 0;
  for (; i + 2 * w <= n; i += 2 * w) {
    add(i, s0, q0, g0, p0);
    add(i + w, s1, q1, g1, p1);
  }
  if (i + w <= n) {
    add(i, s0, q0, g0, p0);
    i += w;
  }
  RowSums<T> r{k, xsimd::hadd(s0 + s1), xsimd::hadd(q0 + q1), T(0), T(0)};
  if constexpr (kGrad) {
    r.g = xsimd::hadd(g0 + g1);
    r.gd = xsimd::hadd(p0 + p1);
  }
  for (; i < n; ++i) {
    const T d = x[i] - k;
    r.d += d;
    r.dd += d * d;
    if constexpr (kGrad) {
      r.g += dy[i];
      r.gd += dy[i] * d;
    }
  }
  return r;
}

// A row's mean, as K + shift (kept apart: x - K - shift loses nothing where K + shift, rounded,
// would lose the digits of a spread far smaller than the mean), and s = 1 / sqrt(var + eps).
template <class T>
struct RowMoments {
  T k, shift, rstd;
};

template <class T>
inline RowMoments<T> Moments(const RowSums<T>& sums, T inv_n, T eps) {
  const T shift = sums.d * inv_n;
  const T var = std::max(sums.dd * inv_n - shift * shift, T(0));
  return {sums.k, shift, T(1) / std::sqrt(var + eps)};
}

template <class T>
void NormalizeRows(const T* x, T* out, int64_t rows, int64_t cols, T eps, bool accumulate) {
  if (cols <= 0) return;
  const T inv_n = T(1) / static_cast<T>(cols);
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    const RowMoments<T> m = Moments(SumRow<T, false>(xr, nullptr, cols), inv_n, eps);
    const Batch<T> bk(m.k), bshift(m.shift), bs(m.rstd);
    UnaryHere([bk, bshift, bs](Batch<T> v) { return ((v - bk) - bshift) * bs; }, xr,
              out + r * cols, cols, accumulate);
  }
}

// out = s * (dy - mean(dy) - y * mean(dy * y)), y = (x - mean) * s recomputed from x (the
// row is in L1, and the forward's statistics need no memory of their own). The sums come
// from the same pass as the statistics: sum(dy y) = s * (sum(dy d) - shift * sum(dy)).
template <class T>
void NormalizeGradRows(const T* x, const T* dy, T* out, int64_t rows, int64_t cols, T eps,
                       bool accumulate) {
  if (cols <= 0) return;
  const T inv_n = T(1) / static_cast<T>(cols);
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    const T* dr = dy + r * cols;
    const RowSums<T> sums = SumRow<T, true>(xr, dr, cols);
    const RowMoments<T> m = Moments(sums, inv_n, eps);
    const T mean_dy = sums.g * inv_n;
    const T mean_dyy = m.rstd * (sums.gd - m.shift * sums.g) * inv_n;
    const Batch<T> bk(m.k), bshift(m.shift), bs(m.rstd), ba(mean_dy), bb(mean_dyy);
    Map([bk, bshift, bs, ba, bb](Batch<T> v, Batch<T> d) {
          const Batch<T> y = ((v - bk) - bshift) * bs;
          return bs * (d - ba - y * bb);
        },
        out + r * cols, cols, accumulate, Source<T>({xr, 1}), Source<T>({dr, 1}));
  }
}

template <class T>
constexpr internal::ReduceKernels<T> kReduceKernels = {
    .sum = Sum<T>,
    .sum_axis = SumAxis<T>,
    .softmax_rows = SoftmaxRows<T>,
    .log_softmax_rows = LogSoftmaxRows<T>,
    .softmax_cross_entropy_rows = SoftmaxCrossEntropyRows<T>,
    .mul_sum_rows = MulSumRows<T>,
    .normalize_rows = NormalizeRows<T>,
    .normalize_grad_rows = NormalizeGradRows<T>,
};

}  // namespace

const internal::ReduceTable kReduceTable = {.f32 = kReduceKernels<float>,
                                            .f64 = kReduceKernels<double>};

}  // namespace tg::kernels::TG_KERNEL_ISA
