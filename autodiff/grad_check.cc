#include "autodiff/grad_check.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "autodiff/backward.h"
#include "fmt/format.h"
#include "base/random.h"
#include "base/status_macros.h"

namespace tg {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

// What the checker perturbs: one mutable f64 array per variable, with its analytic gradient.
struct Variable {
  std::string name;
  Shape shape;
  double* values;
  std::vector<double> analytic;
};

using Evaluate = std::function<absl::StatusOr<double>()>;

class Checker {
 public:
  Checker(const GradCheckOptions& options, const Evaluate& eval)
      : options_(options), eval_(eval), rng_(options.seed) {}

  // Checks every variable; the worst entries land in *out when it is given.
  absl::Status Run(std::vector<Variable>& vars, GradCheckReport* out) {
    GradCheckReport local;
    GradCheckReport& report = out != nullptr ? *out : local;
    report = {};
    for (Variable& v : vars) TG_RETURN_IF_ERROR(CheckCoordinates(v, report));
    for (int p = 0; p < options_.num_projections; ++p) {
      TG_RETURN_IF_ERROR(CheckProjection(vars, p, report));
    }
    std::sort(report.worst.begin(), report.worst.end(), [](const auto& a, const auto& b) {
      return a.abs_error / a.tolerance > b.abs_error / b.tolerance;
    });
    bool failed = !report.worst.empty() && report.worst[0].abs_error > report.worst[0].tolerance;
    if (static_cast<int>(report.worst.size()) > options_.report_worst) {
      report.worst.resize(options_.report_worst);
    }
    if (failed) return absl::InternalError("gradient check failed:\n" + report.ToString());
    return absl::OkStatus();
  }

 private:
  // Central difference of the loss; `move_to(d)` sets the variables to original + d·direction
  // (so move_to(0) restores them bit for bit).
  absl::StatusOr<double> Difference(const std::function<void(double)>& move_to, double h,
                                    double* loss_scale) {
    move_to(h);
    absl::StatusOr<double> plus = eval_();
    move_to(-h);
    absl::StatusOr<double> minus = eval_();
    move_to(0);
    TG_RETURN_IF_ERROR(plus.status());
    TG_RETURN_IF_ERROR(minus.status());
    *loss_scale = std::max(std::abs(*plus), std::abs(*minus));
    return (*plus - *minus) / (2 * h);
  }

  void Compare(std::string where, double analytic, double numeric, double h, double loss_scale,
               GradCheckReport& report) {
    double err = std::abs(analytic - numeric);
    double tol = options_.rtol * std::max(std::abs(analytic), std::abs(numeric)) +
                 options_.atol + 8 * kEps * loss_scale / h;
    double rel = err / std::max({std::abs(analytic), std::abs(numeric), 1e-6});
    report.num_checked++;
    report.max_abs_error = std::max(report.max_abs_error, err);
    report.max_rel_error = std::max(report.max_rel_error, rel);
    report.worst.push_back({std::move(where), analytic, numeric, err, tol});
  }

  absl::Status CheckCoordinates(Variable& v, GradCheckReport& report) {
    int64_t n = v.shape.num_elements();
    std::vector<int64_t> coords;
    if (n <= options_.max_coords_per_input) {
      for (int64_t i = 0; i < n; ++i) coords.push_back(i);
    } else {
      for (int i = 0; i < options_.max_coords_per_input; ++i) {
        coords.push_back(static_cast<int64_t>(rng_.Below(n)));
      }
    }
    for (int64_t i : coords) {
      double h = options_.step * std::max(1.0, std::abs(v.values[i]));
      double scale = 0, original = v.values[i];
      TG_ASSIGN_OR_RETURN(double numeric,
                          Difference([&](double d) { v.values[i] = original + d; }, h, &scale));
      Compare(fmt::format("{} {} coord {}", v.name, v.shape, i), v.analytic[i], numeric, h,
              scale, report);
    }
    return absl::OkStatus();
  }

  absl::Status CheckProjection(std::vector<Variable>& vars, int index, GradCheckReport& report) {
    std::vector<std::vector<double>> dir(vars.size()), original(vars.size());
    double analytic = 0, magnitude = 1;
    for (size_t k = 0; k < vars.size(); ++k) {
      int64_t n = vars[k].shape.num_elements();
      dir[k].resize(n);
      original[k].assign(vars[k].values, vars[k].values + n);
      for (int64_t i = 0; i < n; ++i) {
        dir[k][i] = rng_.Normal();
        analytic += dir[k][i] * vars[k].analytic[i];
        magnitude = std::max(magnitude, std::abs(vars[k].values[i]));
      }
    }
    double h = options_.step * magnitude;
    auto perturb = [&](double d) {
      for (size_t k = 0; k < vars.size(); ++k)
        for (size_t i = 0; i < dir[k].size(); ++i) vars[k].values[i] = original[k][i] + d * dir[k][i];
    };
    double scale = 0;
    TG_ASSIGN_OR_RETURN(double numeric, Difference(perturb, h, &scale));
    Compare(fmt::format("projection {}", index), analytic, numeric, h, scale, report);
    return absl::OkStatus();
  }

