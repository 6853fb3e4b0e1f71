// Soak: a small LSTM trained for many updates eagerly, compiled, and as compiled replicas,
// with the process's resident memory sampled as it goes. After a warm-up (allocator pools,
// oneDNN's caches, the compiled arena) memory must stay flat: a leak of even a few bytes per
// update shows as growth over thousands of updates. Exit status 1 when any mode grows by
// --max_growth_mb or more after its warm-up.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "autodiff/backward.h"
#include "bench/flags.h"
#include "graph/compile/compiled_graph.h"
#include "graph/compile/replicas.h"
#include "models/layers.h"
#include "models/lstm_cell.h"
#include "models/optimizers.h"
#include "models/unroll.h"
#include "ops/ops.h"
#include "ops/registry.h"

ABSL_FLAG(int64_t, updates, 20000, "updates per mode (at least 1)");
ABSL_FLAG(int64_t, warmup, 1000,
          "updates before the reference RSS is taken (0 or more, below --updates)");
ABSL_FLAG(int64_t, sample_every, 100, "updates between RSS samples (at least 1)");
ABSL_FLAG(std::string, modes, "eager,compiled,replicas",
          "comma list of eager, compiled, replicas (2 compiled replicas on 2 threads)");
ABSL_FLAG(double, max_growth_mb, 1.0,
          "allowed RSS growth after warm-up, in MiB (> 0); more fails the run");

namespace tg::bench {
namespace {

constexpr int64_t kSteps = 10, kBatch = 8, kIn = 8, kHidden = 32;

// Resident set size of this process in bytes (/proc/self/statm's second field, in pages).
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// Deterministic pseudo-random inputs for update u (a new batch every update, as training).
std::vector<float> Batch(int64_t u, int64_t n, uint64_t salt) {
  std::vector<float> v(static_cast<size_t>(n));
  uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(u + 1) + salt;
  for (float& f : v) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    f = static_cast<float>(x % 2001) / 1000.0f - 1.0f;
  }
  return v;
}

struct Model {
  explicit Model(ParameterStore& store)
      : lstm(*LstmCell::Create(store, {.input_size = kIn, .hidden_size = kHidden})),
        head(*Linear::Create(store, {.in_features = kHidden, .out_features = 1, .prefix = "head"})) {}
  // Mean squared error of a linear head on the LSTM's outputs; xs [T*B, I], ys [T*B, 1].
  Expr Loss(Graph& g, Expr xs, Expr ys, int64_t batch) const {
    UnrollResult r = Unroll(g, lstm, SplitSteps(Reshape(xs, {kSteps, batch, kIn})),
                            lstm.ZeroState(g, batch));
    return Mean(Square(head(g, StackSteps(r.outputs)) - ys));
  }
  LstmCell lstm;
  Linear head;
};

// One compiled update for `batch` rows, fed fresh data each run.
struct CompiledUpdate {
  CompiledUpdate(const Model& model, int64_t batch, bool private_gradients)
      : batch(batch), graph(GraphOptions{.mode = ExecMode::kRecord}) {
    Expr xs = graph.Input({kSteps * batch, kIn}, std::vector<float>(kSteps * batch * kIn));
    Expr ys = graph.Input({kSteps * batch, 1}, std::vector<float>(kSteps * batch));
    Expr loss = model.Loss(graph, xs, ys, batch);
    if (absl::Status s = Backward(loss); !s.ok()) Die(s);
    absl::StatusOr<CompiledGraph> c = Compile(
        graph, {.feeds = {xs, ys}, .outputs = {loss}, .private_gradients = private_gradients});
    if (!c.ok()) Die(c.status());
    program = std::move(*c);
  }
  std::vector<Tensor> Feeds(int64_t u) {
    x = Batch(u, kSteps * batch * kIn, batch);
    y = Batch(u, kSteps * batch, batch + 1);
    return {Tensor(x.data(), DType::kF32, {kSteps * batch, kIn}),
            Tensor(y.data(), DType::kF32, {kSteps * batch, 1})};
  }
  [[noreturn]] static void Die(const absl::Status& s) {
    std::fprintf(stderr, "soak: %s\n", std::string(s.message()).c_str());
    std::exit(1);
  }
  int64_t batch;
  Graph graph;
  CompiledGraph program;
  std::vector<float> x, y;
};

// Runs `update` for --updates steps, sampling RSS; prints one line and returns the growth
// after warm-up in bytes.
int64_t Soak(const std::string& mode, const std::function<absl::Status(int64_t)>& update) {
  const int64_t updates = absl::GetFlag(FLAGS_updates), warmup = absl::GetFlag(FLAGS_warmup),
                every = absl::GetFlag(FLAGS_sample_every);
  int64_t reference = 0, peak = 0, last = 0;
  for (int64_t u = 0; u < updates; ++u) {
    if (absl::Status s = update(u); !s.ok()) CompiledUpdate::Die(s);
    if (u + 1 == warmup || (warmup == 0 && u == 0)) reference = peak = ResidentBytes();
    if (u + 1 > warmup && (u + 1) % every == 0) {
      last = ResidentBytes();
      peak = std::max(peak, last);
    }
  }
  last = ResidentBytes();
  peak = std::max(peak, last);
  const int64_t growth = peak - reference;
  std::printf("soak %s: %lld updates, RSS after %lld warm-up updates %.2f MiB, peak after "
              "%.2f MiB, at the end %.2f MiB: growth %lld KiB\n",
              mode.c_str(), static_cast<long long>(updates), static_cast<long long>(warmup),
              reference / 1048576.0, peak / 1048576.0, last / 1048576.0,
              static_cast<long long>(growth / 1024));
  std::fflush(stdout);
  return growth;
}

int Main(const std::vector<std::string>& modes) {
  if (absl::Status s = RegisterBuiltinOps(); !s.ok()) CompiledUpdate::Die(s);
  const double bound = absl::GetFlag(FLAGS_max_growth_mb) * 1048576.0;
  int failures = 0;
  for (const std::string& mode : modes) {
    ParameterStore store({.seed = 1});
    Model model(store);
    Adam adam(store, {.learning_rate = 1e-3});
    auto step = [&]() -> absl::Status {
      ClipGradNorm(store, 1.0);
      absl::Status s = adam.Step();
      store.ZeroGrad();
      return s;
    };
    int64_t growth = 0;
    if (mode == "eager") {
      growth = Soak(mode, [&](int64_t u) -> absl::Status {
        Graph g;
        std::vector<float> x = Batch(u, kSteps * kBatch * kIn, 0), y = Batch(u, kSteps * kBatch, 1);
        Expr loss = model.Loss(g, g.Input({kSteps * kBatch, kIn}, x),
                               g.Input({kSteps * kBatch, 1}, y), kBatch);
        if (absl::Status s = Backward(loss); !s.ok()) return s;
        return step();
      });
    } else if (mode == "compiled") {
      CompiledUpdate update(model, kBatch, /*private_gradients=*/false);
      growth = Soak(mode, [&](int64_t u) -> absl::Status {
        if (absl::Status s = update.program.Run(update.Feeds(u)); !s.ok()) return s;
        return step();
      });
    } else {
      CompiledUpdate first(model, kBatch / 2, true), second(model, kBatch / 2, true);
      std::vector<CompiledGraph*> replicas = {&first.program, &second.program};
      growth = Soak(mode, [&](int64_t u) -> absl::Status {
        const std::vector<std::vector<Tensor>> feeds = {first.Feeds(u), second.Feeds(u + 1)};
        if (absl::Status s = RunReplicas(replicas, feeds, {0.5, 0.5}, 2); !s.ok()) return s;
        return step();
      });
    }
    if (growth >= bound) {
      std::fprintf(stderr, "soak %s: RSS grew by %lld KiB after warm-up, above --max_growth_mb=%g\n",
                   mode.c_str(), static_cast<long long>(growth / 1024),
                   absl::GetFlag(FLAGS_max_growth_mb));
      ++failures;
    }
  }
  return failures > 0 ? 1 : 0;
}

}  // namespace
}  // namespace tg::bench

