// tapegrad's own GEMM kernels (xsimd): the micro-kernel, the blocked loops over packed panels
// (gemm_packing.h), and the variants for few rows, narrow or shallow products. Compiled once
// per ISA; gemm_dispatch.cc decides when they run and calls the active ISA's table.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "ops/kernels/gemm_internal.h"
#include "ops/kernels/gemm_packing.h"
#include "ops/kernels/simd.h"

namespace tg::kernels::TG_KERNEL_ISA {
namespace {

// Depth of one pass: a B micro-panel (kKc x kNr, 16 KB in f32 and f64 on
// AVX2) plus the A rows it meets stay in the 32 KB L1.
constexpr int64_t kKc = 256;
// Rows of A swept per packed B block (kMc x kKc f64 = 192 KB, L2-resident).
constexpr int64_t kMc = 96;
// Columns per packed B block: 256 KB of stack (no allocation), half the L2. 256 f32
// columns cover a weight gradient dZ^T H of hidden 256 in one block, so its transposed A is
// packed once, not once per block: [1024,3200]^T x [3200,256] on 1 thread went from 63 to
// 74 GFLOP/s (128 KB blocks before; gemm_bench, medians of 3). kMc = 144 was worse (52).
template <class T>
constexpr int64_t kNc = (256 * 1024) / (kKc * sizeof(T));

// Largest B (bytes) read in place rather than packed: a quarter of the
// 512 KB L2, leaving room for A and C.
constexpr int64_t kInPlaceBytes = 128 * 1024;
// Most rows for the dot-product kernel (transposed B, one row at a time).
constexpr int64_t kDotRows = 16;

// C tile (rows x nr) = alpha * acc + beta * C, never reading C when beta == 0.
// A partial tile goes through a padded buffer with the same SIMD arithmetic,
// so a column's bits do not depend on where the tile boundary falls.
template <class T>
inline void StoreRow(Batch<T> acc, T alpha, T beta, T* c, int64_t len) {
  constexpr int64_t w = kWidth<T>;
  Batch<T> r = acc * Batch<T>(alpha);
  if (len == w) {
    if (beta != T(0)) r += Batch<T>(beta) * Batch<T>::load_unaligned(c);
    r.store_unaligned(c);
    return;
  }
  alignas(64) T buf[w] = {};
  if (beta != T(0)) {
    for (int64_t j = 0; j < len; ++j) buf[j] = c[j];
    r += Batch<T>(beta) * Batch<T>::load_aligned(buf);
  }
  r.store_aligned(buf);
  for (int64_t j = 0; j < len; ++j) c[j] = buf[j];
}

// R rows x NB batches of C (+)= A[R, kc] * B[kc, NB*w]. A is read in place
// through strides (element (i,p) at a[i*a_rs + p*a_cs]) and broadcast, so it
// needs no packing for either transpose; B rows are NB*w contiguous values
// b_rs apart (a packed panel, or B itself). nr <= NB*w columns are stored.
template <class T, int R, int NB>
void MicroKernel(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                 int64_t b_rs, T alpha, T beta, T* c, int64_t ldc, int64_t nr) {
  constexpr int64_t w = kWidth<T>;
  Batch<T> acc[R][NB];
  const T* ap[R];
  for (int i = 0; i < R; ++i) {
    for (int v = 0; v < NB; ++v) acc[i][v] = Batch<T>(T(0));
    ap[i] = a + i * a_rs;
  }
  // Fully unrolled so that acc lives in registers.
  for (int64_t p = 0, off = 0; p < kc; ++p, off += a_cs, b += b_rs) {
    Batch<T> bv[NB];
#pragma GCC unroll 8
    for (int v = 0; v < NB; ++v) bv[v] = Batch<T>::load_unaligned(b + v * w);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const Batch<T> ai(ap[i][off]);
#pragma GCC unroll 8
      for (int v = 0; v < NB; ++v) acc[i][v] = xsimd::fma(ai, bv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int v = 0; v < NB && v * w < nr; ++v) {
      StoreRow(acc[i][v], alpha, beta, c + i * ldc + v * w,
               std::min(w, nr - v * w));
    }
  }
}

// Calls f(std::integral_constant<int, R>{}) for a runtime row count R in
// 1..kMr, so the kernels get their row count at compile time.
template <class F>
void WithRows(int64_t rows, F&& f) {
  static_assert(kMr == 6, "WithRows covers 1..6 rows");
  switch (rows) {
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    case 5:
      return f(std::integral_constant<int, 5>{});
    case 6:
      return f(std::integral_constant<int, 6>{});
  }
}

// C = beta * C (beta == 0 writes zeros without reading C).
template <class T>
void ScaleC(const GemmArgs& g, T* c) {
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t j = 0; j < g.n; ++j) {
      T& v = c[i * g.ldc + j];
      v = g.beta == 0 ? T(0) : static_cast<T>(g.beta) * v;
    }
  }
}

