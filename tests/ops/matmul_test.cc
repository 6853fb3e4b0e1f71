// matmul: values against a naive double product for every transpose combination, the
// accumulate and unaligned kernel paths, the declared row facts, and the shape errors.
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "graph/graph.h"
#include "graph/op_def.h"
#include "ops/ops.h"
#include "ops/registry.h"
#include "testing/test_values.h"
#include "tests/ops/op_test_util.h"

namespace tg {
namespace {

using testing::kSizes;
using testing::Op;
using testing::RunKernel;
using testing::Uniform;

// op(a)[m,k] x op(b)[k,n] in double; `bound` gets sum_p |op(a)||op(b)| per entry, the scale
// a rounding error is relative to.
template <class T>
std::vector<double> Reference(const std::vector<T>& a, const std::vector<T>& b, int64_t m,
                              int64_t k, int64_t n, bool ta, bool tb,
                              std::vector<double>* bound) {
  std::vector<double> c(m * n, 0.0);
  bound->assign(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t p = 0; p < k; ++p) {
        const double av = ta ? a[p * m + i] : a[i * k + p];
        const double bv = tb ? b[j * k + p] : b[p * n + j];
        c[i * n + j] += av * bv;
        (*bound)[i * n + j] += std::fabs(av * bv);
      }
    }
  }
  return c;
}

template <class T>
void ExpectNear(const std::vector<T>& got, const std::vector<double>& want,
                const std::vector<double>& bound, double rtol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], rtol * (bound[i] + 1e-30)) << what << " entry " << i;
  }
}

Shape Stored(int64_t rows, int64_t cols, bool transposed) {
  return transposed ? Shape{cols, rows} : Shape{rows, cols};
}

template <class T>
void CheckAllShapes(double rtol) {
  uint64_t seed = 1;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (int64_t m : kSizes) {
        for (int64_t k : kSizes) {
          for (int64_t n : kSizes) {
            const std::vector<T> a = Uniform<T>(m * k, -1, 3, seed++),
                                 b = Uniform<T>(k * n, -1, 3, seed++);
            Graph g;
            Expr c = MatMul(g.Input(Stored(m, k, ta), a), g.Input(Stored(k, n, tb), b),
                            {.transpose_a = ta, .transpose_b = tb});
            const std::string what = fmt::format("ta={} tb={} m={} k={} n={}", ta, tb, m, k, n);
            ASSERT_TRUE(g.status().ok()) << what << ": " << g.status();
            EXPECT_EQ(c.shape(), (Shape{m, n})) << what;
            absl::StatusOr<std::vector<T>> got = c.ToVector<T>();
            ASSERT_TRUE(got.ok()) << got.status();
            std::vector<double> bound;
            ExpectNear(*got, Reference(a, b, m, k, n, ta, tb, &bound), bound, rtol, what);
          }
        }
      }
    }
  }
}

TEST(MatMulOpTest, MatchesReferenceF32) { CheckAllShapes<float>(1e-5); }
TEST(MatMulOpTest, MatchesReferenceF64) { CheckAllShapes<double>(1e-12); }

// Large enough to reach oneDNN, with two threads and then one again: the thread count is
// honoured per call and both give the right values.
TEST(MatMulOpTest, ThreadCountFromExecOptions) {
  const int64_t m = 70, k = 70, n = 70;
  const std::vector<float> a = Uniform<float>(m * k, -1, 3, 7), b = Uniform<float>(k * n, -1, 3, 8);
  std::vector<double> bound;
  const std::vector<double> want = Reference(a, b, m, k, n, false, false, &bound);
  for (int threads : {2, 1}) {
    Graph g({.exec = {.num_threads = threads}});
    Expr c = MatMul(g.Input({m, k}, a), g.Input({k, n}, b));
    absl::StatusOr<std::vector<float>> got = c.ToVector<float>();
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectNear(*got, want, bound, 1e-5, fmt::format("{} threads", threads));
  }
}