  const GradCheckOptions& options_;
  const Evaluate& eval_;
  Rng rng_;
};

absl::StatusOr<std::vector<double>> ReadF64(Expr e) {
  TG_ASSIGN_OR_RETURN(Tensor t, e.value());
  if (t.dtype() != DType::kF64) {
    return absl::InvalidArgumentError(
        fmt::format("CheckGradients works in float64, but a value is {}", t.dtype()));
  }
  return std::vector<double>(t.data<double>(), t.data<double>() + t.num_elements());
}

absl::StatusOr<double> LossValue(Graph& g, Expr loss) {
  TG_RETURN_IF_ERROR(g.status());
  TG_ASSIGN_OR_RETURN(Tensor t, loss.value());
  if (t.num_elements() != 1 || t.dtype() != DType::kF64) {
    return absl::InvalidArgumentError(fmt::format(
        "CheckGradients needs a one-element f64 loss, got {} {}", t.shape(), t.dtype()));
  }
  return t.data<double>()[0];
}

}  // namespace

std::string GradCheckReport::ToString() const {
  std::string out = fmt::format("  checked {} derivatives; max abs error {:.3g}, max rel error {:.3g}\n",
                                num_checked, max_abs_error, max_rel_error);
  for (const GradCheckEntry& e : worst) {
    absl::StrAppend(&out, fmt::format("  {}: analytic {:.10g} numeric {:.10g} error {:.3g} "
                                      "(tolerance {:.3g}){}\n",
                                      e.where, e.analytic, e.numeric, e.abs_error, e.tolerance,
                                      e.abs_error > e.tolerance ? "  <-- FAIL" : ""));
  }
  return out;
}

absl::Status CheckGradients(const LossFn& loss_fn, absl::Span<const GradCheckInput> inputs,
                            const GradCheckOptions& options, GradCheckReport* report) {
  std::vector<std::vector<double>> values;
  for (const GradCheckInput& in : inputs) values.push_back(in.values);
  Graph g;
  // Inputs always require gradients: the function may differentiate inside (second order).
  auto build = [&] {
    g.Clear();
    std::vector<Expr> exprs;
    for (size_t k = 0; k < inputs.size(); ++k) {
      exprs.push_back(inputs[k].is_ids
                          ? g.Input(inputs[k].shape, inputs[k].ids)
                          : g.Input(inputs[k].shape, values[k], {.requires_grad = true}));
    }
    Expr loss = loss_fn(g, exprs);
    return std::make_pair(loss, exprs);
  };

  auto [loss, exprs] = build();
  TG_RETURN_IF_ERROR(LossValue(g, loss).status());
  std::vector<Expr> wrt;  // the float inputs: ids have no gradient
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].is_ids) wrt.push_back(exprs[k]);
  }
  TG_ASSIGN_OR_RETURN(std::vector<Expr> grads, Backward(loss, wrt));
  std::vector<Variable> vars;
  for (size_t k = 0, next = 0; k < inputs.size(); ++k) {
    if (inputs[k].is_ids) continue;
    TG_ASSIGN_OR_RETURN(std::vector<double> analytic, ReadF64(grads[next++]));
    vars.push_back({fmt::format("input {}", k), inputs[k].shape, values[k].data(),
                    std::move(analytic)});
  }
  Evaluate eval = [&]() -> absl::StatusOr<double> {
    Expr l = build().first;
    return LossValue(g, l);
  };
  return Checker(options, eval).Run(vars, report);
}

absl::Status CheckGradients(ParameterStore& store, const std::function<Expr(Graph& g)>& loss_fn,
                            const GradCheckOptions& options, GradCheckReport* report) {
  std::vector<Parameter> params;
  for (const Parameter& p : store.parameters()) {
    if (p.frozen()) continue;
    if (p.dtype() != DType::kF64) {
      return absl::InvalidArgumentError(fmt::format(
          "CheckGradients needs float64 parameters; '{}' is {}", p.name(), p.dtype()));
    }
    params.push_back(p);
  }
  // Keep the caller's gradients: the check needs the store's gradient buffers for itself.
  std::vector<std::vector<double>> saved;
  for (const Parameter& p : params) {
    std::span<double> gr = p.grad().span<double>();
    saved.emplace_back(gr.begin(), gr.end());
  }
  auto restore = [&] {
    for (size_t k = 0; k < params.size(); ++k) {
      std::copy(saved[k].begin(), saved[k].end(), params[k].grad().data<double>());
    }
  };

  Graph g;
  store.ZeroGrad();
  Expr loss = loss_fn(g);
  absl::Status s = LossValue(g, loss).status();
  if (s.ok()) s = Backward(loss);
  if (!s.ok()) {
    restore();
    return s;
  }
  std::vector<Variable> vars;
  for (const Parameter& p : params) {
    std::span<double> gr = p.grad().span<double>();
    vars.push_back({fmt::format("param '{}'", p.name()), p.shape(), p.value().data<double>(),
                    std::vector<double>(gr.begin(), gr.end())});
  }
  GradCheckOptions opts = options;
  opts.max_coords_per_input = options.max_coords_per_param;
  Evaluate eval = [&]() -> absl::StatusOr<double> {
    g.Clear();
    Expr l = loss_fn(g);
    return LossValue(g, l);
  };
  s = Checker(opts, eval).Run(vars, report);
  restore();
  return s;
}

}  // namespace tg
