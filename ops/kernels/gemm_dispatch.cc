// Which GEMM runs a product (oneDNN's sgemm or our kernels, gemm_kernels.cc) and how it
// is split over ThreadPool's threads. The rules come from paired gemm_bench runs.
#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "ops/kernels/gemm.h"
#include "ops/kernels/gemm_internal.h"
#include "ops/kernels/isa.h"
#include "base/thread_pool.h"

namespace tg::kernels {
namespace {

// Our kernels, built for the active ISA (gemm_kernels.cc).
const internal::GemmTable& OwnKernels() {
  static const internal::GemmTable& table = ForActiveIsa(avx2::kGemmTable, avx512::kGemmTable);
  return table;
}
void OwnGemm(const GemmArgs& g, const float* a, const float* b, float* c) {
  OwnKernels().f32.own_gemm(g, a, b, c);
}
void OwnGemm(const GemmArgs& g, const double* a, const double* b, double* c) {
  OwnKernels().f64.own_gemm(g, a, b, c);
}
void ScaleC(const GemmArgs& g, float* c) { OwnKernels().f32.scale_c(g, c); }
void ScaleC(const GemmArgs& g, double* c) { OwnKernels().f64.scale_c(g, c); }

constexpr int64_t kMr = internal::kGemmTileRows;

// Below this many multiply-adds (m*n*k) a float product runs our kernel: a
// dnnl_sgemm call costs ~0.45 us even for [1,32]x[32,128], and up to here
// ours was as fast or faster (1 thread, Zen3) except with both operands
// transposed, which always goes to oneDNN. See bench/gemm_bench.cc.
constexpr int64_t kSmallSgemm = 64 * 1024;

// Below this many multiply-adds a product runs on the calling thread alone:
// handing out chunks costs a few us, and smaller blocks run less efficiently.
// See bench/gemm_bench.cc (threads 1 vs 2).
constexpr int64_t kParallelGemm = 512 * 1024;
// Elements per 64-byte cache line.
template <class T>
constexpr int64_t kLineElems = 64 / sizeof(T);

// oneDNN parallelises with OpenMP, whose thread count is a per-thread setting
// that defaults to every core. Our threads come from ThreadPool, so each
// thread that reaches oneDNN (callers and pool workers) sets its own to 1.
void UseOneOmpThread() {
  thread_local bool set = false;
  if (!set) {
    omp_set_num_threads(1);
    set = true;
  }
}

// A^T B with B in L1: the weight gradient dW = dY^T X of one step (depth =
// batch, X narrow). On an AVX2 Zen3 ours beat oneDNN there, one thread, paired runs of
// gemm_bench: [1024,32]x[32,256] 325 vs 510 us, [1024,32]x[32,64] 75 vs
// 102 us, [512,50]x[50,128] 110 vs 118 us; with B of 128 KB oneDNN wins
// ([2048,64]x[64,512] 2.1 vs 3.8 ms), so larger B stays with oneDNN -- unless the
// depth is large (the weight gradient of T steps batched over time) and A fits in L3:
// oneDNN's A^T B slows as k grows, and [1024,k]^T x [k,256] on 2 threads ran ours 78 vs
// 54 GFLOP/s at k = 1024, 71 vs 53 at 1600, 85 vs 57 at 3200 (1 thread at 3200: 44-52 vs
// 29-34), while at k = 256 and 512 oneDNN won (114 vs 97, 97 vs 92). With A of 52 MB
// ([2048,6400]^T x [6400,512]) oneDNN won on 1 thread (60 vs 36-40 GFLOP/s): ours streams
// A once per block of B's columns. The AVX-512 EPYC under TG_ISA=avx2 and
// ONEDNN_MAX_CPU_ISA=AVX2 agrees (1 thread, GFLOP/s per CPU second, ours vs oneDNN, medians
// of 15 alternating runs): [512,50]^T x [50,128] 94 vs 85, [1024,32]^T x [32,256] 68 vs 49,
// k = 1024 and 3200 84 vs 54 and 58, [2048,64]^T x [64,512] 66 vs 97 (at k = 512 ours also
// won there, 86 vs 57; the Zen3 figures keep k = 512 with oneDNN). On the AVX-512 path oneDNN ran every one of these shapes
// as fast or faster than our AVX-512 kernel (1 thread, GFLOP/s per CPU second, medians of 15
// alternating runs; docs/performance.md, "GEMM"): [512,50]^T x [50,128] 185 vs 147,
// [1024,32]^T x [32,256] 123 vs 101, [1024,1024]^T x [1024,256] 136 vs 137, [1024,3200]^T x
// [3200,256] 136 vs 132, [1024,3200]^T x [3200,64] 116 vs 92; so there they go to oneDNN.
constexpr int64_t kL1Bytes = 32 * 1024;
constexpr int64_t kDeepWeightGradient = 1024;
constexpr int64_t kL3Bytes = 16 * 1024 * 1024;  // half of the 32 MB L3
bool WeightGradientShape(const GemmArgs& g) {
  static const bool ours = ActiveIsa() == Isa::kAvx2;
  if (!ours) return false;
  const int64_t f = sizeof(float);
  return g.trans_a && !g.trans_b &&
         (g.k * g.n * f <= kL1Bytes || (g.k >= kDeepWeightGradient && g.m * g.k * f <= kL3Bytes));
}

// Whether a float product runs oneDNN's sgemm.
bool RunsOneDnn(const GemmArgs& g) {
  const bool large = g.m * g.n * g.k >= kSmallSgemm && !WeightGradientShape(g);
  return g.engine == GemmEngine::kOneDnn ||
         (g.engine == GemmEngine::kAuto && (large || (g.trans_a && g.trans_b)));
}

// oneDNN's sgemm reads a transposed A down its columns, lda apart. With lda a multiple of 1024
// floats (4 KB) those reads fall into the same few cache sets: on the AVX-512 EPYC, 1 thread,
// best of 40 alternating calls, [1024,1600]^T x [1600,256] ran at 129 and 149 GFLOP/s with lda
// 1024 against 158 and 195 with lda 1040, [2048,1600]^T x [1600,256] at 145 and 136 against
// 183 and 183 (the stacked weight gradients of an LSTM of 256 and of 512 over 50 steps of 32).
// Such a product, when deep, runs over a copy of A with one cache line more per row, a block
// of rows at a time: each block fits in L2, and the copy costs a few percent of the product.
constexpr int64_t kAliasingStride = 1024;  // floats: 4 KB
constexpr int64_t kStridePadding = 16;  // floats: one cache line
constexpr int64_t kMinCopiedDepth = 256;
constexpr int64_t kCopyBlockFloats = 256 * 1024;  // 1 MB
constexpr int64_t kMinCopiedRows = 64;

int64_t CopiedRowsOfA(const GemmArgs& g) {
  if (!g.trans_a || g.lda % kAliasingStride != 0 || g.k < kMinCopiedDepth) return 0;
  const int64_t rows = kCopyBlockFloats / (g.m + kStridePadding);
  return rows >= kMinCopiedRows ? rows : 0;
}

// A^T B over copies of A's rows, `rows` at a time, into this thread's buffer (allocated at
// its first such product, then reused): the partial products sum into C in order. Should
// oneDNN refuse a block, our kernel sums the rest of the depth into C.
void SgemmOverCopiedA(const GemmArgs& g, const float* a, const float* b, float* c,
                      int64_t rows) {
  thread_local std::unique_ptr<float[]> buffer;
  if (buffer == nullptr) buffer = std::make_unique<float[]>(kCopyBlockFloats);
  const int64_t stride = g.m + kStridePadding;
  for (int64_t k0 = 0; k0 < g.k; k0 += rows) {
    const int64_t depth = std::min(rows, g.k - k0);
    for (int64_t r = 0; r < depth; ++r) {
      std::copy_n(a + (k0 + r) * g.lda, g.m, buffer.get() + r * stride);
    }
    const float* b_rows = b + (g.trans_b ? k0 : k0 * g.ldb);
    const float beta = k0 == 0 ? static_cast<float>(g.beta) : 1.0f;
    const dnnl_status_t st =
        dnnl_sgemm('T', g.trans_b ? 'T' : 'N', g.m, g.n, depth, static_cast<float>(g.alpha),
                   buffer.get(), stride, b_rows, g.ldb, beta, c, g.ldc);
    if (st == dnnl_success) continue;
    GemmArgs rest = g;
    rest.k = g.k - k0;
    rest.beta = beta;
    return OwnGemm(rest, a + k0 * g.lda, b_rows, c);
  }
}

void SerialGemm(const GemmArgs& g, const float* a, const float* b, float* c) {
  if (RunsOneDnn(g)) {
    UseOneOmpThread();
    if (const int64_t rows = CopiedRowsOfA(g); rows > 0) {
      return SgemmOverCopiedA(g, a, b, c, rows);
    }
    const dnnl_status_t st =
        dnnl_sgemm(g.trans_a ? 'T' : 'N', g.trans_b ? 'T' : 'N', g.m, g.n, g.k,
                   static_cast<float>(g.alpha), a, g.lda, b, g.ldb,
                   static_cast<float>(g.beta), c, g.ldc);
    if (st == dnnl_success) return;
    // oneDNN refused the arguments: our kernel still gives the right answer.
  }
  OwnGemm(g, a, b, c);
}

void SerialGemm(const GemmArgs& g, const double* a, const double* b, double* c) {
  OwnGemm(g, a, b, c);
}

// Splits C into blocks, one chunk each on ThreadPool::Shared(), each block a
// serial product; below kParallelGemm (or with threads = 1) one serial call.
// The split depends only on the arguments, so results repeat bitwise.
template <class T>
void ParallelGemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  const GemmSplit s = SplitGemm(g, kLineElems<T>);
  if (s.blocks <= 1) return SerialGemm(g, a, b, c);
  ThreadPool::Shared().ParallelFor(s.blocks, g.threads, [&](int i) {
    GemmArgs sub = g;
    const int64_t lo = i * s.size;
    if (s.columns) {
      sub.n = std::min(s.size, g.n - lo);
      SerialGemm(sub, a, b + (g.trans_b ? lo * g.ldb : lo), c + lo);
    } else {
      sub.m = std::min(s.size, g.m - lo);
      SerialGemm(sub, a + (g.trans_a ? lo : lo * g.lda), b, c + lo * g.ldc);
    }
  });
}

template <class T>
const internal::GemmKernels<T>& OwnKernelsOf() {
  if constexpr (std::is_same_v<T, float>) {
    return OwnKernels().f32;
  } else {
    return OwnKernels().f64;
  }
}

// ParallelGemm over a packed B: column blocks start at whole panels of the packing.
template <class T>
void ParallelPreparedGemm(const GemmArgs& g, const T* a, const T* packed, T* c) {
  const internal::GemmKernels<T>& own = OwnKernelsOf<T>();
  const GemmSplit s = SplitGemm(g, std::max(kLineElems<T>, own.panel_columns));
  if (s.blocks <= 1) return own.prepared_gemm(g, a, packed, c);
  ThreadPool::Shared().ParallelFor(s.blocks, g.threads, [&](int i) {
    GemmArgs sub = g;
    const int64_t lo = i * s.size;
    if (s.columns) {
      sub.n = std::min(s.size, g.n - lo);
      own.prepared_gemm(sub, a, packed + lo * g.k, c + lo);
    } else {
      sub.m = std::min(s.size, g.m - lo);
      own.prepared_gemm(sub, a + (g.trans_a ? lo : lo * g.lda), packed, c + lo * g.ldc);
    }
  });
}

template <class T>
void PreparedProduct(const GemmArgs& g, const T* a, const T* packed, T* c) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0 || g.alpha == 0) return ScaleC(g, c);
  ParallelPreparedGemm(g, a, packed, c);
}

}  // namespace

