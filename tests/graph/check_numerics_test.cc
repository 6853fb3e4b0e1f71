#include <cmath>
#include <limits>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "gtest/gtest.h"
#include "ops/ops.h"

namespace tg {
namespace {

TEST(CheckNumericsTest, NamesTheNodeAndStepOfAnInjectedNan) {
  Graph g({.exec = {.check_numerics = true}});
  std::vector<float> x = {0.5f, 1.0f}, bad = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  Expr h = g.Input({1, 2}, x);
  for (int t = 0; t < 20; ++t) {
    auto step = g.Scope(fmt::format("step_{}", t));
    auto cell = g.Scope("lstm");
    Expr gate = g.Constant({1, 2}, t == 17 ? bad : x);
    h = Tanh(h) * gate;
  }
  std::string msg(g.status().message());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kFailedPrecondition) << msg;
  EXPECT_NE(msg.find("NaN"), std::string::npos) << msg;
  EXPECT_NE(msg.find("step_17/lstm/mul"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[1,2]"), std::string::npos) << msg;
}

TEST(CheckNumericsTest, CatchesAnInfThatOnlyBackwardProduces) {
  Graph g({.exec = {.check_numerics = true}});
  std::vector<double> x = {0.0, 4.0};
  Expr in = g.Input({2}, x, {.requires_grad = true});
  Expr y;
  {
    auto step = g.Scope("step_2");
    y = Sum(Sqrt(in));  // sqrt(0) = 0 is fine; its derivative 1/(2 sqrt 0) is not
  }
  ASSERT_TRUE(g.status().ok()) << g.status();
  absl::Status s = Backward(y, {in}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("Inf"), std::string::npos) << s;
  EXPECT_NE(s.message().find("step_2/sqrt_backward"), std::string::npos) << s;
}

TEST(CheckNumericsTest, ACompiledRunNamesTheNodeThatMadeANan) {
  Graph g({.mode = ExecMode::kRecord, .exec = {.check_numerics = true}});
  std::vector<double> ok = {0.25, 4.0}, negative = {0.25, -4.0};
  Expr x = g.Input({2}, ok);
  Expr y;
  {
    auto step = g.Scope("step_5");
    y = Sum(Log(x));  // log of a negative number is NaN
  }
  absl::StatusOr<CompiledGraph> program = Compile(g, {.feeds = {x}, .outputs = {y}});
  ASSERT_TRUE(program.ok()) << program.status();
  EXPECT_TRUE(program->Run({Tensor(ok.data(), DType::kF64, {2})}).ok());
  absl::Status s = program->Run({Tensor(negative.data(), DType::kF64, {2})});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("NaN"), std::string::npos) << s;
  EXPECT_NE(s.message().find("step_5/log"), std::string::npos) << s;
}

TEST(CheckNumericsTest, OffByDefault) {
  Graph g;
  std::vector<float> bad = {std::numeric_limits<float>::infinity()};
  Expr y = Tanh(g.Input({1}, bad));
  EXPECT_TRUE(g.status().ok());
  EXPECT_EQ((*y.ToVector<float>())[0], 1.0f);
}

}  // namespace
}  // namespace tg
