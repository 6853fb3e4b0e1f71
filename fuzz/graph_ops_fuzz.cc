// Graphs from a random sequence of registered ops (tg::RegisteredOps) on random leaves, with
// random attributes and shapes (zero, negative and rank-raising ones included), run eagerly,
// recorded or in inference mode, then Backward, then compiled (tg::Compile) and run. The only
// allowed outcomes are a result or a Status: a crash, a sanitizer report or an abort is a
// finding. Where the compiled program and the eager graph both computed the loss, they must
// agree.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "autodiff/backward.h"
#include "graph/compile/compiled_graph.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "graph/parameter.h"
#include "ops/ops.h"
#include "ops/registry.h"

namespace {

using tg::DType;
using tg::Expr;
using tg::Shape;

// Bounds of the harness (not of the library): a graph may ask for any amount of memory, but
// the fuzzer's malloc limit would report that as a finding, so no tensor the harness makes
// or lets an op make holds more than kMaxElements.
constexpr int kMaxLeaves = 4;
constexpr int kMaxOps = 12;
constexpr int kMaxInputs = 4;  // for ops of any arity (concat)
constexpr int64_t kMaxElements = 1 << 12;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "graph_ops fuzz: %s\n", what.c_str());
  std::abort();
}

// Elements of `shape`, or nullopt for an invalid shape (rank, negative, overflow).
std::optional<int64_t> Elements(const Shape& shape) { return shape.CheckedNumElements(); }

class Fuzzer {
 public:
  explicit Fuzzer(FuzzedDataProvider& in) : in_(in) {}

  void Run();

 private:
  int64_t PickDim(bool allow_invalid) {
    static constexpr int64_t kDims[] = {1, 2, 3, 0, 4, 5, 8, 1, 2, -1, -2};
    const size_t count = allow_invalid ? std::size(kDims) : std::size(kDims) - 2;
    return kDims[in_.ConsumeIntegralInRange<size_t>(0, count - 1)];
  }
  // allow_invalid: negative dimensions and ranks above Shape::kMaxRank may be drawn.
  Shape PickShape(bool allow_invalid) {
    const int rank = in_.ConsumeIntegralInRange(0, Shape::kMaxRank + (allow_invalid ? 2 : 0));
    Shape s;
    for (int i = 0; i < rank; ++i) s.push_back(PickDim(allow_invalid));
    return s;
  }
  int64_t PickInt() {
    static constexpr int64_t kInts[] = {0, 1, -1, 2, -2, 3, 4, 5, 8, 16,
                                        int64_t{1} << 31, std::numeric_limits<int64_t>::max(),
                                        std::numeric_limits<int64_t>::min()};
    return kInts[in_.ConsumeIntegralInRange<size_t>(0, std::size(kInts) - 1)];
  }
  // Moderate values first; drawing one of the others (huge, tiny, non-finite) turns the
  // eager-versus-compiled comparison off, since a different summation order may then
  // legitimately change the loss by more than rounding.
  double PickValue() {
    static constexpr double kValues[] = {0.0, 1.0, -1.0, 0.5, 2.0, -3.0, 0.999, 1e30, -1e30, 1e-30,
                                         std::numeric_limits<double>::infinity(),
                                         -std::numeric_limits<double>::infinity(),
                                         std::numeric_limits<double>::quiet_NaN()};
    constexpr size_t kModerate = 7;
    const size_t i = in_.ConsumeIntegralInRange<size_t>(0, std::size(kValues) - 1);
    moderate_ &= i < kModerate;
    return kValues[i];
  }
  int32_t PickId() {
    static constexpr int32_t kIds[] = {0, 1, 2, 3, 7, -1, std::numeric_limits<int32_t>::max(),
                                       std::numeric_limits<int32_t>::min()};
    return kIds[in_.ConsumeIntegralInRange<size_t>(0, std::size(kIds) - 1)];
  }

  void AddLeaves();
  void AddParameters();
  void AddOps();
  // Whether the harness lets `op` run on `inputs` with `attrs` (kMaxElements).
  bool WithinBudget(const tg::OpDef& op, const std::vector<Expr>& inputs, const tg::Attrs& attrs);
  void DifferentiateAndCompile();

  FuzzedDataProvider& in_;
  tg::ParameterStore store_{{.seed = 7}};  // outlives the graph, whose nodes alias it
  std::optional<tg::Graph> graph_;
  std::vector<Expr> pool_;    // every value so far, failed ones too
  std::vector<Expr> inputs_;  // the Graph::Input leaves (the compiled program's feeds)
  std::vector<Expr> wrt_;     // inputs that require a gradient
  bool moderate_ = true;      // every value drawn so far is moderate (PickValue)
};

