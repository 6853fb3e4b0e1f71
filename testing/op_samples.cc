#include "testing/op_samples.h"

#include "autodiff/backward.h"
#include "fmt/format.h"
#include "base/random.h"
#include "base/status_macros.h"
#include "ops/ops.h"
#include "ops/registry.h"

namespace tg::testing {
namespace {

using Inputs = absl::Span<const Expr>;
using D = Domain;

SampleInput In(Shape shape, Domain domain = D::kAny) { return {std::move(shape), domain, {}}; }
SampleInput Ids(Shape shape, std::vector<int32_t> ids) { return {std::move(shape), D::kAny, ids}; }

std::vector<OpSample> Unary(const std::string& op, Domain domain, Expr (*f)(Expr)) {
  return {{op, "[3,4]", {In({3, 4}, domain)}, [f](Graph&, Inputs x) { return f(x[0]); }},
          {op, "[17]", {In({17}, domain)}, [f](Graph&, Inputs x) { return f(x[0]); }}};
}

std::vector<OpSample> Binary(const std::string& op, Domain b_domain, Expr (*f)(Expr, Expr)) {
  auto build = [f](Graph&, Inputs x) { return f(x[0], x[1]); };
  return {{op, "[3,4] [3,4]", {In({3, 4}), In({3, 4}, b_domain)}, build},
          {op, "broadcast [3,4] [4]", {In({3, 4}), In({4}, b_domain)}, build},
          {op, "broadcast [3,1] [1,4]", {In({3, 1}), In({1, 4}, b_domain)}, build}};
}

Expr MatMulWith(Inputs x, bool ta, bool tb) {
  return MatMul(x[0], x[1], {.transpose_a = ta, .transpose_b = tb});
}

std::vector<OpSample> BuildSamples() {
  std::vector<OpSample> s;
  auto add = [&s](std::vector<OpSample> more) {
    for (OpSample& m : more) s.push_back(std::move(m));
  };
  // ---- pointwise ----
  add(Binary("add", D::kAny, Add));
  add(Binary("sub", D::kAny, Sub));
  add(Binary("mul", D::kAny, Mul));
  add(Binary("div", D::kAwayFromZero, Div));
  add(Unary("neg", D::kAny, Neg));
  add(Unary("sigmoid", D::kAny, Sigmoid));
  add(Unary("tanh", D::kAny, Tanh));
  add(Unary("relu", D::kAwayFromZero, Relu));
  add(Unary("exp", D::kAny, Exp));
  add(Unary("log", D::kPositive, Log));
  add(Unary("sqrt", D::kPositive, Sqrt));
  add(Unary("square", D::kAny, Square));
  add(Unary("copy", D::kAny, Copy));
  s.push_back({"scale", "c=2.5", {In({3, 4})}, [](Graph&, Inputs x) { return Scale(x[0], 2.5); }});
  s.push_back({"add_scalar", "c=0.7", {In({3, 4})},
               [](Graph&, Inputs x) { return AddScalar(x[0], 0.7); }});
  s.push_back({"mul_add", "[3,4] [3,4] [3,4]", {In({3, 4}), In({3, 4}), In({3, 4})},
               [](Graph&, Inputs x) { return MulAdd(x[0], x[1], x[2]); }});
  s.push_back({"mul_add", "affine [3,4] [4] [4]", {In({3, 4}), In({4}), In({4})},
               [](Graph&, Inputs x) { return MulAdd(x[0], x[1], x[2]); }});
  s.push_back({"mul_add", "[2,3,4] [2,3,1] [1]", {In({2, 3, 4}), In({2, 3, 1}), In({1})},
               [](Graph&, Inputs x) { return MulAdd(x[0], x[1], x[2]); }});
  s.push_back({"tanh_grad", "[3,4]", {In({3, 4}, D::kUnit), In({3, 4})},
               [](Graph&, Inputs x) { return TanhGrad(x[0], x[1]); }});
  s.push_back({"sigmoid_grad", "[3,4]", {In({3, 4}, D::kProbability), In({3, 4})},
               [](Graph&, Inputs x) { return SigmoidGrad(x[0], x[1]); }});
  s.push_back({"relu_grad", "[3,4]", {In({3, 4}, D::kAwayFromZero), In({3, 4})},
               [](Graph&, Inputs x) { return ReluGrad(x[0], x[1]); }});
  // ---- matmul, every transpose combination ----
  s.push_back({"matmul", "[3,5]x[5,4]", {In({3, 5}), In({5, 4})},
               [](Graph&, Inputs x) { return MatMulWith(x, false, false); }});
  s.push_back({"matmul", "[3,5]x[4,5]^T", {In({3, 5}), In({4, 5})},
               [](Graph&, Inputs x) { return MatMulWith(x, false, true); }});
  s.push_back({"matmul", "[5,3]^Tx[5,4]", {In({5, 3}), In({5, 4})},
               [](Graph&, Inputs x) { return MatMulWith(x, true, false); }});
  s.push_back({"matmul", "[5,3]^Tx[4,5]^T", {In({5, 3}), In({4, 5})},
               [](Graph&, Inputs x) { return MatMulWith(x, true, true); }});
  s.push_back({"matmul", "M=1 [1,6]x[6,3]", {In({1, 6}), In({6, 3})},
               [](Graph&, Inputs x) { return MatMulWith(x, false, false); }});
  // ---- reductions and broadcasts ----
  s.push_back({"sum", "all [3,4]", {In({3, 4})}, [](Graph&, Inputs x) { return Sum(x[0]); }});
  s.push_back({"sum", "axis 0", {In({3, 4})}, [](Graph&, Inputs x) { return Sum(x[0], 0); }});
  s.push_back({"sum", "axis -1 keepdims", {In({2, 3, 4})},
               [](Graph&, Inputs x) { return Sum(x[0], -1, {.keepdims = true}); }});
  s.push_back({"sum_to", "[3,4]->[4]", {In({3, 4})},
               [](Graph&, Inputs x) { return SumTo(x[0], {4}); }});
  s.push_back({"sum_to", "[2,3,4]->[3,1]", {In({2, 3, 4})},
               [](Graph&, Inputs x) { return SumTo(x[0], {3, 1}); }});
  s.push_back({"broadcast_to", "[4]->[3,4]", {In({4})},
               [](Graph&, Inputs x) { return BroadcastTo(x[0], {3, 4}); }});
  s.push_back({"broadcast_to", "[3,1]->[2,3,4]", {In({3, 1})},
               [](Graph&, Inputs x) { return BroadcastTo(x[0], {2, 3, 4}); }});
  s.push_back({"mul_sum_to", "[3,4] [3,4] -> [4]", {In({3, 4}), In({3, 4})},
               [](Graph&, Inputs x) { return MulSumTo(x[0], x[1], {4}); }});
  s.push_back({"mul_sum_to", "[3,4] [3,4] -> [1,4]", {In({3, 4}), In({3, 4})},
               [](Graph&, Inputs x) { return MulSumTo(x[0], x[1], {1, 4}); }});
  s.push_back({"softmax", "[3,5]", {In({3, 5})}, [](Graph&, Inputs x) { return Softmax(x[0]); }});
  s.push_back({"log_softmax", "[3,5]", {In({3, 5})},
               [](Graph&, Inputs x) { return LogSoftmax(x[0]); }});
  // ---- row normalisation ----
  s.push_back({"normalize", "[3,5] eps 1e-5", {In({3, 5})},
               [](Graph&, Inputs x) { return Normalize(x[0], 1e-5); }});
  s.push_back({"normalize", "[2,3,4] eps 0.1", {In({2, 3, 4})},
               [](Graph&, Inputs x) { return Normalize(x[0], 0.1); }});
  s.push_back({"normalize_grad", "[3,5] eps 1e-5", {In({3, 5}), In({3, 5})},
               [](Graph&, Inputs x) { return NormalizeGrad(x[0], x[1], 1e-5); }});
  s.push_back({"mean", "all", {In({3, 4})}, [](Graph&, Inputs x) { return Mean(x[0]); }});
  s.push_back({"mean", "axis 1", {In({3, 4})}, [](Graph&, Inputs x) { return Mean(x[0], 1); }});
  // ---- shapes ----
  s.push_back({"reshape", "[3,4]->[2,6]", {In({3, 4})},
               [](Graph&, Inputs x) { return Tanh(Reshape(x[0], {2, 6})); }});
  s.push_back({"transpose", "[3,4]", {In({3, 4})},
               [](Graph&, Inputs x) { return Transpose(x[0]); }});
  s.push_back({"slice", "axis 0 rows 1:3 (view)", {In({5, 3})},
               [](Graph&, Inputs x) { return Slice(x[0], 0, 1, 3); }});
  s.push_back({"slice", "axis 1 cols 1:4 (copy)", {In({3, 5})},
               [](Graph&, Inputs x) { return Slice(x[0], 1, 1, 4); }});
  s.push_back({"slice_grad", "[2,3] into [5,3] at row 1", {In({2, 3})},
               [](Graph&, Inputs x) { return SliceGrad(x[0], {5, 3}, 0, 1); }});
  s.push_back({"split", "axis 0 views, reused", {In({6, 2})}, [](Graph&, Inputs x) {
                 std::vector<Expr> p = Split(x[0], 3, 0);
                 return Concat({p[0] * p[1], Tanh(p[2]), p[0]}, 0);
               }});
  s.push_back({"split", "axis 1 gates", {In({2, 8})}, [](Graph&, Inputs x) {
                 auto [i, f, u, o] = Split<4>(x[0], 1);
                 return Sigmoid(i) * Tanh(u) + Sigmoid(f) * Sigmoid(o);
               }});
  s.push_back({"concat", "axis 0", {In({2, 3}), In({3, 3})},
               [](Graph&, Inputs x) { return Concat({x[0], x[1]}, 0); }});
  s.push_back({"concat", "axis 1", {In({3, 2}), In({3, 3})},
               [](Graph&, Inputs x) { return Concat({x[0], x[1]}, 1); }});
  // ---- neural-network ops ----
  s.push_back({"embedding", "repeated ids", {In({5, 3}), Ids({4}, {1, 3, 1, 4})},
               [](Graph&, Inputs x) { return Embedding(x[0], x[1]); }});
  s.push_back({"embedding_grad", "repeated ids", {In({4, 3}), Ids({4}, {1, 3, 1, 4})},
               [](Graph&, Inputs x) { return EmbeddingGrad(x[0], x[1], 5); }});
  s.push_back({"one_hot", "depth 5", {Ids({4}, {0, 4, 2, 2})},
               [](Graph&, Inputs x) { return OneHot(x[0], 5, DType::kF64); }});
  s.push_back({"softmax_xent", "[4,5]", {In({4, 5}), Ids({4}, {0, 4, 2, 2})},
               [](Graph&, Inputs x) { return SoftmaxCrossEntropy(x[0], x[1]); }});
  s.push_back({"mse_loss", "[3,4]", {In({3, 4}), In({3, 4})},
               [](Graph&, Inputs x) { return MseLoss(x[0], x[1]); }});
  s.push_back({"stop_gradient", "[3,4]", {In({3, 4})},
               [](Graph&, Inputs x) { return StopGradient(x[0]); }});
  s.push_back({"dropout", "[4,8] p 0.3", {In({4, 8})},
               [](Graph&, Inputs x) { return Dropout(x[0], 0.3, 12345); }});
  return s;
}

double Draw(Domain d, Rng& rng) {
  switch (d) {
    case D::kAny: return rng.Uniform(-2, 2);
    case D::kPositive: return rng.Uniform(0.5, 2);
    case D::kAwayFromZero: return (rng.Uniform() < 0.5 ? -1 : 1) * rng.Uniform(0.5, 2);
    case D::kUnit: return rng.Uniform(-0.9, 0.9);
    case D::kProbability: return rng.Uniform(0.1, 0.9);
  }
  return 0;
}

const OpDef* FindBuiltin(const std::string& name) {
  for (const OpDef* op : BuiltinOps()) {
    if (op->name == name) return op;
  }
  return nullptr;  // a composition
}

// Gradients that must be exactly zero: the float inputs' of an op without a VJP, and those
// of the inputs the op declares non-differentiable. An i32 input's must be refused.
absl::Status CheckZeroGradients(const OpSample& sample, const std::vector<GradCheckInput>& in,
                                const OpDef* op) {
  Graph g;
  std::vector<Expr> xs;
  for (const GradCheckInput& i : in) {
    xs.push_back(i.is_ids ? g.Input(i.shape, i.ids) : g.Input(i.shape, i.values, {.requires_grad = true}));
  }
  Expr out = sample.build(g, xs);
  TG_RETURN_IF_ERROR(g.status());
  Expr loss = Sum(out);
  std::vector<Expr> floats;
  std::vector<size_t> float_input;  // floats[j] is input float_input[j]
  for (size_t k = 0; k < in.size(); ++k) {
    if (!in[k].is_ids) {
      floats.push_back(xs[k]);
      float_input.push_back(k);
      continue;
    }
    absl::Status refused = Backward(loss, {xs[k]}).status();
    if (refused.code() != absl::StatusCode::kInvalidArgument) {
      return absl::InternalError(fmt::format(
          "{} ({}): asking for the gradient of i32 input {} gave '{}', not InvalidArgument",
          sample.op, sample.variant, k, refused.ToString()));
    }
  }
  TG_ASSIGN_OR_RETURN(std::vector<Expr> grads, Backward(loss, floats));
  for (size_t j = 0; j < floats.size(); ++j) {
    const size_t k = float_input[j];
    if (op == nullptr || op->Differentiable(static_cast<int>(k))) continue;
    TG_ASSIGN_OR_RETURN(Tensor t, grads[j].value());
    for (int64_t e = 0; e < t.num_elements(); ++e) {
      double v = t.dtype() == DType::kF64 ? t.data<double>()[e] : t.data<float>()[e];
      if (v != 0) {
        return absl::InternalError(fmt::format(
            "{} ({}): input {} is declared without a gradient but received {} at {}",
            sample.op, sample.variant, k, v, e));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<OpSample>& OpSamples() {
  static const std::vector<OpSample>* samples = new std::vector<OpSample>(BuildSamples());
  return *samples;
}

std::vector<std::string> CompositeOpNames() { return {"mean", "split", "mse_loss"}; }

std::vector<GradCheckInput> MakeInputs(const OpSample& sample, uint64_t seed) {
  Rng rng(seed);
  std::vector<GradCheckInput> out;
  for (const SampleInput& in : sample.inputs) {
    GradCheckInput g;
    g.shape = in.shape;
    if (!in.ids.empty()) {
      g.is_ids = true;
      g.ids = in.ids;
    } else {
      for (int64_t i = 0; i < in.shape.num_elements(); ++i) g.values.push_back(Draw(in.domain, rng));
    }
    out.push_back(std::move(g));
  }
  return out;
}

absl::Status CheckOpSample(const OpSample& sample, const GradCheckOptions& options,
                           GradCheckReport* report) {
  std::vector<GradCheckInput> inputs = MakeInputs(sample, options.seed + 1);
  const OpDef* op = FindBuiltin(sample.op);
  TG_RETURN_IF_ERROR(CheckZeroGradients(sample, inputs, op));
  if (op != nullptr && op->vjp == nullptr) {
    if (report != nullptr) *report = {};
    return absl::OkStatus();
  }
  // Fixed random weights in ±[0.5, 1.5]: a plain sum would hide errors that cancel.
  uint64_t weight_seed = options.seed + 7;
  LossFn loss = [&](Graph& g, absl::Span<const Expr> xs) {
    Expr out = sample.build(g, xs);
    Rng rng(weight_seed);
    std::vector<double> w(out.shape().num_elements());
    for (double& v : w) v = (rng.Uniform() < 0.5 ? -1 : 1) * rng.Uniform(0.5, 1.5);
    return Sum(Mul(out, g.Constant(out.shape(), w)));
  };
  return CheckGradients(loss, inputs, options, report);
}

}  // namespace tg::testing
