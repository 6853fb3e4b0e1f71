#include "examples/char_lm/evaluate.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "models/unroll.h"
#include "ops/ops.h"

namespace tg::examples {
namespace {

Graph InferenceGraph(int num_threads) {
  return Graph({.mode = ExecMode::kInference, .exec = {.num_threads = num_threads}});
}

// Carries states across graphs as host values.
absl::StatusOr<std::vector<HostState>> CopyOutAll(const std::vector<State>& states) {
  std::vector<HostState> out;
  for (const State& s : states) {
    TG_ASSIGN_OR_RETURN(HostState h, CopyOut(s));
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<State> FeedInAll(Graph& g, const std::vector<HostState>& states) {
  std::vector<State> out;
  for (const HostState& s : states) out.push_back(FeedIn(g, s));
  return out;
}

}  // namespace

absl::StatusOr<double> BitsPerChar(const CharModel& model, const std::vector<int32_t>& ids,
                                   const EvaluateOptions& options) {
  const int64_t streams = options.streams;
  const int64_t length = (static_cast<int64_t>(ids.size()) - 1) / std::max<int64_t>(streams, 1);
  if (streams < 1 || length < 1) {
    return absl::InvalidArgumentError(absl::StrCat("evaluation: ", ids.size(),
                                                   " characters cannot make ", streams, " streams"));
  }
  Graph g = InferenceGraph(options.num_threads);
  std::vector<HostState> carried;
  std::vector<int32_t> inputs, targets;
  double total_nats = 0;
  for (int64_t begin = 0; begin < length; begin += options.steps) {
    const int64_t steps = std::min(options.steps, length - begin);
    inputs.resize(steps * streams);
    targets.resize(steps * streams);
    for (int64_t t = 0; t < steps; ++t) {
      for (int64_t s = 0; s < streams; ++s) {
        inputs[t * streams + s] = ids[s * length + begin + t];
        targets[t * streams + s] = ids[s * length + begin + t + 1];
      }
    }
    g.Clear();
    std::vector<State> initial = FeedInAll(g, carried);
    CharModel::Output out = model.Run(g, g.Input({steps, streams}, inputs), initial, nullptr);
    Expr loss = SoftmaxCrossEntropy(out.logits, g.Input({steps * streams}, targets));
    TG_ASSIGN_OR_RETURN(double mean_nats, loss.Scalar());
    total_nats += mean_nats * static_cast<double>(steps * streams);
    TG_ASSIGN_OR_RETURN(carried, CopyOutAll(out.final));
  }
  return total_nats / static_cast<double>(length * streams) / std::numbers::ln2;
}

absl::StatusOr<std::string> Sample(const CharModel& model, const CharVocab& vocab,
                                   const std::string& prime, const SampleOptions& options,
                                   const std::function<void(const std::string&)>& emit) {
  if (!(options.temperature > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("sample: temperature must be > 0, got ",
                                                   options.temperature));
  }
  // An empty prime starts from a newline when the text has one, else from character 0.
  std::string start = prime;
  if (start.empty()) start = vocab.Encode("\n").ok() ? "\n" : vocab.Decode(0);
  TG_ASSIGN_OR_RETURN(std::vector<int32_t> ids, vocab.Encode(start));
  Graph g = InferenceGraph(options.num_threads);
  Rng rng(options.seed);
  std::vector<HostState> carried;
  std::vector<int32_t> feed = ids;  // the prime at once, then one character per step
  std::string text;
  for (int64_t n = 0; n < options.length; ++n) {
    g.Clear();
    std::vector<State> initial = FeedInAll(g, carried);
    const int64_t steps = static_cast<int64_t>(feed.size());
    CharModel::Output out = model.Run(g, g.Input({steps, 1}, feed), initial, nullptr);
    Expr last = Slice(out.logits, 0, steps - 1, steps);  // [1, V]
    TG_ASSIGN_OR_RETURN(std::vector<float> logits, last.ToVector<float>());
    TG_ASSIGN_OR_RETURN(carried, CopyOutAll(out.final));
    // Softmax with temperature, then one draw from it.
    const double top = *std::max_element(logits.begin(), logits.end());
    std::vector<double> p(logits.size());
    double total = 0;
    for (size_t i = 0; i < p.size(); ++i) total += p[i] = std::exp((logits[i] - top) / options.temperature);
    double u = rng.Uniform(0, total);
    int32_t next = static_cast<int32_t>(p.size()) - 1;
    for (size_t i = 0; i < p.size(); ++i) {
      if ((u -= p[i]) < 0) { next = static_cast<int32_t>(i); break; }
    }
    const std::string ch = vocab.Decode(next);
    text += ch;
    if (emit) emit(ch);
    feed.assign(1, next);
  }
  return text;
}

}  // namespace tg::examples