int64_t TransposedACopyRows(const GemmArgs& g) {
  return RunsOneDnn(g) ? CopiedRowsOfA(g) : 0;
}

// A prepared B pays where the product would run our kernel anyway (every double product, the
// small float ones): the packed kernel skips the packing and reads B's panels contiguously
// ([1,32]x[32,128]^T 146 vs 227 ns, [1,128]x[128,32] 143 vs 229 ns, AVX-512 path). Of the
// products oneDNN runs, those with a transposed B gain on both paths: oneDNN's sgemm packs
// such a B on every call, and over a packed B our kernel took 86 against 113 us for
// [32,256]x[1024,256]^T and 727 against 868 us for [64,512]x[2048,512]^T (AVX-512 path; AVX2
// path 188 against 223 us at M). With B untransposed the two paths part. On the AVX-512 path
// oneDNN was as fast or faster (88 against 86 us for [32,1024]x[1024,256], 756 against 657 us
// for [64,2048]x[2048,512]), so those products read W as it is. On an AVX2 Zen 3 oneDNN's
// sgemm takes its no-copy kernel for such few-row products, whose speed depends on where B
// starts: [64,2048]x[2048,512] ran 1.49 ms with B 16 bytes past a cache line and 2.2 to 2.6
// ms with B on one (what a parameter's buffer is), and over a packed B our kernel took 208
// against 224 us at M and 1.65 against 2.66 ms at L (medians of 7 interleaved runs). So on
// the AVX2 path every product with a prepared B runs over it. 1 thread, bench/gemm_bench
// PreparedShapes: CPU times on the AVX-512 EPYC, wall times on the Zen 3
// (docs/performance.md, "Prepared operands").
bool PreparedGemmBPays(const GemmArgs& g, bool f64) {
  static const bool avx2 = ActiveIsa() == Isa::kAvx2;
  return f64 || avx2 || g.trans_b || !RunsOneDnn(g);
}