// How an mc-row block's rows go to register tiles. With `even` (A read in place) the block
// takes as few tiles as kMr allows, their rows as even as possible: 32 rows as 6, 6, 5, 5, 5,
// 5 rather than five of 6 and one of 2, whose 4 accumulator chains would leave the FMA units
// half idle. Otherwise (a packed, transposed A) tiles of kMr rows and a shorter last one,
// PackA's panels. A row's bits do not depend on its tile.
struct RowTiles {
  int64_t base = kMr, longer = 0;  // the first `longer` tiles have base + 1 rows
  RowTiles(int64_t mc, bool even) {
    if (!even) return;
    const int64_t tiles = (mc + kMr - 1) / kMr;
    base = mc / tiles;
    longer = mc % tiles;
  }
  // Rows of the tile that starts at row ir.
  int64_t At(int64_t ir, int64_t mc) const {
    return ir < longer * (base + 1) ? base + 1 : std::min(base, mc - ir);
  }
};

// Goto-style loops: per kNc-column x kKc-deep block of B, `b_block(jc, pc, kc, nc)` gives
// its panels (kNr columns each, kc deep, the panel at jr starting jr * kc_stride further),
// swept by kMc-row blocks of A in register tiles of kNr columns and up to kMr rows
// (RowTiles). A transposed A (a weight gradient dZ^T X) is packed too: read in place, a
// tile's kc depth steps are lda apart, and with lda a multiple of 1 KB they all fall into a
// few L1 sets and evict each other.
template <class T, class BBlock>
void SweepBlocks(const GemmArgs& g, const T* a, T* c, BBlock&& b_block) {
  constexpr int64_t nr_max = kNr<T>;
  const int64_t a_rs = g.trans_a ? 1 : g.lda, a_cs = g.trans_a ? g.lda : 1;
  const T alpha = static_cast<T>(g.alpha);
  alignas(64) T apack[kMc * kKc];  // used when A is transposed
  for (int64_t jc = 0; jc < g.n; jc += kNc<T>) {
    const int64_t nc = std::min(kNc<T>, g.n - jc);
    for (int64_t pc = 0; pc < g.k; pc += kKc) {
      const int64_t kc = std::min(kKc, g.k - pc);
      // Later depth blocks add onto the first one's result.
      const T beta = pc == 0 ? static_cast<T>(g.beta) : T(1);
      const auto [panels, panel_stride] = b_block(jc, pc, kc, nc);
      for (int64_t ic = 0; ic < g.m; ic += kMc) {
        const int64_t mc = std::min(kMc, g.m - ic);
        const T* a_block = a + ic * a_rs + pc * a_cs;
        if (g.trans_a) PackA(mc, kc, a_block, a_rs, a_cs, apack);
        const RowTiles tiles(mc, /*even=*/!g.trans_a);
        for (int64_t jr = 0; jr < nc; jr += nr_max) {
          const int64_t nr = std::min(nr_max, nc - jr);
          for (int64_t ir = 0, tile = 0; ir < mc; ir += tile) {
            tile = tiles.At(ir, mc);
            const T* a_tile = g.trans_a ? apack + ir * kc : a_block + ir * a_rs;
            const int64_t rs = g.trans_a ? 1 : a_rs, cs = g.trans_a ? kMr : a_cs;
            WithRows(tile, [&](auto rows) {
              MicroKernel<T, decltype(rows)::value, 2>(
                  kc, a_tile, rs, cs, panels + (jr / nr_max) * panel_stride, nr_max, alpha,
                  beta, c + (ic + ir) * g.ldc + jc + jr, g.ldc, nr);
            });
          }
        }
      }
    }
  }
}

