#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "ops/kernels/pointwise.h"
#include "ops/kernels/reduce.h"
#include "base/thread_pool.h"
#include "testing/test_values.h"

namespace tg::kernels {
namespace {

using tg::testing::Uniform;

const int64_t kSizes[] = {1, 3, 17, 33, 1000};

template <class T>
double Rtol() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-14;
}

template <class T>
void ExpectClose(double got, double want, double scale, const char* what,
                 int64_t i) {
  const double tol = Rtol<T>() * scale + 1e-37;
  EXPECT_NEAR(got, want, tol) << what << " at " << i;
}

// Unary(f) against the scalar path of f at every size, from an aligned and an
// unaligned start, plain and accumulating.
template <class T, class F>
void CheckUnary(F f, double lo, double hi) {
  for (int64_t n : kSizes) {
    for (int64_t offset : {0, 1}) {
      for (bool acc : {false, true}) {
        std::vector<T> xs = Uniform<T>(n + 1, lo, hi, 7 + n);
        std::vector<T> out = Uniform<T>(n + 1, -1, 1, 9 + n);
        const std::vector<T> out0 = out;
        Unary(f, xs.data() + offset, out.data() + offset, n, acc);
        for (int64_t i = 0; i < n; ++i) {
          const T fx = f(xs[offset + i]);
          const T base = acc ? out0[offset + i] : T(0);
          ExpectClose<T>(out[offset + i], base + fx,
                         std::fabs(base) + std::fabs(fx), "unary", i);
        }
        if (offset == 1) {
          EXPECT_EQ(out[0], out0[0]) << "wrote before start";
        }
      }
    }
  }
}

template <class T>
void CheckAllUnary() {
  CheckUnary<T>(NegFn{}, -3, 3);
  CheckUnary<T>(ScaleFn{-1.5}, -3, 3);
  CheckUnary<T>(AddScalarFn{0.25}, -3, 3);
  CheckUnary<T>(SquareFn{}, -3, 3);
  CheckUnary<T>(SigmoidFn{}, -20, 20);
  CheckUnary<T>(TanhFn{}, -5, 5);
  CheckUnary<T>(ReluFn{}, -3, 3);
  CheckUnary<T>(ExpFn{}, -30, 30);
  CheckUnary<T>(LogFn{}, 1e-3, 1e3);
  CheckUnary<T>(SqrtFn{}, 0, 1e3);
}

TEST(PointwiseKernelTest, UnaryMatchesScalarReferenceF32) {
  CheckAllUnary<float>();
}
TEST(PointwiseKernelTest, UnaryMatchesScalarReferenceF64) {
  CheckAllUnary<double>();
}

// Binary(f) with every stride combination (1 = contiguous, 0 = broadcast).
template <class T, class F>
void CheckBinary(F f, double lo, double hi) {
  for (int64_t n : kSizes) {
    for (int64_t sa : {0, 1}) {
      for (int64_t sb : {0, 1}) {
        for (bool acc : {false, true}) {
          std::vector<T> a = Uniform<T>(n + 1, lo, hi, 11 + n);
          std::vector<T> b = Uniform<T>(n + 1, lo, hi, 13 + n);
          std::vector<T> out = Uniform<T>(n + 1, -1, 1, 17 + n);
          const std::vector<T> out0 = out;
          Binary(f, a.data() + 1, sa, b.data() + 1, sb, out.data() + 1, n, acc);
          for (int64_t i = 0; i < n; ++i) {
            const T fx = f(a[1 + i * sa], b[1 + i * sb]);
            const T base = acc ? out0[1 + i] : T(0);
            // Rounding scales with the operands, not the result: dy * (1 - y^2) cancels near
            // |y| = 1, and whether the compiler fuses it into an FMA changes the last bits.
            const double operands = std::fabs(a[1 + i * sa] * b[1 + i * sb]) +
                                    std::fabs(b[1 + i * sb]);
            ExpectClose<T>(out[1 + i], base + fx,
                           std::fabs(base) + std::fabs(fx) + operands, "binary", i);
          }
        }
      }
    }
  }
}

template <class T>
void CheckAllBinary() {
  CheckBinary<T>(AddFn{}, -3, 3);
  CheckBinary<T>(SubFn{}, -3, 3);
  CheckBinary<T>(MulFn{}, -3, 3);
  CheckBinary<T>(DivFn{}, 0.5, 2);
  CheckBinary<T>(TanhGradFn{}, -1, 1);
  CheckBinary<T>(SigmoidGradFn{}, 0, 1);
  CheckBinary<T>(ReluGradFn{}, -3, 3);
}

TEST(PointwiseKernelTest, BinaryMatchesScalarReferenceF32) {
  CheckAllBinary<float>();
}
TEST(PointwiseKernelTest, BinaryMatchesScalarReferenceF64) {
  CheckAllBinary<double>();
}

template <class T>
void CheckTernary() {
  for (int64_t n : kSizes) {
    for (int s = 0; s < 8; ++s) {
      const int64_t sa = s & 1, sb = (s >> 1) & 1, sc = (s >> 2) & 1;
      std::vector<T> a = Uniform<T>(n, -2, 2, 1), b = Uniform<T>(n, -2, 2, 2);
      std::vector<T> c = Uniform<T>(n, -2, 2, 3), out(n, T(5));
      Ternary(MulAddFn{}, a.data(), sa, b.data(), sb, c.data(), sc, out.data(),
              n, /*accumulate=*/true);
      for (int64_t i = 0; i < n; ++i) {
        const T fx = a[i * sa] * b[i * sb] + c[i * sc];
        ExpectClose<T>(out[i], 5 + fx, 5 + std::fabs(fx), "ternary", i);
      }
    }
  }
}

TEST(PointwiseKernelTest, TernaryBroadcastsAndAccumulates) {
  CheckTernary<float>();
  CheckTernary<double>();
}

// The zero-padded tail runs the same arithmetic as the body: element i gets
// the same bits whatever n is.
TEST(PointwiseKernelTest, TailBitsMatchBody) {
  const std::vector<float> x = Uniform<float>(64, -30, 30, 5);
  std::vector<float> full(64);
  Unary(SigmoidFn{}, x.data(), full.data(), 64, false);
  for (int64_t n = 1; n <= 40; ++n) {
    std::vector<float> part(n);
    Unary(SigmoidFn{}, x.data(), part.data(), n, false);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(part[i], full[i]) << n << " " << i;
  }
}

TEST(PointwiseKernelTest, OutputMayAliasInput) {
  std::vector<double> x = Uniform<double>(37, -4, 4, 3);
  const std::vector<double> x0 = x;
  Unary(TanhFn{}, x.data(), x.data(), 37, false);
  for (int i = 0; i < 37; ++i) EXPECT_NEAR(x[i], std::tanh(x0[i]), 1e-15);
}

// ---- threads: large calls split across the pool, bitwise as on one thread ----

// Runs call(threads, out) into a copy of `init` (from element `offset` on) and
// checks the result has the same bits for 2, 3 and 8 threads as for 1.
template <class T, class Call>
void ExpectThreadsBitwise(const std::vector<T>& init, int64_t offset, Call call,
                          const char* what) {
  std::vector<T> one = init;
  call(1, one.data() + offset);
  for (int threads : {2, 3, 8}) {
    std::vector<T> got = init;
    call(threads, got.data() + offset);
    EXPECT_EQ(std::memcmp(got.data(), one.data(), got.size() * sizeof(T)), 0)
        << what << ": " << threads << " threads, offset " << offset;
  }
}

template <class T>
void CheckThreadedBitwise() {
  // Odd sizes (no multiple of the SIMD width) at and above the threshold.
  for (int64_t n : {kParallelPointwise + 1, 3 * kParallelPointwise + 13}) {
    const std::vector<T> x = Uniform<T>(n + 1, -5, 5, 21);
    const std::vector<T> y = Uniform<T>(n + 1, -5, 5, 22);
    const std::vector<T> z = Uniform<T>(n + 1, -5, 5, 23);
    const std::vector<T> init = Uniform<T>(n + 1, -1, 1, 24);
    for (int64_t offset : {0, 1}) {
      for (bool acc : {false, true}) {
        ExpectThreadsBitwise(init, offset, [&](int threads, T* out) {
          Unary(TanhFn{}, x.data() + offset, out, n, acc, threads);
        }, "tanh");
        ExpectThreadsBitwise(init, offset, [&](int threads, T* out) {
          Unary(SigmoidFn{}, x.data(), out, n, acc, threads);
        }, "sigmoid");
        ExpectThreadsBitwise(init, offset, [&](int threads, T* out) {
          Binary(DivFn{}, x.data(), 1, y.data() + offset, 1, out, n, acc, threads);
        }, "div");
        // out + a * b: the compiler may contract the body's add into an FMA.
        ExpectThreadsBitwise(init, offset, [&](int threads, T* out) {
          Binary(MulFn{}, x.data(), 1, y.data(), 1, out, n, acc, threads);
        }, "mul");
        ExpectThreadsBitwise(init, offset, [&](int threads, T* out) {
          Unary(ScaleFn{0.3}, x.data() + offset, out, n, acc, threads);
        }, "scale");
        ExpectThreadsBitwise(init, offset, [&](int threads, T* out) {
          Binary(SubFn{}, x.data(), 0, y.data(), 1, out, n, acc, threads);
        }, "sub, a broadcast");
        ExpectThreadsBitwise(init, offset, [&](int threads, T* out) {
          Ternary(MulAddFn{}, x.data(), 1, y.data(), 0, z.data(), 1, out, n, acc, threads);
        }, "mul_add, b broadcast");
      }
    }
    // In place: out aliases the input.
    ExpectThreadsBitwise(x, 1, [&](int threads, T* out) {
      Unary(ExpFn{}, out, out, n, false, threads);
    }, "exp in place");
  }
}

TEST(PointwiseKernelTest, ThreadedEqualsOneThreadBitwiseF32) {
  CheckThreadedBitwise<float>();
}
TEST(PointwiseKernelTest, ThreadedEqualsOneThreadBitwiseF64) {
  CheckThreadedBitwise<double>();
}

// Ranges cover [0, n) in order, a few per thread, and each boundary sits a
// whole number of cache lines (so SIMD batches) past the start of its run.
template <class T>
void CheckSplit(int64_t n, int threads, int64_t run) {
  const PointwiseSplit s = SplitPointwise<T>(n, threads, run, /*min_parallel=*/0);
  ASSERT_GE(s.chunks, 2) << n << " " << threads;
  EXPECT_LE(s.chunks, 4 * threads);
  EXPECT_EQ(s.line, 64 / static_cast<int64_t>(sizeof(T)));
  EXPECT_EQ(s.line % kMaxWidth<T>, 0);
  EXPECT_EQ(s.Begin(0, n), 0);
  EXPECT_EQ(s.Begin(s.chunks, n), n);
  for (int c = 1; c < s.chunks; ++c) {
    const int64_t begin = s.Begin(c, n);
    ASSERT_LT(s.Begin(c - 1, n), begin) << n << " " << threads << " " << run << " chunk " << c;
    ASSERT_LT(begin, n);
    EXPECT_EQ(begin % (run > 0 ? run : n) % s.line, 0) << n << " " << run << " chunk " << c;
  }
}

TEST(PointwiseKernelTest, SplitAlignsRangesToBatches) {
  for (int threads : {2, 3, 8}) {
    for (int64_t n : {int64_t{64}, int64_t{65}, int64_t{1000}, int64_t{4095}, int64_t{70001}}) {
      for (int64_t run : {int64_t{0}, int64_t{7}, int64_t{31}, int64_t{33}, int64_t{999}}) {
        CheckSplit<float>(n, threads, run);
        CheckSplit<double>(n, threads, run);
      }
    }
  }
  // One range below the threshold or on one thread.
  EXPECT_EQ(SplitPointwise<float>(kParallelPointwise - 1, 8).chunks, 1);
  EXPECT_EQ(SplitPointwise<float>(1 << 20, 1).chunks, 1);
  EXPECT_GT(SplitPointwise<float>(kParallelPointwise, 2).chunks, 1);
}

TEST(PointwiseKernelTest, SmallCallsDoNotUseThePool) {
  ThreadPool& pool = ThreadPool::Shared();
  const int64_t small = kParallelPointwise - 1;
  std::vector<float> x(kParallelPointwise, 0.5f), out(kParallelPointwise);
  int64_t calls = pool.calls();
  Unary(TanhFn{}, x.data(), out.data(), small, false, 8);
  Binary(AddFn{}, x.data(), 1, x.data(), 0, out.data(), small, true, 8);
  EXPECT_EQ(pool.calls(), calls);
  Unary(TanhFn{}, x.data(), out.data(), kParallelPointwise, false, 1);  // one thread
  EXPECT_EQ(pool.calls(), calls);
  Unary(TanhFn{}, x.data(), out.data(), kParallelPointwise, false, 2);
  EXPECT_EQ(pool.calls(), calls + 1);
}

// Sweep -100..100 densely plus the edges; the error bound is
// rtol * |ref| + 1e-37 against long double, and nothing may be NaN or Inf.
template <class T, class F, class R>
void CheckAccuracy(F f, R ref, double rtol) {
  std::vector<T> xs;
  for (int64_t i = -200000; i <= 200000; ++i)
    xs.push_back(static_cast<T>(i * 5e-4));
  for (double e :
       {1e4, 1e3, 100.0, 89.0, 88.0, 20.0, 1e-3, 1e-7, 1e-30, 1e-40}) {
    xs.push_back(static_cast<T>(e));
    xs.push_back(static_cast<T>(-e));
  }
  std::vector<T> out(xs.size());
  Unary(f, xs.data(), out.data(), static_cast<int64_t>(xs.size()), false);
  for (size_t i = 0; i < xs.size(); ++i) {
    ASSERT_TRUE(std::isfinite(out[i])) << xs[i];
    const long double want = ref(static_cast<long double>(xs[i]));
    const long double err = std::fabs(static_cast<long double>(out[i]) - want);
    ASSERT_LE(err, rtol * std::fabs(want) + 1e-37L) << "x=" << xs[i];
  }
}

long double SigmoidRef(long double x) { return 1.0L / (1.0L + std::exp(-x)); }
long double TanhRef(long double x) { return std::tanh(x); }

TEST(PointwiseKernelTest, SigmoidAccuracyAndLimits) {
  CheckAccuracy<float>(SigmoidFn{}, SigmoidRef, 1e-6);
  CheckAccuracy<double>(SigmoidFn{}, SigmoidRef, 1e-14);
  for (float x : {1e4f, 1e3f, 89.f}) {
    float in[2] = {x, -x}, out[2];
    Unary(SigmoidFn{}, in, out, 2, false);
    EXPECT_EQ(out[0], 1.0f);
    EXPECT_GE(out[1], 0.0f);
    EXPECT_LE(out[1], 1e-37f);
  }
  const float in[2] = {1e4f, -1e4f};
  float out[2];
  Unary(SigmoidFn{}, in, out, 2, false);
  EXPECT_EQ(out[1], 0.0f);
}

TEST(PointwiseKernelTest, TanhAccuracyAndLimits) {
  CheckAccuracy<float>(TanhFn{}, TanhRef, 1e-6);
  CheckAccuracy<double>(TanhFn{}, TanhRef, 1e-14);
  const double in[4] = {1e4, -1e4, 1e-30, -1e-300};
  double out[4];
  Unary(TanhFn{}, in, out, 4, false);
  EXPECT_EQ(out[0], 1.0);
  EXPECT_EQ(out[1], -1.0);
  EXPECT_EQ(out[2], 1e-30);
  EXPECT_EQ(out[3], -1e-300);
}

// ---- Reductions ----

template <class T>
void CheckSum() {
  for (int64_t n : {0, 1, 3, 17, 33, 1000, 4099}) {
    const std::vector<T> x = Uniform<T>(n + 1, -1, 1, 21 + n);
    long double want = 0, scale = 0;
    for (int64_t i = 0; i < n; ++i)
      want += x[1 + i], scale += std::fabs(x[1 + i]);
    const T got = Sum(x.data() + 1, n);
    EXPECT_NEAR(got, want, Rtol<T>() * scale + 1e-30) << n;
    // Same values at another alignment give the same bits.
    std::vector<T> shifted(n + 3);
    std::memcpy(shifted.data() + 3, x.data() + 1, n * sizeof(T));
    EXPECT_EQ(Sum(shifted.data() + 3, n), got) << n;
  }
}

TEST(ReduceKernelTest, SumIsAccurateAndAlignmentIndependent) {
  CheckSum<float>();
  CheckSum<double>();
}

template <class T>
void CheckSumAxis() {
  const int64_t shapes[][3] = {{1, 5, 1},   {3, 17, 1},   {2, 7, 3}, {2, 5, 33},
                               {3, 4, 100}, {1, 1000, 1}, {2, 0, 5}, {2, 9, 8}};
  for (const auto& s : shapes) {
    const int64_t outer = s[0], axis = s[1], inner = s[2];
    const std::vector<T> x = Uniform<T>(outer * axis * inner + 1, -1, 1, 3);
    for (bool acc : {false, true}) {
      std::vector<T> out = Uniform<T>(outer * inner, -1, 1, 4);
      const std::vector<T> out0 = out;
      SumAxis(x.data() + 1, out.data(), outer, axis, inner, acc);
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          long double want = acc ? out0[o * inner + i] : 0,
                      scale = std::fabs(want);
          for (int64_t a = 0; a < axis; ++a) {
            const T v = x[1 + (o * axis + a) * inner + i];
            want += v, scale += std::fabs(v);
          }
          EXPECT_NEAR(out[o * inner + i], want, Rtol<T>() * scale + 1e-30)
              << outer << "," << axis << "," << inner << " at " << o << ","
              << i;
        }
      }
    }
  }
}