template <class T>
int64_t PreparedGemmBElements(int64_t k, int64_t n) {
  return OwnKernelsOf<T>().prepared_b_elements(k, n);
}
template int64_t PreparedGemmBElements<float>(int64_t k, int64_t n);
template int64_t PreparedGemmBElements<double>(int64_t k, int64_t n);

void PrepareGemmB(const GemmArgs& g, const float* b, float* packed) {
  OwnKernels().f32.prepare_b(g, b, packed);
}
void PrepareGemmB(const GemmArgs& g, const double* b, double* packed) {
  OwnKernels().f64.prepare_b(g, b, packed);
}
void GemmPreparedB(const GemmArgs& g, const float* a, const float* packed, float* c) {
  PreparedProduct(g, a, packed, c);
}
void GemmPreparedB(const GemmArgs& g, const double* a, const double* packed, double* c) {
  PreparedProduct(g, a, packed, c);
}

GemmSplit SplitGemm(const GemmArgs& g, int64_t align) {
  const int64_t threads = std::max(1, g.threads);
  if (threads == 1 || g.m * g.n * g.k < kParallelGemm) return {};
  // Column blocks are whole cache lines of C (and of untransposed B), so no
  // two threads write one line and each block is as aligned as the full one.
  const int64_t cols = (g.n + threads - 1) / threads;
  const int64_t col_size = (cols + align - 1) / align * align;
  const int64_t col_blocks = (g.n + col_size - 1) / col_size;
  // Column blocks each read all of A, row blocks all of B: split the side whose operand is
  // the larger one (A [m,k] against B [k,n]), so that the one every block reads is the smaller.
  const bool rows_first = g.m > g.n;
  if (col_blocks == threads && !rows_first) {
    return {.columns = true, .blocks = static_cast<int>(threads), .size = col_size};
  }
  // Too few columns: rows, in multiples of the kernels' register tile.
  const int64_t rows = (g.m + threads - 1) / threads;
  const int64_t row_size = (rows + kMr - 1) / kMr * kMr;
  const int64_t row_blocks = (g.m + row_size - 1) / row_size;
  if (row_blocks >= col_blocks) {
    return {.columns = false, .blocks = static_cast<int>(row_blocks), .size = row_size};
  }
  return {.columns = true, .blocks = static_cast<int>(col_blocks), .size = col_size};
}

void Gemm(const GemmArgs& g, const float* a, const float* b, float* c) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0 || g.alpha == 0) return ScaleC(g, c);
  ParallelGemm(g, a, b, c);
}

void Gemm(const GemmArgs& g, const double* a, const double* b, double* c) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0 || g.alpha == 0) return ScaleC(g, c);
  ParallelGemm(g, a, b, c);
}

}  // namespace tg::kernels