// SweepBlocks over B packed block by block as it goes (kc x kNc at a time).
template <class T>
void BlockedGemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  const int64_t b_rs = g.trans_b ? 1 : g.ldb, b_cs = g.trans_b ? g.ldb : 1;
  alignas(64) T bpack[kKc * kNc<T>];
  SweepBlocks(g, a, c, [&](int64_t jc, int64_t pc, int64_t kc, int64_t nc) {
    PackB(kc, nc, b + pc * b_rs + jc * b_cs, b_rs, b_cs, bpack);
    return std::pair<const T*, int64_t>(bpack, kNr<T> * kc);
  });
}

// op(B) [k, n] packed whole for PreparedGemm: column panels kNr wide (the last one padded
// with zeros), each panel all k deep with its kNr values per depth step contiguous. A panel's
// kKc-deep stretch is what BlockedGemm's PackB makes, so PreparedGemm runs the same tiles
// over it and gives BlockedGemm's bits.
template <class T>
int64_t PreparedBElements(int64_t k, int64_t n) {
  return k * ((n + kNr<T> - 1) / kNr<T>) * kNr<T>;
}

template <class T>
void PrepareB(const GemmArgs& g, const T* b, T* packed) {
  constexpr int64_t nr = kNr<T>;
  const int64_t b_rs = g.trans_b ? 1 : g.ldb, b_cs = g.trans_b ? g.ldb : 1;
  for (int64_t j0 = 0; j0 < g.n; j0 += nr) {
    PackB(g.k, std::min(nr, g.n - j0), b + j0 * b_cs, b_rs, b_cs, packed + j0 * g.k);
  }
}

// SweepBlocks over a B that PrepareB packed (g.trans_b and g.ldb are not read): nothing of
// B is copied. `packed` may start at any panel of a wider packing of the same depth (a block
// of columns of a split product).
template <class T>
void PreparedGemm(const GemmArgs& g, const T* a, const T* packed, T* c) {
  SweepBlocks(g, a, c, [&](int64_t jc, int64_t pc, int64_t, int64_t) {
    return std::pair<const T*, int64_t>(packed + jc * g.k + pc * kNr<T>, kNr<T> * g.k);
  });
}

// m = R <= kMr and B untransposed: every B element meets the few A rows
// once, so B is read in place (no packing) in tiles as wide as the registers
// allow; more independent accumulators hide the FMA latency when R is small.
// n must be a multiple of w (InPlaceGemm sends the last columns to NarrowGemm).
template <class T, int R>
void FewRowsGemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  constexpr int kNb = R == 1 ? 8 : R == 2 ? 6 : R == 3 ? 4 : R == 4 ? 3 : 2;
  constexpr int64_t w = kWidth<T>;
  const int64_t a_rs = g.trans_a ? 1 : g.lda, a_cs = g.trans_a ? g.lda : 1;
  const T alpha = static_cast<T>(g.alpha), beta = static_cast<T>(g.beta);
  int64_t j = 0;
  for (; j + kNb * w <= g.n; j += kNb * w) {
    MicroKernel<T, R, kNb>(g.k, a, a_rs, a_cs, b + j, g.ldb, alpha, beta, c + j,
                           g.ldc, kNb * w);
  }
  for (; j + w <= g.n; j += w) {
    MicroKernel<T, R, 1>(g.k, a, a_rs, a_cs, b + j, g.ldb, alpha, beta, c + j,
                         g.ldc, w);
  }
}

// The stored lanes of a C column segment: rows c[0], c[ldc], ... get
// alpha * acc + beta * C with StoreRow's SIMD arithmetic (same bits).
template <class T>
inline void StoreColumn(Batch<T> acc, T alpha, T beta, T* c, int64_t ldc, int64_t rows) {
  alignas(64) T buf[kWidth<T>] = {};
  Batch<T> r = acc * Batch<T>(alpha);
  if (beta != T(0)) {
    for (int64_t l = 0; l < rows; ++l) buf[l] = c[l * ldc];
    r += Batch<T>(beta) * Batch<T>::load_aligned(buf);
  }
  r.store_aligned(buf);
  for (int64_t l = 0; l < rows; ++l) c[l * ldc] = buf[l];
}

