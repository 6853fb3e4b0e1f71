// How many pointwise kernels a compiled cell's step costs, read from Listing(): every listed
// kernel but the matrix products (a fused run counts once; zeroings are no kernels), per
// step of the forward and of the backward (a node whose path has a "_backward" scope).
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "gtest/gtest.h"
#include "models/cell.h"
#include "models/custom_cells.h"
#include "models/gru_cell.h"
#include "models/lstm_cell.h"
#include "models/unroll.h"
#include "ops/ops.h"

namespace tg {
namespace {

constexpr int64_t kBatch = 3, kInput = 4, kHidden = 5;

absl::StatusOr<AnyCell> MakeNamedCell(const std::string& name, ParameterStore& store) {
  const RecurrentOptions o = {.input_size = kInput, .hidden_size = kHidden,
                              .dtype = DType::kF64};
  if (name == "lstm") {
    absl::StatusOr<LstmCell> c = LstmCell::Create(store, o);
    if (!c.ok()) return c.status();
    return AnyCell(*c);
  }
  if (name == "gru") {
    absl::StatusOr<GruCell> c = GruCell::Create(store, o);
    if (!c.ok()) return c.status();
    return AnyCell(*c);
  }
  absl::StatusOr<LayerNormLstmCell> c = LayerNormLstmCell::Create(store, o);
  if (!c.ok()) return c.status();
  return AnyCell(*c);
}

// Pointwise kernels of the forward and of the backward in a listing.
struct PointwiseKernels {
  int forward = 0, backward = 0;
};

PointwiseKernels CountPointwise(const std::string& listing) {
  PointwiseKernels n;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string index, op, path;
    words >> index >> op;
    if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos) continue;
    if (op == "matmul" || op == "zero") continue;
    for (std::string w; words >> w;) path = w;
    (path.find("_backward") != std::string::npos ? n.backward : n.forward) += 1;
  }
  return n;
}

// A cell's training step over `steps` steps (loss: the mean square of its outputs), compiled.
absl::StatusOr<std::string> CompiledListing(const std::string& cell_name, int64_t steps) {
  ParameterStore store({.seed = 3});
  absl::StatusOr<AnyCell> cell = MakeNamedCell(cell_name, store);
  if (!cell.ok()) return cell.status();
  Graph g({.mode = ExecMode::kRecord});
  Expr x = g.Input({steps, kBatch, kInput},
                   std::vector<double>(steps * kBatch * kInput, 0.25));
  std::vector<Expr> hs = Unroll(g, *cell, SplitSteps(x), cell->ZeroState(g, kBatch)).outputs;
  Expr loss = Mean(Square(StackSteps(hs)));
  if (absl::Status s = Backward(loss); !s.ok()) return s;
  absl::StatusOr<CompiledGraph> c = Compile(g, {.feeds = {x}, .outputs = {loss}});
  if (!c.ok()) return c.status();
  return c->Listing();
}

TEST(FusedCellsTest, PrintPointwiseKernelsPerStep) {
  for (const char* name : {"lstm", "gru", "lnlstm"}) {
    absl::StatusOr<std::string> a = CompiledListing(name, 8), b = CompiledListing(name, 16);
    ASSERT_TRUE(a.ok() && b.ok());
    const PointwiseKernels x = CountPointwise(*a), y = CountPointwise(*b);
    std::printf("%s: forward %.2f backward %.2f per step\n", name,
                (y.forward - x.forward) / 8.0, (y.backward - x.backward) / 8.0);
    if (std::string(name) == "lnlstm") std::fputs(a->c_str(), stdout);
  }
}

}  // namespace
}  // namespace tg