void Fuzzer::AddLeaves() {
  const int leaves = in_.ConsumeIntegralInRange(1, kMaxLeaves);
  for (int i = 0; i < leaves; ++i) {
    const int kind = in_.ConsumeIntegralInRange(0, 3);
    // One leaf in eight may have an invalid shape, which Graph::Input must refuse whatever
    // the number of values given (two negative dimensions can multiply to that number).
    const Shape shape = PickShape(/*allow_invalid=*/in_.ConsumeIntegralInRange(0, 7) == 0);
    const std::optional<int64_t> valid_count = Elements(shape);
    if (valid_count && *valid_count > kMaxElements) continue;
    const int64_t count = valid_count ? *valid_count : in_.ConsumeIntegralInRange(0, 8);
    Expr e;
    if (kind == 0) {
      std::vector<int32_t> ids(static_cast<size_t>(count));
      for (int32_t& id : ids) id = PickId();
      e = graph_->Input(shape, ids);
    } else if (kind == 1) {
      std::vector<double> values(static_cast<size_t>(count));
      for (double& v : values) v = PickValue();
      e = graph_->Input(shape, values, {.requires_grad = in_.ConsumeBool()});
    } else {
      std::vector<float> values(static_cast<size_t>(count));
      for (float& v : values) v = static_cast<float>(PickValue());
      e = graph_->Input(shape, values, {.requires_grad = in_.ConsumeBool()});
    }
    if (!valid_count && graph_->status().ok()) {
      Fail("Graph::Input accepted the invalid shape " + shape.ToString());
    }
    pool_.push_back(e);
    inputs_.push_back(e);
    if (e.dtype() != DType::kI32 && in_.ConsumeBool()) wrt_.push_back(e);
  }
}

void Fuzzer::AddParameters() {
  const int params = in_.ConsumeIntegralInRange(0, 2);
  for (int i = 0; i < params; ++i) {
    const Shape shape = PickShape(/*allow_invalid=*/false);
    const std::optional<int64_t> n = Elements(shape);
    if (!n || *n > kMaxElements) continue;
    const DType dtype = in_.ConsumeBool() ? DType::kF32 : DType::kF64;
    absl::StatusOr<tg::Parameter> p =
        store_.Add("p" + std::to_string(i), shape, tg::Init::Uniform(-1, 1), dtype);
    if (!p.ok()) continue;
    p->set_frozen(in_.ConsumeIntegralInRange(0, 3) == 0);
    pool_.push_back(graph_->Param(*p));
  }
}

bool Fuzzer::WithinBudget(const tg::OpDef& op, const std::vector<Expr>& inputs,
                          const tg::Attrs& attrs) {
  if (op.arity >= 0 ? static_cast<int>(inputs.size()) != op.arity : inputs.empty()) {
    return true;  // AddNode refuses it before any shape rule runs
  }
  std::vector<tg::TensorType> types;
  for (const Expr& e : inputs) {
    absl::StatusOr<const tg::Node*> node = graph_->Lookup(e);
    if (!node.ok() || (*node)->poisoned) return true;  // refused before the shape rule
    types.push_back((*node)->type);
  }
  absl::StatusOr<tg::TensorType> type = op.infer(types, attrs);
  if (!type.ok()) return true;
  const std::optional<int64_t> n = Elements(type->shape);
  return !n || *n <= kMaxElements;  // an invalid inferred shape: AddNode must refuse it
}

void Fuzzer::AddOps() {
  const std::vector<const tg::OpDef*> ops = tg::RegisteredOps();
  const int count = in_.ConsumeIntegralInRange(0, kMaxOps);
  for (int step = 0; step < count && in_.remaining_bytes() > 0; ++step) {
    const tg::OpDef& op = *ops[in_.ConsumeIntegralInRange<size_t>(0, ops.size() - 1)];
    int arity = op.arity >= 0 ? op.arity : in_.ConsumeIntegralInRange(1, kMaxInputs);
    if (in_.ConsumeIntegralInRange(0, 15) == 0) arity = in_.ConsumeIntegralInRange(0, kMaxInputs);
    std::vector<Expr> inputs;
    for (int i = 0; i < arity; ++i) {
      inputs.push_back(pool_[in_.ConsumeIntegralInRange<size_t>(0, pool_.size() - 1)]);
    }
    tg::Attrs attrs;
    const int ints = in_.ConsumeIntegralInRange(0, 4);
    for (int i = 0; i < ints; ++i) attrs.ints.push_back(PickInt());
    attrs.scalar = PickValue();
    if (in_.ConsumeBool()) attrs.shape = PickShape(/*allow_invalid=*/true);
    if (!WithinBudget(op, inputs, attrs)) continue;
    pool_.push_back(graph_->AddNode(op, inputs, attrs));
  }
}

