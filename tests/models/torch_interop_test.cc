// Checkpoints cross between tapegrad and PyTorch 1.13 in both directions: a safetensors file
// written here loads into nn.LSTM and nn.GRU with load_state_dict and gives the same outputs,
// and a file written from PyTorch's weights loads here and gives PyTorch's outputs.
// Needs Debian's /usr/bin/python3 with python3-torch (scripts/setup.sh installs it).
#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/checkpoint.h"
#include "models/gru_cell.h"
#include "models/lstm_cell.h"
#include "ops/ops.h"

namespace tg {
namespace {

std::string ScriptPath() {
  std::string dir = __FILE__;
  return dir.substr(0, dir.find_last_of('/')) + "/torch_interop.py";
}

int RunScript(const std::string& args) {
  std::string cmd = "/usr/bin/python3 " + ScriptPath() + " " + args;
  return std::system(cmd.c_str());
}

struct Model {
  LstmCell lstm;
  GruCell gru;
};

Model Build(ParameterStore& store, int64_t input, int64_t hidden) {
  absl::StatusOr<LstmCell> lstm =
      LstmCell::Create(store, {.input_size = input, .hidden_size = hidden, .prefix = "lstm"});
  absl::StatusOr<GruCell> gru =
      GruCell::Create(store, {.input_size = input, .hidden_size = hidden, .prefix = "gru"});
  EXPECT_TRUE(lstm.ok() && gru.ok());
  return {*lstm, *gru};
}

// Runs a cell over x [T,B,I] from a zero state; returns the outputs [T,B,H].
template <class C>
Expr RunCell(Graph& g, const C& cell, Expr x) {
  int64_t T = x.shape()[0], B = x.shape()[1], I = x.shape()[2];
  State s = cell.ZeroState(g, B);
  std::vector<Expr> outs;
  for (Expr step : Split(x, static_cast<int>(T), 0)) {
    s = cell.Step(g, Reshape(step, {B, I}), s);
    outs.push_back(s.h);
  }
  return Reshape(Concat(outs, 0), {T, B, cell.hidden_size()});
}

class TorchInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0) {
      GTEST_FAIL() << "/usr/bin/python3 cannot import torch: run scripts/setup.sh";
    }
    dir_ = ::testing::TempDir();
  }
  std::string dir_;
};

TEST_F(TorchInteropTest, TapegradCheckpointLoadsIntoTorchModules) {
  ParameterStore store({.seed = 11});
  Model m = Build(store, 3, 4);
  std::vector<float> xv(5 * 2 * 3);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = 0.3f * static_cast<float>(i % 7) - 0.9f;
  Graph g;
  Expr x = g.Input({5, 2, 3}, xv);
  Expr lstm_out = RunCell(g, m.lstm, x), gru_out = RunCell(g, m.gru, x);
  ASSERT_TRUE(g.status().ok()) << g.status();
  std::string weights = dir_ + "/tg_weights.safetensors", io = dir_ + "/tg_io.safetensors";
  ASSERT_TRUE(SaveCheckpoint(weights, store).ok());
  ASSERT_TRUE(WriteSafetensors(io, {{"x", *x.value()},
                                    {"lstm_out", *lstm_out.value()},
                                    {"gru_out", *gru_out.value()}})
                  .ok());
  EXPECT_EQ(RunScript("check " + weights + " " + io), 0);
}

TEST_F(TorchInteropTest, TorchWeightsLoadIntoTapegrad) {
  std::string weights = dir_ + "/torch_weights.safetensors", io = dir_ + "/torch_io.safetensors";
  ASSERT_EQ(RunScript("export " + weights + " " + io), 0);
  ParameterStore store;
  Model m = Build(store, 3, 4);
  absl::Status s = LoadCheckpoint(weights, store);
  ASSERT_TRUE(s.ok()) << s;
  absl::StatusOr<SafetensorsFile> file = ReadSafetensors(io);
  ASSERT_TRUE(file.ok()) << file.status();
  Graph g;
  const NamedTensor* x = file->Find("x");
  ASSERT_NE(x, nullptr);
  Expr xe = g.Input(x->shape, x->values<float>());
  for (auto [name, out] : {std::pair{"lstm_out", RunCell(g, m.lstm, xe)},
                           std::pair{"gru_out", RunCell(g, m.gru, xe)}}) {
    const NamedTensor* want = file->Find(name);
    ASSERT_NE(want, nullptr) << name;
    absl::StatusOr<std::vector<float>> got = out.ToVector<float>();
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), static_cast<size_t>(want->num_elements()));
    for (size_t i = 0; i < got->size(); ++i) {
      EXPECT_NEAR((*got)[i], want->values<float>()[i], 1e-5) << name << " at " << i;
    }
  }
}

}  // namespace
}  // namespace tg