// Two graphs on two user threads, both asking for 2 GEMM threads, share one pool: neither
// deadlocks, and both get the same values as one thread would.
TEST(MatMulOpTest, ThreadedGraphsOnTwoUserThreads) {
  const int64_t m = 100, k = 100, n = 100;  // large enough to be split
  const std::vector<float> a = Uniform<float>(m * k, -1, 3, 9),
                           b = Uniform<float>(k * n, -1, 3, 10);
  std::vector<double> bound;
  const std::vector<double> want = Reference(a, b, m, k, n, false, false, &bound);
  auto run = [&](int id) {
    Graph g({.exec = {.num_threads = 2}});
    for (int i = 0; i < 50; ++i) {
      g.Clear();
      Expr c = MatMul(g.Input({m, k}, a), g.Input({k, n}, b));
      absl::StatusOr<std::vector<float>> got = c.ToVector<float>();
      ASSERT_TRUE(got.ok()) << got.status();
      ExpectNear(*got, want, bound, 1e-5, fmt::format("thread {} run {}", id, i));
    }
  };
  std::thread other(run, 1);
  run(0);
  other.join();
}

// The kernel called directly: out = old + A B with accumulate, with A starting one element
// into its buffer (a view may start anywhere).
template <class T>
void CheckAccumulateUnaligned(double rtol) {
  const int64_t m = 5, k = 17, n = 9;
  std::vector<T> a_buf = Uniform<T>(m * k + 1, -1, 3, 11);
  const std::vector<T> a(a_buf.begin() + 1, a_buf.end());
  std::vector<T> b = Uniform<T>(k * n, -1, 3, 12);
  const std::vector<T> old = Uniform<T>(m * n, -1, 3, 13);
  std::vector<T> out = old;
  const DType dt = DTypeOf<T>();
  Attrs attrs;
  attrs.ints = {0, 0};
  const absl::Status s =
      RunKernel(Op("matmul"), {Tensor(a_buf.data() + 1, dt, {m, k}), Tensor(b.data(), dt, {k, n})},
                Tensor(out.data(), dt, {m, n}), attrs, /*accumulate=*/true);
  ASSERT_TRUE(s.ok()) << s;
  std::vector<double> bound;
  std::vector<double> want = Reference(a, b, m, k, n, false, false, &bound);
  for (int64_t i = 0; i < m * n; ++i) {
    want[i] += old[i];
    bound[i] += std::fabs(old[i]);
  }
  ExpectNear(out, want, bound, rtol, "accumulate");
}

TEST(MatMulOpTest, KernelAccumulatesIntoUnalignedViewsF32) {
  CheckAccumulateUnaligned<float>(1e-5);
}
TEST(MatMulOpTest, KernelAccumulatesIntoUnalignedViewsF64) {
  CheckAccumulateUnaligned<double>(1e-12);
}

TEST(MatMulOpTest, RowFactsFollowTransposeFlags) {
  const OpDef& op = Op("matmul");
  ASSERT_NE(op.rows, nullptr);
  const TensorType t = {DType::kF32, {4, 4}};
  const TensorType types[] = {t, t};
  auto facts = [&](bool ta, bool tb) {
    Attrs attrs;
    attrs.ints = {ta ? 1 : 0, tb ? 1 : 0};
    return op.rows(attrs, absl::MakeConstSpan(types));
  };
  for (bool tb : {false, true}) {
    EXPECT_EQ(facts(false, tb).kind, RowKind::kIndependent);
    EXPECT_EQ(facts(false, tb).row_operands, 0b01u);
  }
  EXPECT_EQ(facts(true, false).kind, RowKind::kSummed);
  EXPECT_EQ(facts(true, false).row_operands, 0b11u);
  // A^T B^T sums over B's columns, not its rows: nothing a row-stacking compiler may use.
  EXPECT_EQ(facts(true, true).kind, RowKind::kNone);
}