TEST(ReduceKernelTest, SumAxisMatchesReference) {
  CheckSumAxis<float>();
  CheckSumAxis<double>();
}

// Logits around `center` with a spread of `spread`, rows x cols.
template <class T>
std::vector<T> Logits(int64_t rows, int64_t cols, double center,
                      double spread) {
  return Uniform<T>(rows * cols, center - spread, center + spread,
                    rows * 31 + cols);
}

template <class T>
void CheckSoftmax(double center, double spread) {
  for (int64_t cols : kSizes) {
    const int64_t rows = 3;
    const std::vector<T> x = Logits<T>(rows, cols, center, spread);
    for (bool acc : {false, true}) {
      std::vector<T> sm(rows * cols, T(acc ? 0.5 : 0)), lsm = sm;
      SoftmaxRows(x.data(), sm.data(), rows, cols, acc);
      LogSoftmaxRows(x.data(), lsm.data(), rows, cols, acc);
      const T base = acc ? T(0.5) : T(0);
      for (int64_t r = 0; r < rows; ++r) {
        const T* xr = x.data() + r * cols;
        long double m = xr[0], s = 0;
        for (int64_t i = 0; i < cols; ++i) m = std::max<long double>(m, xr[i]);
        for (int64_t i = 0; i < cols; ++i) s += std::exp(xr[i] - m);
        for (int64_t i = 0; i < cols; ++i) {
          const long double lp = (xr[i] - m) - std::log(s);
          const T got_p = sm[r * cols + i] - base,
                  got_lp = lsm[r * cols + i] - base;
          ASSERT_TRUE(std::isfinite(got_p) && std::isfinite(got_lp));
          EXPECT_NEAR(got_p, std::exp(lp), 4 * Rtol<T>()) << cols << " " << i;
          EXPECT_NEAR(got_lp, lp,
                      4 * Rtol<T>() * (1 + std::fabs(lp) + std::fabs(m)))
              << cols << " " << i;
        }
      }
    }
  }
}

