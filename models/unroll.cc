#include "models/unroll.h"

#include <algorithm>

#include "autodiff/backward.h"
#include "base/status_macros.h"
#include "models/layers.h"

namespace tg {

absl::Status ValidateUnroll(absl::Span<const Expr> xs, const State& s0,
                            const UnrollOptions& options) {
  if (!s0.h.valid()) {
    return absl::InvalidArgumentError(
        "Unroll: the initial state's h is empty; start from cell.ZeroState(g, batch)");
  }
  const Shape h_shape = s0.h.shape();
  if (h_shape.rank() != 2) {
    return absl::InvalidArgumentError(
        fmt::format("Unroll: the initial h must be [B,H], got {}", h_shape));
  }
  const int64_t batch = h_shape[0], steps = static_cast<int64_t>(xs.size());
  if (!options.lengths.empty()) {
    if (static_cast<int64_t>(options.lengths.size()) != batch) {
      return absl::InvalidArgumentError(
          fmt::format("Unroll: {} lengths given for a batch of {}", options.lengths.size(), batch));
    }
    for (size_t b = 0; b < options.lengths.size(); ++b) {
      if (options.lengths[b] < 0 || options.lengths[b] > steps) {
        return absl::InvalidArgumentError(fmt::format(
            "Unroll: length {} of example {} is outside [0, {}]", options.lengths[b], b, steps));
      }
    }
  }
  if (options.checkpoint_every < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "Unroll: checkpoint_every is {}; give a step count (0: no checkpoints)",
        options.checkpoint_every));
  }
  if (options.recurrent_dropout > 0 && options.rng == nullptr) {
    return absl::InvalidArgumentError("Unroll: recurrent_dropout needs options.rng");
  }
  return absl::OkStatus();
}

std::pair<Expr, Expr> StepMask(Graph& g, absl::Span<const int32_t> lengths, int64_t t,
                               DType dtype) {
  if (std::all_of(lengths.begin(), lengths.end(), [t](int32_t n) { return t < n; })) return {};
  std::vector<double> mask(lengths.size()), keep(lengths.size());
  for (size_t b = 0; b < lengths.size(); ++b) {
    mask[b] = t < lengths[b] ? 1.0 : 0.0;
    keep[b] = 1.0 - mask[b];
  }
  const Shape shape = {static_cast<int64_t>(lengths.size()), 1};
  return {HostConstant(g, shape, mask, dtype), HostConstant(g, shape, keep, dtype)};
}

State SelectState(Expr mask, Expr keep, const State& updated, const State& old) {
  if (!mask.valid()) return updated;
  State s{.h = mask * updated.h + keep * old.h, .c = Expr()};
  if (updated.c.valid() && old.c.valid()) s.c = mask * updated.c + keep * old.c;
  return s;
}

std::vector<Expr> SplitSteps(Expr xs) {
  Graph* g = xs.graph();
  if (g == nullptr) return {};
  const Shape s = xs.shape();
  if (s.rank() != 3) {
    g->RecordError(
        absl::InvalidArgumentError(fmt::format("SplitSteps: xs must be [T,B,I], got {}", s)));
    return {};
  }
  std::vector<Expr> steps = Split(xs, static_cast<int>(s[0]), /*axis=*/0);
  for (Expr& x : steps) x = Reshape(x, {s[1], s[2]});
  return steps;
}

Expr StackSteps(absl::Span<const Expr> steps) { return Concat(steps, /*axis=*/0); }

absl::StatusOr<HostState> CopyOut(const State& s) {
  HostState out{.shape = s.h.shape(), .dtype = s.h.dtype()};
  auto read = [&](Expr e) -> absl::StatusOr<std::vector<double>> {
    if (e.dtype() == DType::kF64) return e.ToVector<double>();
    TG_ASSIGN_OR_RETURN(std::vector<float> f, e.ToVector<float>());
    return std::vector<double>(f.begin(), f.end());
  };
  TG_ASSIGN_OR_RETURN(out.h, read(s.h));
  if (s.c.valid()) {
    TG_ASSIGN_OR_RETURN(out.c, read(s.c));
  }
  return out;
}

State FeedIn(Graph& g, const HostState& s) {
  auto feed = [&](const std::vector<double>& v) {
    if (s.dtype == DType::kF64) return g.Input(s.shape, v);
    std::vector<float> f(v.begin(), v.end());  // exact: the values came from floats
    return g.Input(s.shape, f);
  };
  return {.h = feed(s.h), .c = s.c.empty() ? Expr() : feed(s.c)};
}

absl::StatusOr<TbpttResult> TruncatedBptt(Graph& g, const TbpttOptions& options,
                                          const TbpttBuildFn& build, const TbpttUpdateFn& update) {
  if (options.num_steps <= 0 || options.chunk_steps <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("TruncatedBptt: num_steps ({}) and chunk_steps ({}) must be positive",
                    options.num_steps, options.chunk_steps));
  }
  TbpttResult result;
  std::vector<HostState> carried = options.initial_state;
  int index = 0;
  for (int64_t begin = 0; begin < options.num_steps; begin += options.chunk_steps, ++index) {
    const TbpttChunk chunk{.index = index,
                           .begin = begin,
                           .end = std::min(begin + options.chunk_steps, options.num_steps)};
    g.Clear();  // invalidates every Expr of the previous chunk: only values cross
    std::vector<State> state_in;
    for (const HostState& s : carried) state_in.push_back(FeedIn(g, s));
    TbpttStep step = build(g, chunk, state_in);
    TG_RETURN_IF_ERROR(g.status());
    TG_RETURN_IF_ERROR(Backward(step.loss));
    TG_ASSIGN_OR_RETURN(double loss, step.loss.Scalar());
    carried.clear();
    for (const State& s : step.state) {
      TG_ASSIGN_OR_RETURN(HostState host, CopyOut(s));
      carried.push_back(std::move(host));
    }
    result.losses.push_back(loss);
    if (update) TG_RETURN_IF_ERROR(update(chunk, loss));
  }
  result.final_state = std::move(carried);
  return result;
}

}  // namespace tg