// n = N < w columns (the weight gradient of a layer with 2 inputs, a
// 1-output head): register tiles along n would be mostly padding, and
// BlockedGemm would pack B once per call for a few multiply-adds. So
// vectorise along m: w rows of A at a time (read in place when trans_a makes
// them contiguous, else through a transposed panel kKc deep), one register
// accumulator per column, summing over k in order as the micro-kernel does.
template <class T, int N>
void NarrowGemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  constexpr int64_t w = kWidth<T>;
  // Row batches per pass: independent accumulator chains hide the FMA latency.
  constexpr int kRb = N <= 2 ? 4 : N <= 4 ? 2 : 1;
  const int64_t a_rs = g.trans_a ? 1 : g.lda, a_cs = g.trans_a ? g.lda : 1;
  const int64_t b_rs = g.trans_b ? 1 : g.ldb, b_cs = g.trans_b ? g.ldb : 1;
  const T alpha = static_cast<T>(g.alpha), beta = static_cast<T>(g.beta);
  alignas(64) T panel[kKc * kRb * w];
  for (int64_t i = 0; i < g.m; i += kRb * w) {
    const int64_t rows = std::min(kRb * w, g.m - i);
    const bool in_place = g.trans_a && rows == kRb * w;
    const T* ai = a + i * a_rs;
    Batch<T> acc[kRb][N];
    for (auto& r : acc) {
      for (auto& v : r) v = Batch<T>(T(0));
    }
    for (int64_t p0 = 0; p0 < g.k; p0 += kKc) {
      const int64_t kc = std::min(kKc, g.k - p0);
      if (!in_place) {
        for (int64_t p = 0; p < kc; ++p) {
          for (int64_t l = 0; l < kRb * w; ++l) {
            panel[p * kRb * w + l] = l < rows ? ai[l * a_rs + (p0 + p) * a_cs] : T(0);
          }
        }
      }
      for (int64_t p = 0; p < kc; ++p) {
        const T* ap = in_place ? ai + (p0 + p) * a_cs : panel + p * kRb * w;
        const T* bp = b + (p0 + p) * b_rs;
        Batch<T> bv[N];
#pragma GCC unroll 8
        for (int j = 0; j < N; ++j) bv[j] = Batch<T>(bp[j * b_cs]);
#pragma GCC unroll 4
        for (int r = 0; r < kRb; ++r) {
          const Batch<T> av = Batch<T>::load_unaligned(ap + r * w);
#pragma GCC unroll 8
          for (int j = 0; j < N; ++j) acc[r][j] = xsimd::fma(av, bv[j], acc[r][j]);
        }
      }
    }
    for (int r = 0; r < kRb && r * w < rows; ++r) {
      for (int j = 0; j < N; ++j) {
        StoreColumn(acc[r][j], alpha, beta, c + (i + r * w) * g.ldc + j, g.ldc,
                    std::min(w, rows - r * w));
      }
    }
  }
}

// NarrowGemm with its column count fixed at compile time, so the accumulators
// stay in registers: up to 8 columns per pass (n < w can reach 15 with
// AVX-512 floats).
template <class T>
void NarrowGemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  constexpr int64_t kMaxColumns = 8;
  const int64_t b_cs = g.trans_b ? g.ldb : 1;
  for (int64_t j = 0; j < g.n; j += kMaxColumns) {
    GemmArgs part = g;
    part.n = std::min(kMaxColumns, g.n - j);
    const T* bj = b + j * b_cs;
    T* cj = c + j;
    switch (part.n) {
      case 1: NarrowGemm<T, 1>(part, a, bj, cj); break;
      case 2: NarrowGemm<T, 2>(part, a, bj, cj); break;
      case 3: NarrowGemm<T, 3>(part, a, bj, cj); break;
      case 4: NarrowGemm<T, 4>(part, a, bj, cj); break;
      case 5: NarrowGemm<T, 5>(part, a, bj, cj); break;
      case 6: NarrowGemm<T, 6>(part, a, bj, cj); break;
      case 7: NarrowGemm<T, 7>(part, a, bj, cj); break;
      default: NarrowGemm<T, 8>(part, a, bj, cj); break;
    }
  }
}

// !trans_b, B read in place: the columns in whole batches in row blocks of
// kMr (and one of fewer), the last n % w columns all rows at once.
template <class T>
void InPlaceGemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  const int64_t a_rs = g.trans_a ? 1 : g.lda;
  const int64_t tail = g.n % kWidth<T>;
  GemmArgs body = g;
  body.n = g.n - tail;
  for (int64_t i = 0; body.n > 0 && i < g.m; i += kMr) {
    GemmArgs rows = body;
    rows.m = std::min<int64_t>(kMr, g.m - i);
    const T* ai = a + i * a_rs;
    T* ci = c + i * g.ldc;
    WithRows(rows.m, [&](auto r) {
      FewRowsGemm<T, decltype(r)::value>(rows, ai, b, ci);
    });
  }
  if (tail == 0) return;
  GemmArgs last = g;
  last.n = tail;
  NarrowGemm(last, a, b + body.n, c + body.n);
}

