#include "ops/kernels/gemm.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <thread>
#include <utility>
#include <vector>

#include "testing/test_values.h"

namespace tg::kernels {
namespace {

using tg::testing::Uniform;

struct Case {
  int64_t m, k, n;
  bool trans_a, trans_b;
  double alpha, beta;
  int64_t pad = 0;  // extra row stride on A, B and C
  int threads = 1;
  bool prepared = false;  // B packed by PrepareGemmB, the product by GemmPreparedB
};

// Gemm, or with `prepared` PrepareGemmB then GemmPreparedB (the packing one element past an
// aligned start: a prepared form need not be aligned; NaN around it must not leak in).
template <class T>
void Product(const GemmArgs& g, bool prepared, const T* a, const T* b, T* c) {
  if (!prepared) return Gemm(g, a, b, c);
  const int64_t elements = PreparedGemmBElements<T>(g.k, g.n);
  std::vector<T> packed(static_cast<size_t>(elements + 2),
                        std::numeric_limits<T>::quiet_NaN());
  PrepareGemmB(g, b, packed.data() + 1);
  ASSERT_TRUE(std::isnan(packed.back())) << "PrepareGemmB wrote past its elements";
  GemmPreparedB(g, a, packed.data() + 1, c);
}

// Runs Gemm and GemmReference on the same inputs. The bound is relative to
// |alpha| * sum_p |a||b| + |beta * c0| per entry; padding in C must survive.
template <class T>
void Check(const Case& t, double rtol) {
  GemmArgs g{.trans_a = t.trans_a,
             .trans_b = t.trans_b,
             .m = t.m,
             .n = t.n,
             .k = t.k,
             .alpha = t.alpha,
             .beta = t.beta,
             .threads = t.threads};
  g.lda = (t.trans_a ? t.m : t.k) + t.pad;
  g.ldb = (t.trans_b ? t.k : t.n) + t.pad;
  g.ldc = t.n + t.pad;
  const int64_t a_rows = t.trans_a ? t.k : t.m, b_rows = t.trans_b ? t.n : t.k;
  const std::vector<T> a = Uniform<T>(a_rows * g.lda, -1, 1, 1),
                       b = Uniform<T>(b_rows * g.ldb, -1, 1, 2);
  std::vector<T> c = Uniform<T>(t.m * g.ldc, -1, 1, 3);
  if (t.beta == 0) {
    // beta = 0 must not read C: NaN there may not leak into the result.
    for (int64_t i = 0; i < t.m; ++i) {
      for (int64_t j = 0; j < t.n; ++j)
        c[i * g.ldc + j] = std::numeric_limits<T>::quiet_NaN();
    }
  }
  std::vector<T> want = c, got = c;
  GemmReference(g, a.data(), b.data(), want.data());
  Product(g, t.prepared, a.data(), b.data(), got.data());

  std::vector<double> abs_a(a.begin(), a.end()), abs_b(b.begin(), b.end());
  for (auto& v : abs_a) v = std::fabs(v);
  for (auto& v : abs_b) v = std::fabs(v);
  GemmArgs gb = g;
  gb.alpha = std::fabs(t.alpha), gb.beta = 0;
  std::vector<double> bound(t.m * g.ldc);
  GemmReference(gb, abs_a.data(), abs_b.data(), bound.data());

  int failures = 0;
  for (int64_t i = 0; i < t.m; ++i) {
    for (int64_t j = 0; j < g.ldc; ++j) {
      const int64_t idx = i * g.ldc + j;
      if (j >= t.n) {
        ASSERT_EQ(got[idx], c[idx]) << "padding written at " << i << "," << j;
        continue;
      }
      const double old = t.beta == 0 ? 0 : std::fabs(t.beta * c[idx]);
      const double tol = rtol * (bound[idx] + old) + 1e-30;
      if (!(std::fabs(got[idx] - want[idx]) <= tol) && ++failures < 5) {
        ADD_FAILURE() << "m=" << t.m << " k=" << t.k << " n=" << t.n
                      << " ta=" << t.trans_a << " tb=" << t.trans_b << " at "
                      << i << "," << j << ": got " << got[idx] << " want "
                      << want[idx] << " tol " << tol;
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

// (m, k, n) shapes that hit tails in every blocking dimension.
const int64_t kShapes[][3] = {{1, 256, 512},  {3, 5, 7},      {17, 33, 9},
                              {1, 1, 1},      {6, 16, 16},    {7, 300, 70},
                              {5, 300, 150},  {20, 100, 130}, {100, 300, 130},
                              {64, 256, 512}, {2, 513, 3},    {5, 37, 19},
                              {16, 20, 100},  {12, 40, 100},  {40, 70, 23},
                              // fewer columns than a SIMD batch, k past one depth block
                              {512, 50, 2},   {50, 128, 1},   {37, 300, 5},
                              // little depth (an input projection with 2 inputs)
                              {50, 2, 512},   {33, 20, 40}};

template <class T>
void CheckAllShapes(double rtol) {
  for (const auto& s : kShapes) {
    for (int tr = 0; tr < 4; ++tr) {
      Check<T>({s[0], s[1], s[2], (tr & 1) != 0, (tr & 2) != 0, 1.0, 0.0},
               rtol);
    }
  }
}

TEST(GemmTest, MatchesReferenceF32) { CheckAllShapes<float>(1e-5); }
TEST(GemmTest, MatchesReferenceF64) { CheckAllShapes<double>(1e-12); }

TEST(GemmTest, LargeF32) {
  Check<float>({64, 1024, 2048, false, false, 1.0, 0.0}, 1e-5);
  Check<float>({64, 1024, 2048, true, true, 1.0, 1.0}, 1e-5);
}

template <class T>
void CheckAlphaBetaPadding(double rtol) {
  for (const auto& s : kShapes) {
    for (int tr = 0; tr < 4; ++tr) {
      const bool ta = (tr & 1) != 0, tb = (tr & 2) != 0;
      Check<T>({s[0], s[1], s[2], ta, tb, 1.0, 1.0}, rtol);      // accumulate
      Check<T>({s[0], s[1], s[2], ta, tb, -0.5, 2.0, 3}, rtol);  // padded
      Check<T>({s[0], s[1], s[2], ta, tb, 1.0, 0.0, 5}, rtol);
    }
  }
}

// A^T B with A's rows 4 KB apart and a deep k runs over blocks of A copied to a padded
// stride (gemm_dispatch.cc): the blocks' partial products, summed into C in order, give the
// product, with alpha and beta, a transposed B, a depth that is no multiple of the block, and
// split over two threads.
TEST(GemmTest, TransposedAWithA4KBStrideMatchesReference) {
  const Case cases[] = {
      {1024, 600, 64, true, false, 1.0, 0.0},       // three blocks, the last a short one
      {1000, 520, 70, true, true, -0.5, 2.0, 24},   // lda = 1000 + 24 = 1024
      {1000, 520, 70, true, false, 1.0, 1.0, 24},
      {2048, 300, 40, true, false, 1.0, 0.0},
      {1024, 600, 64, true, false, 1.0, 1.0, 0, 2},  // split over two threads
  };
  for (const Case& t : cases) {
    const GemmArgs g{.trans_a = true, .trans_b = t.trans_b, .m = t.m, .n = t.n, .k = t.k,
                     .lda = t.m + t.pad, .ldb = (t.trans_b ? t.k : t.n) + t.pad};
    EXPECT_GT(TransposedACopyRows(g), 0) << "m=" << t.m << " k=" << t.k;
    EXPECT_LT(TransposedACopyRows(g), t.k) << "m=" << t.m << " k=" << t.k;
    Check<float>(t, 1e-5);
  }
  // Other strides, shallow products and untransposed A read A where it is.
  EXPECT_EQ(TransposedACopyRows({.trans_a = true, .m = 1024, .n = 64, .k = 600, .lda = 1040}),
            0);
  EXPECT_EQ(TransposedACopyRows({.trans_a = true, .m = 1024, .n = 64, .k = 32, .lda = 1024}),
            0);
  EXPECT_EQ(TransposedACopyRows({.m = 600, .n = 64, .k = 1024, .lda = 1024}), 0);
}

// A^T B deep enough to be a weight gradient summed over many steps: on the AVX2 path our
// blocked kernel runs it, packing A's panels a group of depth steps at a time (a batch per
// step where a batch of rows follows, value by value elsewhere). Rows that leave partial
// panels and a partial last block, depths that leave a partial group and block, a B wider
// than one block, alpha, beta, padding and two threads.
template <class T>
void CheckDeepTransposedA(double rtol) {
  const Case cases[] = {
      {100, 1100, 40, true, false, 1.0, 0.0},
      {97, 1030, 300, true, false, -0.5, 2.0, 3},
      {203, 1041, 64, true, false, 1.0, 1.0, 0, 2},
      {13, 1025, 17, true, false, 1.0, 0.0},
  };
  for (const Case& t : cases) Check<T>(t, rtol);
}
TEST(GemmTest, DeepTransposedAMatchesReferenceF32) { CheckDeepTransposedA<float>(1e-5); }
TEST(GemmTest, DeepTransposedAMatchesReferenceF64) { CheckDeepTransposedA<double>(1e-12); }

TEST(GemmTest, AlphaBetaAndPaddedStridesF32) {
  CheckAlphaBetaPadding<float>(1e-5);
}
TEST(GemmTest, AlphaBetaAndPaddedStridesF64) {
  CheckAlphaBetaPadding<double>(1e-12);
}

TEST(GemmTest, BetaOneAccumulatesRepeatedProducts) {
  // Like dW accumulated over T steps: C += A_t^T B_t.
  const int64_t m = 33, k = 8, n = 40;
  const std::vector<float> a = Uniform<float>(k * m, -1, 1, 4),
                           b = Uniform<float>(k * n, -1, 1, 5);
  std::vector<float> c(m * n, 0.0f), want(m * n, 0.0f);
  GemmArgs g{.trans_a = true,
             .m = m,
             .n = n,
             .k = k,
             .beta = 1,
             .lda = m,
             .ldb = n,
             .ldc = n};
  for (int step = 0; step < 3; ++step) {
    Gemm(g, a.data(), b.data(), c.data());
    GemmReference(g, a.data(), b.data(), want.data());
  }
  for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(c[i], want[i], 1e-5 * 3 * k);
}

TEST(GemmTest, EmptyDimensions) {
  std::vector<double> a(12, 1.0), b(12, 1.0), c(12, 2.0);
  GemmArgs g{.m = 3, .n = 4, .k = 0, .beta = 0.5, .lda = 1, .ldb = 4, .ldc = 4};
  Gemm(g, a.data(), b.data(), c.data());
  for (double v : c) EXPECT_EQ(v, 1.0);
  std::vector<float> af(12, 1.0f), bf(12, 1.0f), cf(12, std::nanf(""));
  g.beta = 0;
  Gemm(g, af.data(), bf.data(), cf.data());
  for (float v : cf) EXPECT_EQ(v, 0.0f);
  g.m = 0, g.k = 3;
  cf.assign(12, 7.0f);
  Gemm(g, af.data(), bf.data(), cf.data());
  g.m = 3, g.n = 0;
  Gemm(g, af.data(), bf.data(), cf.data());
  for (float v : cf) EXPECT_EQ(v, 7.0f);
}

TEST(GemmTest, RepeatsBitwise) {
  for (const auto& s : kShapes) {
    const int64_t m = s[0], k = s[1], n = s[2];
    const std::vector<float> a = Uniform<float>(m * k, -1, 1, 6),
                             b = Uniform<float>(k * n, -1, 1, 7);
    std::vector<float> c1(m * n), c2(m * n);
    GemmArgs g{.m = m, .n = n, .k = k, .lda = k, .ldb = n, .ldc = n};
    Gemm(g, a.data(), b.data(), c1.data());
    Gemm(g, a.data(), b.data(), c2.data());
    EXPECT_EQ(c1, c2);
  }
}

// The blocked kernel spreads a block's rows evenly over its register tiles (32 rows as
// 6, 6, 5, 5, 5, 5), so a row's tile depends on how many rows the call has. Its bits must not:
// each row of a product over a prepared B equals the same row computed in a call over a few
// rows only (as a row split over threads, or another batch size, would compute it).
TEST(GemmTest, ARowGetsTheSameBitsInAnyRegisterTile) {
  const int64_t k = 300, n = 70;
  for (const auto& [m, cuts] :
       std::vector<std::pair<int64_t, std::vector<int64_t>>>{{32, {0, 7, 20, 32}},
                                                             {64, {0, 1, 3, 8, 64}},
                                                             {13, {0, 6, 13}}}) {
    const std::vector<float> a = Uniform<float>(m * k, -1, 1, 10),
                             b = Uniform<float>(k * n, -1, 1, 11);
    const GemmArgs g{.m = m, .n = n, .k = k, .lda = k, .ldb = n, .ldc = n};
    std::vector<float> packed(static_cast<size_t>(PreparedGemmBElements<float>(k, n)));
    PrepareGemmB(g, b.data(), packed.data());
    std::vector<float> whole(m * n), parts(m * n);
    GemmPreparedB(g, a.data(), packed.data(), whole.data());
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      GemmArgs part = g;
      part.m = cuts[i + 1] - cuts[i];
      GemmPreparedB(part, a.data() + cuts[i] * k, packed.data(), parts.data() + cuts[i] * n);
    }
    EXPECT_EQ(whole, parts) << "m = " << m;
  }
}

// Large enough to be split (SplitGemm), with odd sizes so blocks end
// mid-tile, and few columns or rows so splits fall back to rows or to fewer
// blocks than threads.
const int64_t kThreadedShapes[][3] = {{33, 300, 130}, {7, 1000, 90},
                                      {200, 50, 61},  {2000, 100, 5},
                                      {3, 4000, 45},  {64, 256, 1024}};

template <class T>
void CheckThreaded(double rtol) {
  for (const auto& s : kThreadedShapes) {
    for (int tr = 0; tr < 4; ++tr) {
      const bool ta = (tr & 1) != 0, tb = (tr & 2) != 0;
      for (int threads : {2, 3, 8}) {
        SCOPED_TRACE(::testing::Message() << "threads " << threads);
        Check<T>({s[0], s[1], s[2], ta, tb, 1.0, 0.0, 0, threads}, rtol);
        Check<T>({s[0], s[1], s[2], ta, tb, 1.0, 1.0, 0, threads}, rtol);
        Check<T>({s[0], s[1], s[2], ta, tb, -0.5, 2.0, 3, threads}, rtol);
      }
    }
  }
}

TEST(GemmTest, ThreadedMatchesReferenceF32) { CheckThreaded<float>(1e-5); }
TEST(GemmTest, ThreadedMatchesReferenceF64) { CheckThreaded<double>(1e-12); }

// Every shape and transpose of CheckAllShapes, plus alpha, beta and padded strides, and the
// threaded shapes split over 2 and 3 threads, with B prepared once.
template <class T>
void CheckPrepared(double rtol) {
  for (const auto& s : kShapes) {
    for (int tr = 0; tr < 4; ++tr) {
      const bool ta = (tr & 1) != 0, tb = (tr & 2) != 0;
      Check<T>({s[0], s[1], s[2], ta, tb, 1.0, 0.0, 0, 1, true}, rtol);
      Check<T>({s[0], s[1], s[2], ta, tb, -0.5, 2.0, 3, 1, true}, rtol);
    }
  }
  for (const auto& s : kThreadedShapes) {
    for (int tr = 0; tr < 4; ++tr) {
      for (int threads : {2, 3}) {
        SCOPED_TRACE(::testing::Message() << "threads " << threads);
        Check<T>({s[0], s[1], s[2], (tr & 1) != 0, (tr & 2) != 0, 1.0, 1.0, 1, threads, true},
                 rtol);
      }
    }
  }
}

TEST(GemmTest, PreparedBMatchesReferenceF32) { CheckPrepared<float>(1e-5); }
TEST(GemmTest, PreparedBMatchesReferenceF64) { CheckPrepared<double>(1e-12); }

// Where Gemm runs the blocked kernel for a double product (more rows than the dot-product
// kernel takes, B too large to read in place), over the packed B it gives the same bits: one
// copy of B packed for a whole sequence changes no result.
TEST(GemmTest, PreparedBGivesTheBlockedKernelsBitsF64) {
  for (const auto& s : std::vector<std::vector<int64_t>>{{40, 300, 130, 0, 1},
                                                         {24, 80, 320, 0, 1},
                                                         {24, 320, 80, 0, 0},
                                                         {100, 300, 130, 1, 0}}) {
    const GemmArgs g{.trans_a = s[3] != 0, .trans_b = s[4] != 0, .m = s[0], .n = s[2],
                     .k = s[1], .lda = s[3] != 0 ? s[0] : s[1], .ldb = s[4] != 0 ? s[1] : s[2],
                     .ldc = s[2]};
    const std::vector<double> a = Uniform<double>(s[0] * s[1], -1, 1, 8),
                              b = Uniform<double>(s[1] * s[2], -1, 1, 9);
    std::vector<double> plain(s[0] * s[2]), prepared(s[0] * s[2]);
    Gemm(g, a.data(), b.data(), plain.data());
    Product(g, true, a.data(), b.data(), prepared.data());
    EXPECT_EQ(plain, prepared) << s[0] << "x" << s[1] << "x" << s[2];
  }
}

// Blocks tile C exactly, column blocks are whole cache lines, and there are
// never more blocks than threads.
TEST(GemmTest, SplitCoversC) {
  for (const auto& s : kThreadedShapes) {
    for (int threads : {1, 2, 3, 8, 64}) {
      const GemmArgs g{.m = s[0], .n = s[2], .k = s[1], .threads = threads};
      const GemmSplit split = SplitGemm(g, 16);
      if (threads == 1) {
        EXPECT_LE(split.blocks, 1);
      }
      if (split.blocks <= 1) continue;
      EXPECT_LE(split.blocks, threads);
      const int64_t extent = split.columns ? g.n : g.m;
      EXPECT_LT((split.blocks - 1) * split.size, extent);
      EXPECT_GE(split.blocks * split.size, extent);
      if (split.columns) {
        EXPECT_EQ(split.size % 16, 0);
      }
    }
  }
  const GemmSplit tiny = SplitGemm({.m = 8, .n = 8, .k = 8, .threads = 2}, 16);
  EXPECT_LE(tiny.blocks, 1);
}

// Each block reads all of the operand along the side not split, so the split goes along the
// larger operand: rows for the input gradient of 100 stacked steps (A [6400,2048] against B
// [2048,512]), columns for one step's product (A [64,512] against B [512,2048]), whatever the
// transposes.
TEST(GemmTest, SplitReadsTheSmallerOperandWhole) {
  for (const bool trans_a : {false, true}) {
    for (const bool trans_b : {false, true}) {
      const GemmSplit stacked = SplitGemm(
          {.trans_a = trans_a, .trans_b = trans_b, .m = 6400, .n = 512, .k = 2048, .threads = 2},
          16);
      EXPECT_EQ(stacked.blocks, 2);
      EXPECT_FALSE(stacked.columns) << trans_a << trans_b;
      const GemmSplit step = SplitGemm(
          {.trans_a = trans_a, .trans_b = trans_b, .m = 64, .n = 2048, .k = 512, .threads = 2},
          16);
      EXPECT_EQ(step.blocks, 2);
      EXPECT_TRUE(step.columns) << trans_a << trans_b;
    }
  }
}

std::vector<float> RunGemm(const GemmArgs& g, const std::vector<float>& a,
                           const std::vector<float>& b) {
  std::vector<float> c(g.m * g.ldc);
  Gemm(g, a.data(), b.data(), c.data());
  return c;
}

// The split depends only on the arguments: the same bits whether the pool
// ran the blocks or (busy with another caller) the caller ran them all.
TEST(GemmTest, ThreadedRepeatsBitwiseAcrossConcurrentCallers) {
  const int64_t m = 32, k = 256, n = 1000;
  const std::vector<float> a = Uniform<float>(m * k, -1, 1, 8),
                           b = Uniform<float>(k * n, -1, 1, 9);
  const GemmArgs g{.m = m, .n = n, .k = k, .lda = k, .ldb = n, .ldc = n,
                   .threads = 2};
  const std::vector<float> want = RunGemm(g, a, b);
  std::vector<std::thread> callers;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) mismatches[t] += RunGemm(g, a, b) != want;
    });
  }
  for (std::thread& t : callers) t.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "caller " << t;
}

// oneDNN would take every core through OpenMP; Gemm keeps it at one OpenMP
// thread on every thread that calls it (threads come from the pool instead).
TEST(GemmTest, OneDnnUsesOneOmpThreadInEveryCallingThread) {
  auto run = [](int threads) {
    const int64_t s = 128;  // above kSmallSgemm: oneDNN's sgemm
    std::vector<float> a(s * s, 1.0f), b(s * s, 1.0f), c(s * s);
    Gemm(GemmArgs{.m = s, .n = s, .k = s, .lda = s, .ldb = s, .ldc = s,
                  .threads = threads},
         a.data(), b.data(), c.data());
    EXPECT_EQ(c[0], static_cast<float>(s));
    EXPECT_EQ(c[s * s - 1], static_cast<float>(s));
    return omp_get_max_threads();
  };
  EXPECT_EQ(run(2), 1);
  // A fresh thread starts from OpenMP's default (every core, or OMP_NUM_THREADS, which the
  // suite sets to 1): raise it so that the check does not depend on the environment. On
  // one thread the product runs on the caller itself.
  int other = 0;
  std::thread t([&] {
    omp_set_num_threads(3);
    other = run(1);
  });
  t.join();
  EXPECT_EQ(other, 1);
}

}  // namespace
}  // namespace tg::kernels