// kIndependent: [A1;A2] x B == [A1 x B; A2 x B].
TEST(MatMulOpTest, IndependentRowsStackF64) {
  const int64_t m1 = 3, m2 = 5, k = 7, n = 4;
  const std::vector<double> a = Uniform<double>((m1 + m2) * k, -1, 3, 21),
                            b = Uniform<double>(k * n, -1, 3, 22);
  Graph g;
  Expr bx = g.Input({k, n}, b);
  std::vector<double> stacked = *MatMul(g.Input({m1 + m2, k}, a), bx).ToVector<double>();
  std::vector<double> parts =
      *MatMul(g.Input({m1, k}, absl::MakeConstSpan(a).subspan(0, m1 * k)), bx)
           .ToVector<double>();
  const std::vector<double> second =
      *MatMul(g.Input({m2, k}, absl::MakeConstSpan(a).subspan(m1 * k)), bx).ToVector<double>();
  parts.insert(parts.end(), second.begin(), second.end());
  ASSERT_TRUE(g.status().ok()) << g.status();
  ASSERT_EQ(stacked.size(), parts.size());
  for (size_t i = 0; i < parts.size(); ++i) EXPECT_NEAR(stacked[i], parts[i], 1e-12);
}

// kSummed: [A1;A2]^T [B1;B2] == A1^T B1 + A2^T B2.
TEST(MatMulOpTest, SummedRowsStackF64) {
  const int64_t r1 = 4, r2 = 6, m = 3, n = 5;
  const std::vector<double> a = Uniform<double>((r1 + r2) * m, -1, 3, 31),
                            b = Uniform<double>((r1 + r2) * n, -1, 3, 32);
  Graph g;
  const MatMulOptions ta = {.transpose_a = true};
  std::vector<double> stacked =
      *MatMul(g.Input({r1 + r2, m}, a), g.Input({r1 + r2, n}, b), ta).ToVector<double>();
  auto part = [&](int64_t begin, int64_t rows) {
    return *MatMul(g.Input({rows, m}, absl::MakeConstSpan(a).subspan(begin * m, rows * m)),
                   g.Input({rows, n}, absl::MakeConstSpan(b).subspan(begin * n, rows * n)), ta)
                .ToVector<double>();
  };
  const std::vector<double> p1 = part(0, r1), p2 = part(r1, r2);
  ASSERT_TRUE(g.status().ok()) << g.status();
  ASSERT_EQ(stacked.size(), static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(stacked[i], p1[i] + p2[i], 1e-12);
}

TEST(MatMulOpTest, InnerDimensionMismatchNamesShapesAndScope) {
  Graph g;
  Expr c;
  {
    auto s = g.Scope("step_3");
    c = MatMul(g.Input({32, 8}, std::vector<float>(32 * 8)),
               g.Input({16, 128}, std::vector<float>(16 * 128)));
  }
  const absl::Status& s = g.status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(s.message());
  for (const char* part : {"matmul", "inner dimensions differ", "[32,8]", "[16,128]",
                           "step_3/matmul"}) {
    EXPECT_NE(msg.find(part), std::string::npos) << "missing \"" << part << "\" in: " << msg;
  }
  EXPECT_FALSE(c.value().ok());
}

TEST(MatMulOpTest, MixedDTypesRefused) {
  Graph g;
  Expr c = MatMul(g.Input({2, 3}, std::vector<float>(6)), g.Input({3, 2}, std::vector<double>(6)));
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(g.status().message()).find("f64"), std::string::npos) << g.status();
  EXPECT_FALSE(c.value().ok());
}

TEST(MatMulOpTest, NonMatrixOperandsRefused) {
  Graph g;
  MatMul(g.Input({2, 3, 4}, std::vector<float>(24)), g.Input({4, 2}, std::vector<float>(8)));
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(g.status().message());
  EXPECT_NE(msg.find("2-D"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2,3,4]"), std::string::npos) << msg;
}

}  // namespace
}  // namespace tg