TEST(ReduceKernelTest, SoftmaxAndLogSoftmaxAreStable) {
  for (double center : {0.0, 1000.0, -1000.0}) {
    CheckSoftmax<float>(center, 5);
    CheckSoftmax<double>(center, 5);
  }
  CheckSoftmax<float>(0, 1000);
  CheckSoftmax<double>(0, 1000);
}

TEST(ReduceKernelTest, SoftmaxOfOneColumnIsExact) {
  const float x[2] = {1000.f, -3.f};
  float p[2], lp[2];
  SoftmaxRows(x, p, 2, 1, false);
  LogSoftmaxRows(x, lp, 2, 1, false);
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(p[r], 1.0f);
    EXPECT_EQ(lp[r], 0.0f);
  }
}

template <class T>
void CheckXent(double center, double spread) {
  for (int64_t cols : kSizes) {
    const int64_t rows = 4;
    const std::vector<T> x = Logits<T>(rows, cols, center, spread);
    std::vector<int32_t> targets(rows);
    for (int64_t r = 0; r < rows; ++r)
      targets[r] = static_cast<int32_t>((r * 7) % cols);
    std::vector<T> loss(rows);
    SoftmaxCrossEntropyRows(x.data(), targets.data(), rows, cols, loss.data());
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = x.data() + r * cols;
      long double m = xr[0], s = 0;
      for (int64_t i = 0; i < cols; ++i) m = std::max<long double>(m, xr[i]);
      for (int64_t i = 0; i < cols; ++i) s += std::exp(xr[i] - m);
      const long double want = m + std::log(s) - xr[targets[r]];
      ASSERT_TRUE(std::isfinite(loss[r]));
      EXPECT_GE(loss[r], T(0));
      EXPECT_NEAR(loss[r], want, 4 * Rtol<T>() * (1 + want))
          << cols << " " << r;
    }
  }
}

TEST(ReduceKernelTest, SoftmaxCrossEntropyIsStable) {
  for (double center : {0.0, 500.0, -500.0}) {
    CheckXent<float>(center, 3);
    CheckXent<double>(center, 3);
  }
  CheckXent<float>(0, 500);
  CheckXent<double>(0, 500);
}

}  // namespace
}  // namespace tg::kernels