// !trans_a, trans_b: A rows and B rows both run along k, so C is a set of
// dot products, w columns at a time: w accumulators reduced together by SumEachRow
// straight into a batch of C. The k tail goes through zero-padded buffers;
// columns past n re-read the last B row and are not stored.
template <class T>
void DotGemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  constexpr int64_t w = kWidth<T>;
  const T alpha = static_cast<T>(g.alpha), beta = static_cast<T>(g.beta);
  const int64_t k_body = g.k - g.k % w;
  for (int64_t i = 0; i < g.m; ++i) {
    const T* ai = a + i * g.lda;
    alignas(64) T a_tail[w] = {};
    for (int64_t p = k_body; p < g.k; ++p) a_tail[p - k_body] = ai[p];
    for (int64_t j0 = 0; j0 < g.n; j0 += w) {
      const T* bj[w];
      for (int64_t j = 0; j < w; ++j) {
        bj[j] = b + std::min(j0 + j, g.n - 1) * g.ldb;
      }
      Batch<T> acc[w];
      for (auto& v : acc) v = Batch<T>(T(0));
      for (int64_t p = 0; p < k_body; p += w) {
        const Batch<T> av = Batch<T>::load_unaligned(ai + p);
#pragma GCC unroll 16
        for (int64_t j = 0; j < w; ++j) {
          acc[j] = xsimd::fma(av, Batch<T>::load_unaligned(bj[j] + p), acc[j]);
        }
      }
      if (k_body < g.k) {
        const Batch<T> av = Batch<T>::load_aligned(a_tail);
        for (int64_t j = 0; j < w; ++j) {
          alignas(64) T b_tail[w] = {};
          for (int64_t p = k_body; p < g.k; ++p) b_tail[p - k_body] = bj[j][p];
          acc[j] = xsimd::fma(av, Batch<T>::load_aligned(b_tail), acc[j]);
        }
      }
      StoreRow(SumEachRow(acc), alpha, beta, c + i * g.ldc + j0,
               std::min(w, g.n - j0));
    }
  }
}

// Transposed B of little depth (an input projection x W^T with 2 inputs):
// BlockedGemm's per-tile overhead would dominate the few multiply-adds, so
// B^T is copied out (k * n <= 32K elements) and read in place.
template <class T>
void ShallowGemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  alignas(64) T bt[kInPlaceBytes / sizeof(T)];
  for (int64_t j = 0; j < g.n; ++j) {
    for (int64_t p = 0; p < g.k; ++p) bt[p * g.n + j] = b[j * g.ldb + p];
  }
  GemmArgs plain = g;
  plain.trans_b = false;
  plain.ldb = g.n;
  InPlaceGemm(plain, a, bt, c);
}

// Our kernel for any shape. Dot products serve transposed B for up to
// kDotRows rows (beyond that, packing B once wins) or fewer columns than a
// SIMD batch; other narrow products vectorise along rows; B is read in place
// when each B element meets few A rows or B stays in L2.
template <class T>
void OwnGemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  const bool b_in_l2 =
      g.k * g.n * static_cast<int64_t>(sizeof(T)) <= kInPlaceBytes;
  const bool narrow = g.n < kWidth<T>;
  if (g.trans_b && !g.trans_a && (g.m <= kDotRows || narrow)) return DotGemm(g, a, b, c);
  if (narrow) return NarrowGemm(g, a, b, c);
  if (!g.trans_b && (g.m <= kMr || b_in_l2)) return InPlaceGemm(g, a, b, c);
  if (g.trans_b && g.k < kKc / 8 && b_in_l2) return ShallowGemm(g, a, b, c);
  BlockedGemm(g, a, b, c);
}

template <class T>
constexpr internal::GemmKernels<T> kGemmKernels = {.own_gemm = OwnGemm<T>,
                                                   .scale_c = ScaleC<T>,
                                                   .prepared_b_elements = PreparedBElements<T>,
                                                   .prepare_b = PrepareB<T>,
                                                   .prepared_gemm = PreparedGemm<T>,
                                                   .panel_columns = kNr<T>};

}  // namespace

const internal::GemmTable kGemmTable = {.f32 = kGemmKernels<float>, .f64 = kGemmKernels<double>};

}  // namespace tg::kernels::TG_KERNEL_ISA
