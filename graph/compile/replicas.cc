#include "graph/compile/replicas.h"

#include <algorithm>
#include <cmath>

#include "fmt/format.h"
#include "base/thread_pool.h"

namespace tg {
namespace {

absl::Status CheckReplicas(absl::Span<CompiledGraph* const> replicas,
                           absl::Span<const std::vector<Tensor>> feeds,
                           absl::Span<const double> weights) {
  if (replicas.empty() || feeds.size() != replicas.size() || weights.size() != replicas.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "RunReplicas: {} replicas, {} feed lists and {} weights (one of each per replica)",
        replicas.size(), feeds.size(), weights.size()));
  }
  for (size_t i = 0; i < replicas.size(); ++i) {
    if (replicas[i] == nullptr) {
      return absl::InvalidArgumentError(fmt::format("RunReplicas: replica {} is null", i));
    }
    for (size_t j = 0; j < i; ++j) {
      if (replicas[j] == replicas[i]) {
        return absl::InvalidArgumentError(fmt::format(
            "RunReplicas: replicas {} and {} are the same CompiledGraph; each replica needs its "
            "own (they run at once)",
            j, i));
      }
    }
    if (!std::isfinite(weights[i])) {
      return absl::InvalidArgumentError(
          fmt::format("RunReplicas: weight {} is {}, not a finite number", i, weights[i]));
    }
  }
  const std::vector<PrivateGradient>& first = replicas[0]->private_gradients();
  for (size_t i = 0; i < replicas.size(); ++i) {
    const std::vector<PrivateGradient>& grads = replicas[i]->private_gradients();
    if (grads.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "RunReplicas: replica {} has no private gradients (compile it with "
          "CompileSpec::private_gradients)", i));
    }
    bool same = grads.size() == first.size();
    for (size_t p = 0; same && p < grads.size(); ++p) {
      same = grads[p].param.data() == first[p].param.data();
    }
    if (!same) {
      return absl::InvalidArgumentError(fmt::format(
          "RunReplicas: replica {} has gradients for other parameters than replica 0 ({} vs {})",
          i, grads.size(), first.size()));
    }
    // Every replica's feeds are checked before any replica runs.
    if (absl::Status s = replicas[i]->CheckFeeds(feeds[i]); !s.ok()) {
      return absl::Status(s.code(), fmt::format("RunReplicas: replica {}: {}", i, s.message()));
    }
  }
  return absl::OkStatus();
}

template <class T>
void AddScaled(const Tensor& from, double weight, const Tensor& into) {
  const T* src = from.data<T>();
  T* dst = into.data<T>();
  const T w = static_cast<T>(weight);
  for (int64_t i = 0, n = into.num_elements(); i < n; ++i) dst[i] += w * src[i];
}

}  // namespace

absl::Status RunReplicas(absl::Span<CompiledGraph* const> replicas,
                         absl::Span<const std::vector<Tensor>> feeds,
                         absl::Span<const double> weights, int threads) {
  if (absl::Status s = CheckReplicas(replicas, feeds, weights); !s.ok()) return s;
  const int n = static_cast<int>(replicas.size());
  std::vector<absl::Status> status(n);
  threads = std::max(threads, 1);
  ThreadPool::Shared().ParallelFor(n, threads,
                                   [&](int i) { status[i] = replicas[i]->Run(feeds[i]); });
  for (int i = 0; i < n; ++i) {
    if (!status[i].ok()) {
      return absl::Status(status[i].code(), fmt::format("replica {}: {}", i, status[i].message()));
    }
  }
  // Parameter by parameter on the same threads; each sum runs in replica order, so the
  // result does not depend on which thread took which parameter.
  const int params = static_cast<int>(replicas[0]->private_gradients().size());
  ThreadPool::Shared().ParallelFor(params, threads, [&](int p) {
    const Tensor into = replicas[0]->private_gradients()[p].param.grad();
    for (int i = 0; i < n; ++i) {
      const Tensor& from = replicas[i]->private_gradients()[p].grad;
      if (into.dtype() == DType::kF64) {
        AddScaled<double>(from, weights[i], into);
      } else {
        AddScaled<float>(from, weights[i], into);
      }
    }
  });
  return absl::OkStatus();
}

}  // namespace tg