int main(int argc, char** argv) {
  tg::FlagChecks checks("soak");
  tg::bench::ParseBenchFlags(argc, argv,
      "trains a small LSTM (T 10, batch 8, 8 inputs, 32 hidden) for --updates updates in each\n"
      "of --modes, sampling the process's resident memory; exit status 1 when it grows by\n"
      "--max_growth_mb or more after the warm-up.\n\n"
      "  bench/soak --updates=20000",
      checks);
  const std::vector<std::string> modes = tg::bench::CommaList(absl::GetFlag(FLAGS_modes));
  const int64_t updates = absl::GetFlag(FLAGS_updates);
  checks.AtLeast("updates", updates, 1)
      .AtLeast("warmup", absl::GetFlag(FLAGS_warmup), 0)
      .AtLeast("sample_every", absl::GetFlag(FLAGS_sample_every), 1)
      .NotEmpty("modes", modes)
      .EachOneOf("modes", modes, {"eager", "compiled", "replicas"})
      .GreaterThan("max_growth_mb", absl::GetFlag(FLAGS_max_growth_mb), 0)
      .ExitIfAny();
  // Only once --updates itself is valid, so one bad value gives one line.
  checks.AtMost("warmup", absl::GetFlag(FLAGS_warmup), updates - 1,
                absl::StrCat("--updates - 1 (", updates - 1, ")"))
      .ExitIfAny();
  return tg::bench::Main(modes);
}
