// Dense matrix product, row-major: C[m,n] = alpha * op(A)[m,k] * op(B)[k,n]
// + beta * C. float goes to oneDNN's sgemm, or to our xsimd kernels when the
// product is too small to pay for a oneDNN call; double always runs ours.
// Our kernels never allocate and use up to 448 KB of stack for packing B (and a
// transposed A).
// With threads > 1 a large product is split into blocks of C, each a
// single-threaded call, run on ThreadPool::Shared() (thread_pool.h).
#ifndef TAPEGRAD_OPS_KERNELS_GEMM_H_
#define TAPEGRAD_OPS_KERNELS_GEMM_H_

#include <cstdint>

namespace tg::kernels {

// lda/ldb/ldc are row strides of the matrices as stored: A is stored [m,k]
// (lda >= k) when !trans_a and [k,m] (lda >= m) when trans_a; likewise B is
// [k,n] or [n,k]; C is [m,n] with ldc >= n. beta = 0 never reads C; beta = 1
// accumulates. m, n or k may be 0 (k = 0 gives C = beta * C).
// Which implementation runs a float product: the rules of gemm_dispatch.cc (kAuto), or
// one of them regardless of shape (benchmarks and tests). double always runs ours.
enum class GemmEngine { kAuto, kOwn, kOneDnn };

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  double alpha = 1, beta = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int threads = 1;  // the calling thread plus up to threads - 1 pool workers
  GemmEngine engine = GemmEngine::kAuto;
};

// Results repeat bitwise for the same arguments (thread count included):
// neither the pool's load nor which thread runs a block changes them. Safe to
// call from several threads at once (a busy pool runs a call's blocks on its
// caller). oneDNN runs with one OpenMP thread on every thread that calls it.
void Gemm(const GemmArgs& args, const float* a, const float* b, float* c);
void Gemm(const GemmArgs& args, const double* a, const double* b, double* c);

// Rows of A per block that a float product running oneDNN's sgemm copies to a padded stride
// before multiplying (a deep A^T B whose lda is a multiple of 4 KB, whose column reads would
// share cache sets), or 0 when it reads A where it is. Exposed for tests.
int64_t TransposedACopyRows(const GemmArgs& args);

// A B operand many products share (a weight read at every step of a sequence) can be packed
// once and the products run over the packing: B is then copied by none of them. The packing
// is op(B) [k,n] in column panels of the active ISA's register tile (isa.h), so it is valid
// only in the process that made it.
// Whether GemmPreparedB over a packed B is faster for the product `args` (float; double when
// `f64`) than Gemm, which packs or reads B itself on every call (the rules and their figures
// are in gemm_dispatch.cc). Each product of a sequence still costs the same without it.
bool PreparedGemmBPays(const GemmArgs& args, bool f64);
// Elements PrepareGemmB writes for op(B) of k rows and n columns.
template <class T>
int64_t PreparedGemmBElements(int64_t k, int64_t n);
// Packs op(B) as args.trans_b, k, n and ldb describe it (the other fields are not read) into
// `packed`, PreparedGemmBElements<T>(k, n) elements.
void PrepareGemmB(const GemmArgs& args, const float* b, float* packed);
void PrepareGemmB(const GemmArgs& args, const double* b, double* packed);
// Gemm with op(B) packed by PrepareGemmB for the same k and n (args.trans_b and args.ldb are
// not read): tapegrad's kernel whatever args.engine says, split over args.threads like Gemm,
// the same bits for the same arguments. For double (and float without oneDNN) it gives the
// bits Gemm gives where Gemm packs B itself (the blocked kernel).
void GemmPreparedB(const GemmArgs& args, const float* a, const float* packed_b, float* c);
void GemmPreparedB(const GemmArgs& args, const double* a, const double* packed_b, double* c);

// How Gemm splits C for args.threads: `blocks` blocks of `size` columns (or
// rows; the last may be smaller). blocks <= 1: not split. Column blocks are
// multiples of `align` elements. Exposed for tests.
struct GemmSplit {
  bool columns = true;
  int blocks = 1;
  int64_t size = 0;
};
GemmSplit SplitGemm(const GemmArgs& args, int64_t align);

// Naive triple loop accumulating in double; the oracle for tests.
template <class T>
void GemmReference(const GemmArgs& g, const T* a, const T* b, T* c) {
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t j = 0; j < g.n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < g.k; ++p) {
        const T av = g.trans_a ? a[p * g.lda + i] : a[i * g.lda + p];
        const T bv = g.trans_b ? b[j * g.ldb + p] : b[p * g.ldb + j];
        s += static_cast<double>(av) * static_cast<double>(bv);
      }
      T& cv = c[i * g.ldc + j];
      const double old = g.beta == 0 ? 0.0 : g.beta * static_cast<double>(cv);
      cv = static_cast<T>(g.alpha * s + old);
    }
  }
}

}  // namespace tg::kernels

#endif  // TAPEGRAD_OPS_KERNELS_GEMM_H_
