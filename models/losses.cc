#include "models/losses.h"

#include "fmt/format.h"
#include "models/layers.h"

namespace tg {

Expr MaskedSoftmaxCrossEntropy(Graph& g, Expr logits, Expr targets, Expr weights) {
  auto scope = g.Scope("masked_xent");
  const Shape s = logits.shape();
  const int64_t classes = s.rank() == 2 ? s[1] : 0;
  // -log p[n, t_n] picked out by a one-hot row: no gather op is needed.
  Expr picked = Sum(LogSoftmax(logits) * OneHot(targets, classes, logits.dtype()), /*axis=*/1);
  return -Sum(picked * weights) / Sum(weights);
}

std::vector<double> SequenceWeights(absl::Span<const int32_t> lengths, int64_t num_steps) {
  const int64_t batch = static_cast<int64_t>(lengths.size());
  std::vector<double> w(num_steps * batch);
  for (int64_t t = 0; t < num_steps; ++t)
    for (int64_t b = 0; b < batch; ++b) w[t * batch + b] = t < lengths[b] ? 1.0 : 0.0;
  return w;
}

Expr MaskedSoftmaxCrossEntropy(Graph& g, Expr logits, Expr targets,
                               absl::Span<const int32_t> lengths) {
  const int64_t rows = logits.shape().rank() == 2 ? logits.shape()[0] : -1;
  const int64_t batch = static_cast<int64_t>(lengths.size());
  if (batch == 0 || rows < 0 || rows % batch != 0) {
    g.RecordError(absl::InvalidArgumentError(
        fmt::format("MaskedSoftmaxCrossEntropy: logits {} are not T*B rows for {} lengths",
                    logits.shape(), batch)));
    return Expr();
  }
  Expr weights = HostConstant(g, {rows}, SequenceWeights(lengths, rows / batch), logits.dtype());
  return MaskedSoftmaxCrossEntropy(g, logits, targets, weights);
}

}  // namespace tg