void Fuzzer::DifferentiateAndCompile() {
  Expr loss = pool_[in_.ConsumeIntegralInRange<size_t>(0, pool_.size() - 1)];
  if (loss.shape().num_elements() != 1) loss = tg::Sum(loss);
  const tg::BackwardOptions options = {.create_graph = in_.ConsumeBool(),
                                       .reuse_buffers = in_.ConsumeBool()};
  std::vector<Expr> outputs = {loss};
  if (in_.ConsumeBool()) {
    // Gradients with respect to inputs (and maybe an intermediate value).
    std::vector<Expr> wrt = wrt_;
    if (in_.ConsumeBool()) wrt.push_back(pool_[in_.ConsumeIntegralInRange<size_t>(0, pool_.size() - 1)]);
    absl::StatusOr<std::vector<Expr>> grads = tg::Backward(loss, wrt, options);
    if (grads.ok()) {
      if (grads->size() != wrt.size()) Fail("Backward returned the wrong number of gradients");
      for (size_t i = 0; i < wrt.size(); ++i) {
        if (!((*grads)[i].shape() == wrt[i].shape())) {
          Fail("a gradient's shape " + (*grads)[i].shape().ToString() + " differs from its input's " +
               wrt[i].shape().ToString());
        }
        outputs.push_back((*grads)[i]);
      }
    }
  } else {
    tg::Backward(loss, options).IgnoreError();  // into the parameters' gradients
  }
  const std::optional<double> eager_loss =
      graph_->mode() == tg::ExecMode::kRecord ? std::nullopt : [&]() -> std::optional<double> {
    absl::StatusOr<double> v = loss.Scalar();
    return v.ok() ? std::optional<double>(*v) : std::nullopt;
  }();

  const tg::CompileSpec spec = {.feeds = inputs_,
                                .outputs = outputs,
                                .stack_rows = in_.ConsumeBool(),
                                .fuse_pointwise = in_.ConsumeBool(),
                                .private_gradients = in_.ConsumeBool()};
  absl::StatusOr<tg::CompiledGraph> program = tg::Compile(*graph_, spec);
  if (!program.ok()) return;
  std::vector<tg::Tensor> feeds;
  for (const Expr& e : inputs_) {
    absl::StatusOr<tg::Tensor> v = e.value();
    if (!v.ok()) Fail("a compiled program's feed has no value: " + std::string(v.status().message()));
    feeds.push_back(*v);
  }
  if (!program->Run(feeds).ok()) return;
  const tg::Tensor& compiled = program->output(0);
  if (compiled.num_elements() != 1) Fail("the compiled loss is not a scalar");
  const double got = compiled.dtype() == DType::kF32   ? compiled.data<float>()[0]
                     : compiled.dtype() == DType::kF64 ? compiled.data<double>()[0]
                                                       : compiled.data<int32_t>()[0];
  // The first run repeats the recording (dropout included), so it computes the eager loss;
  // pointwise fusion may round differently, hence the tolerance.
  if (moderate_ && eager_loss && std::isfinite(*eager_loss) && std::isfinite(got) &&
      std::abs(got - *eager_loss) > 1e-3 * (1 + std::abs(*eager_loss))) {
    Fail("compiled loss " + std::to_string(got) + " differs from the eager loss " +
         std::to_string(*eager_loss));
  }
  program->Run(feeds).IgnoreError();  // a replay draws new dropout masks; any outcome is fine
}

void Fuzzer::Run() {
  static const tg::ExecMode kModes[] = {tg::ExecMode::kEager, tg::ExecMode::kRecord,
                                        tg::ExecMode::kInference};
  graph_.emplace(tg::GraphOptions{
      .mode = kModes[in_.ConsumeIntegralInRange(0, 2)],
      .exec = {.num_threads = in_.ConsumeIntegralInRange(1, 2), .check_numerics = in_.ConsumeBool()}});
  AddLeaves();
  if (pool_.empty()) return;
  AddParameters();
  AddOps();
  DifferentiateAndCompile();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (absl::Status s = tg::RegisterBuiltinOps(); !s.ok()) Fail(std::string(s.message()));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Fuzzer(in).Run();
  return 0;
}
