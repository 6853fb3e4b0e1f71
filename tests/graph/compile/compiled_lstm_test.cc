// What the compiler makes of an LSTM, read from the program: two matrix products per step (the
// recurrent product forward and its input gradient backward; every other product is batched
// over time), and a listing that reports kernels, products, fused runs, stacked nodes, peak
// bytes and compile seconds. Plus the feed checks a compiled program makes before it runs.
#include <cmath>
#include <map>
#include <regex>
#include <span>
#include <string>
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "gtest/gtest.h"
#include "models/stack.h"
#include "models/unroll.h"
#include "ops/ops.h"

namespace tg {
namespace {

constexpr int64_t kBatch = 3, kInput = 4, kHidden = 5;

// Where the LSTM's input x comes from: fed each run, or a parameter (so that the program also
// computes d loss / d x, the work oneDNN's LSTM primitive does).
enum class Input { kFed, kParameter };
// Where the parameters' gradients go: the store's buffers, or the run's own memory
// (CompileSpec::private_gradients, which relocates each whole gradient).
enum class Gradients { kStore, kPrivate };

// An LSTM's training step, compiled (or run eagerly, to compare with); the store outlives the
// program that reads it.
struct CompiledLstm {
  explicit CompiledLstm(int64_t steps, Input input = Input::kFed,
                        Gradients gradients = Gradients::kStore)
      : store({.seed = 9}), cell(MakeCell(store, {.kind = CellKind::kLstm,
                                                   .recurrent = {.input_size = kInput,
                                                                 .hidden_size = kHidden,
                                                                 .dtype = DType::kF64}})),
        program(Make(steps, input, gradients == Gradients::kPrivate)) {}
  absl::StatusOr<CompiledGraph> Make(int64_t steps, Input input, bool private_gradients) {
    if (!cell.ok()) return cell.status();
    Graph g({.mode = ExecMode::kRecord});
    if (input == Input::kFed) {
      Expr x = g.Input({steps, kBatch, kInput}, Inputs(steps));
      Expr loss = Loss(g, x);
      if (absl::Status s = Backward(loss); !s.ok()) return s;
      return Compile(g, {.feeds = {x}, .outputs = {loss}, .private_gradients = private_gradients});
    }
    absl::StatusOr<Parameter> x = store.Add("x", {steps, kBatch, kInput}, Init::Uniform(-1, 1),
                                            DType::kF64);
    if (!x.ok()) return x.status();
    Expr loss = Loss(g, g.Param(*x));
    if (absl::Status s = Backward(loss); !s.ok()) return s;
    return Compile(g, {.feeds = {}, .outputs = {loss}, .private_gradients = private_gradients});
  }
  static std::vector<double> Inputs(int64_t steps) {
    return std::vector<double>(steps * kBatch * kInput, 0.5);
  }
  Expr Loss(Graph& g, Expr x) {
    std::vector<Expr> hs = Unroll(g, *cell, SplitSteps(x), cell->ZeroState(g, kBatch)).outputs;
    return Mean(Square(StackSteps(hs)));
  }
  ParameterStore store;
  absl::StatusOr<AnyCell> cell;
  absl::StatusOr<CompiledGraph> program;
};

int Kernels(const CompiledGraph& c, const std::string& op) {
  for (const auto& [name, count] : c.KernelsByOp()) {
    if (name == op) return count;
  }
  return 0;
}

TEST(CompiledLstmTest, MatrixProductsGrowByExactlyTwoPerStep) {
  CompiledLstm a(8), b(16);
  absl::StatusOr<CompiledGraph> &shorter = a.program, &longer = b.program;
  ASSERT_TRUE(shorter.ok() && longer.ok());
  EXPECT_EQ(Kernels(*longer, "matmul") - Kernels(*shorter, "matmul"), 2 * 8)
      << shorter->Listing() << longer->Listing();
}

// With x a parameter, every step's input gradient dz_t W_ih lands in its slice of x's
// gradient: time batching makes them one product writing there in place (no third product per
// step), and the gradients are the eager ones -- in the store, and in the run's own memory
// with private gradients.
TEST(CompiledLstmTest, TheInputGradientOfAllStepsIsOneProductIntoTheParametersGradient) {
  CompiledLstm shorter(8, Input::kParameter);
  ASSERT_TRUE(shorter.program.ok()) << shorter.program.status();
  for (const Gradients home : {Gradients::kStore, Gradients::kPrivate}) {
    CompiledLstm lstm(16, Input::kParameter, home);
    absl::StatusOr<CompiledGraph>& longer = lstm.program;
    ASSERT_TRUE(longer.ok()) << longer.status();
    EXPECT_EQ(Kernels(*longer, "matmul") - Kernels(*shorter.program, "matmul"), 2 * 8)
        << shorter.program->Listing() << longer->Listing();

    ASSERT_TRUE(longer->Run({}).ok());
    std::map<std::string, std::vector<double>> compiled;  // by parameter name
    auto keep = [&](const Parameter& p, const Tensor& grad) {
      const std::span<const double> values = grad.span<double>();
      compiled[p.name()].assign(values.begin(), values.end());
    };
    if (home == Gradients::kStore) {
      for (const Parameter& p : lstm.store.parameters()) keep(p, p.grad());
      lstm.store.ZeroGrad();
    } else {
      for (const PrivateGradient& p : longer->private_gradients()) keep(p.param, p.grad);
    }
    Graph eager;
    ASSERT_TRUE(Backward(lstm.Loss(eager, eager.Param(*lstm.store.Find("x")))).ok());
    ASSERT_EQ(compiled.size(), static_cast<size_t>(lstm.store.num_parameters()));
    for (const Parameter& p : lstm.store.parameters()) {
      const std::span<const double> grad = p.grad().span<double>();
      const std::vector<double>& got = compiled[p.name()];
      ASSERT_EQ(grad.size(), got.size()) << p.name();
      for (size_t i = 0; i < grad.size(); ++i) {
        EXPECT_NEAR(got[i], grad[i], 1e-12 * (1 + std::abs(grad[i])))
            << p.name() << " element " << i;
      }
    }
  }
}

TEST(CompiledLstmTest, ListingReportsKernelsProductsFusedRunsStackedNodesBytesAndSeconds) {
  CompiledLstm lstm(6);
  absl::StatusOr<CompiledGraph>& c = lstm.program;
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string listing = c->Listing();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      listing, m,
      std::regex(R"(kernels (\d+) \(fused runs (\d+), stacked nodes (\d+)\), peak bytes (\d+), )"
                 R"(compiled in (\d+\.\d{3}) s)")))
      << listing;
  EXPECT_EQ(std::stoi(m[1]), c->num_kernels());
  EXPECT_EQ(std::stoi(m[2]), c->num_fused_runs());
  EXPECT_GT(c->num_fused_runs(), 0);
  EXPECT_EQ(std::stoi(m[3]), c->num_stacked_nodes());
  EXPECT_GT(c->num_stacked_nodes(), 0);
  EXPECT_EQ(std::stoull(m[4]), c->peak_bytes());
  EXPECT_NEAR(std::stod(m[5]), c->compile_seconds(), 0.0005);
  ASSERT_TRUE(std::regex_search(listing, m, std::regex(R"(ops: .*\bmatmul (\d+))"))) << listing;
  EXPECT_EQ(std::stoi(m[1]), Kernels(*c, "matmul"));
  EXPECT_GT(Kernels(*c, "matmul"), 0);
}

TEST(CompiledLstmTest, RefusesAWrongFeedCountOrDtypeWithAMessage) {
  CompiledLstm lstm(2);
  absl::StatusOr<CompiledGraph>& c = lstm.program;
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<double> x64(2 * kBatch * kInput, 0.5);
  std::vector<float> x32(x64.size(), 0.5f);
  const Tensor good(x64.data(), DType::kF64, {2, kBatch, kInput});
  absl::Status none = c->Run({});
  EXPECT_EQ(none.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(none.message().find("0 feeds given, compiled with 1 ([2,3,4] f64)"), std::string::npos)
      << none;
  absl::Status two = c->Run({good, good});
  EXPECT_NE(two.message().find("2 feeds given, compiled with 1"), std::string::npos) << two;
  absl::Status f32 = c->Run({Tensor(x32.data(), DType::kF32, {2, kBatch, kInput})});
  EXPECT_EQ(f32.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(f32.message().find("feed 0 is [2,3,4] f32, compiled for [2,3,4] f64"),
            std::string::npos)
      << f32;
  EXPECT_EQ(c->run_count(), 0u);  // nothing ran
  EXPECT_TRUE(c->Run({good}).ok());
}

}  // namespace
}  // namespace tg
