// The vendor ceiling: oneDNN's fused LSTM primitive (lstm_forward in forward_training, then
// lstm_backward), f32, the S/M/L shapes of rnn_bench, loss = sum of all outputs h_t (so the
// output gradient is all ones). Same timing loop and output format as rnn_bench.
//   onednn_lstm [--configs=S,M,L] [--threads=1,2] [--json] [--budget_s=1]
// Each timed iteration: reorder the weights into the layouts the forward and the backward
// primitives chose (weights change every training step, so this is part of a step), zero the
// weight gradients (oneDNN accumulates into them), forward, backward. The backward also
// computes d loss / d x, which tapegrad and PyTorch skip (their x needs no gradient): its
// rows count those FLOPs too ("input_grad": true), and rnn_bench --input_grad does the same
// work.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "bench/flags.h"
#include "bench/harness.h"
#include "oneapi/dnnl/dnnl.hpp"

ABSL_FLAG(std::string, configs, "S,M,L", "configurations: S, M, L");
ABSL_FLAG(std::string, threads, "1,2", "OpenMP thread counts, each at least 1 (omp_set_num_threads)");
ABSL_FLAG(bool, json, false, "one JSON object per line");
ABSL_FLAG(double, budget_s, 1.0, "seconds of timed runs per row, > 0 (at least 3 runs)");

namespace tg::bench {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr memory::data_type kF32 = memory::data_type::f32;

// A memory of `md` (a plain layout) with element i = f(i).
template <class F>
memory Filled(const memory::desc& md, const dnnl::engine& eng, F f) {
  memory m(md, eng);
  auto* p = static_cast<float*>(m.get_data_handle());
  const size_t n = md.get_size() / sizeof(float);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<float>(f(i));
  return m;
}

void Zero(const memory& m) { std::memset(m.get_data_handle(), 0, m.get_desc().get_size()); }

// `user` as the primitive wants it: the same memory when the layouts agree, else a copy.
struct Reordered {
  memory user, prim;
  dnnl::reorder reorder;
  bool needed = false;

  Reordered(const memory& u, const memory::desc& want, const dnnl::engine& eng) : user(u) {
    needed = want != u.get_desc();
    prim = needed ? memory(want, eng) : u;
    if (needed) reorder = dnnl::reorder(user, prim);
  }
  void Run(dnnl::stream& s) {
    if (needed) reorder.execute(s, user, prim);
  }
};

absl::StatusOr<Timing> BenchLstm(const BenchConfig& c, const TimingOptions& timing) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  const memory::dim t = c.seq, n = c.batch, in = c.input, h = c.hidden;
  const memory::desc src_md({t, n, in}, kF32, Tag::tnc), dst_md({t, n, h}, kF32, Tag::tnc);
  const memory::desc wl_any({1, 1, in, 4, h}, kF32, Tag::any);
  const memory::desc wi_any({1, 1, h, 4, h}, kF32, Tag::any);
  const memory::desc bias_md({1, 1, 4, h}, kF32, Tag::ldgo);
  const memory::desc none;  // zero initial state; final state not needed
  const auto dir = dnnl::rnn_direction::unidirectional_left2right;

  dnnl::lstm_forward::desc fwd_d(dnnl::prop_kind::forward_training, dir, src_md, none, none, wl_any,
                                 wi_any, bias_md, dst_md, none, none);
  dnnl::lstm_forward::primitive_desc fwd_pd(fwd_d, eng);
  dnnl::lstm_backward::desc bwd_d(dnnl::prop_kind::backward, dir, src_md, none, none, wl_any,
                                  wi_any, bias_md, dst_md, none, none, src_md, none, none, wl_any,
                                  wi_any, bias_md, dst_md, none, none);
  dnnl::lstm_backward::primitive_desc bwd_pd(bwd_d, eng, fwd_pd);

  // Weights as a framework keeps them (ldigo), Uniform-like in +-1/sqrt(H), fixed; x fixed.
  const double k = 1.0 / std::sqrt(static_cast<double>(h));
  auto weight = [k](size_t i) { return k * std::sin(1.3 * static_cast<double>(i)); };
  auto input = [](size_t i) { return std::sin(0.37 * static_cast<double>(i) + 0.1); };
  auto ones = [](size_t) { return 1.0; };
  memory wl_user = Filled({{1, 1, in, 4, h}, kF32, Tag::ldigo}, eng, weight);
  memory wi_user = Filled({{1, 1, h, 4, h}, kF32, Tag::ldigo}, eng, weight);
  memory bias = Filled(bias_md, eng, weight);
  memory src = Filled(src_md, eng, input);
  memory dst(fwd_pd.dst_layer_desc(), eng);
  memory workspace(fwd_pd.workspace_desc(), eng);
  memory diff_dst = Filled(bwd_pd.diff_dst_layer_desc(), eng, ones);
  memory diff_src(bwd_pd.diff_src_layer_desc(), eng);
  memory diff_wl(bwd_pd.diff_weights_layer_desc(), eng);
  memory diff_wi(bwd_pd.diff_weights_iter_desc(), eng);
  memory diff_bias(bwd_pd.diff_bias_desc(), eng);
  Reordered fwd_wl(wl_user, fwd_pd.weights_layer_desc(), eng);
  Reordered fwd_wi(wi_user, fwd_pd.weights_iter_desc(), eng);
  Reordered bwd_wl(wl_user, bwd_pd.weights_layer_desc(), eng);
  Reordered bwd_wi(wi_user, bwd_pd.weights_iter_desc(), eng);
  dnnl::lstm_forward fwd(fwd_pd);
  dnnl::lstm_backward bwd(bwd_pd);

  auto iteration = [&]() -> absl::Status {
    fwd_wl.Run(s);
    fwd_wi.Run(s);
    bwd_wl.Run(s);
    bwd_wi.Run(s);
    Zero(diff_wl);
    Zero(diff_wi);
    Zero(diff_bias);
    fwd.execute(s, {{DNNL_ARG_SRC_LAYER, src},
                    {DNNL_ARG_WEIGHTS_LAYER, fwd_wl.prim},
                    {DNNL_ARG_WEIGHTS_ITER, fwd_wi.prim},
                    {DNNL_ARG_BIAS, bias},
                    {DNNL_ARG_DST_LAYER, dst},
                    {DNNL_ARG_WORKSPACE, workspace}});
    bwd.execute(s, {{DNNL_ARG_SRC_LAYER, src},
                    {DNNL_ARG_WEIGHTS_LAYER, bwd_wl.prim},
                    {DNNL_ARG_WEIGHTS_ITER, bwd_wi.prim},
                    {DNNL_ARG_BIAS, bias},
                    {DNNL_ARG_DST_LAYER, dst},
                    {DNNL_ARG_DIFF_DST_LAYER, diff_dst},
                    {DNNL_ARG_WORKSPACE, workspace},
                    {DNNL_ARG_DIFF_SRC_LAYER, diff_src},
                    {DNNL_ARG_DIFF_WEIGHTS_LAYER, diff_wl},
                    {DNNL_ARG_DIFF_WEIGHTS_ITER, diff_wi},
                    {DNNL_ARG_DIFF_BIAS, diff_bias}});
    s.wait();
    return absl::OkStatus();
  };
  return TimeRuns(iteration, timing);
}

int Main(FmaIsa isa) {
  auto configs = ParseConfigs(absl::GetFlag(FLAGS_configs));
  auto threads = ParseThreads(absl::GetFlag(FLAGS_threads));
  for (const absl::Status& st : {configs.status(), threads.status()}) {
    if (!st.ok()) {
      std::fprintf(stderr, "onednn_lstm: %s\n", std::string(st.message()).c_str());
      return 2;
    }
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const TimingOptions timing = {.budget_s = absl::GetFlag(FLAGS_budget_s)};
  for (int t : *threads) PeakGflops(isa, t);  // before the OpenMP pool exists
  int failures = 0;
  for (const BenchConfig& c : *configs) {
    for (int t : *threads) {
      // oneDNN takes omp_get_max_threads() unless told (DESIGN.md section 7).
      omp_set_num_threads(t);
      absl::StatusOr<Timing> result;
      try {
        result = BenchLstm(c, timing);
      } catch (const dnnl::error& e) {
        result = absl::InternalError(e.what());
      }
      if (!result.ok()) {
        std::fprintf(stderr, "onednn_lstm: %s threads=%d: %s\n", c.name.c_str(), t,
                     std::string(result.status().message()).c_str());
        ++failures;
        continue;
      }
      PrintRow({.bench = "onednn_lstm",
                .config = c.name,
                .cell = "lstm",
                .mode = "onednn",
                .threads = t,
                .shape = &c,
                .gates = 4,
                .input_grad = true,
                .isa = isa,
                .timing = *result,
                .rss_key = "onednn_peak_rss_mb"},
               json);
    }
  }
  return failures > 0 ? 1 : 0;
}

}  // namespace
}  // namespace tg::bench

int main(int argc, char** argv) {
  tg::FlagChecks checks("onednn_lstm");
  tg::bench::ParseBenchFlags(argc, argv,
      "times oneDNN's fused LSTM primitive (forward training, then backward; f32) at the S, M\n"
      "and L sizes of rnn_bench, in its output format: the vendor ceiling for an LSTM layer.\n\n"
      "  bench/onednn_lstm --configs=M --threads=1 --json",
      checks);
  // Checked before any timing: a bad value ends the program with status 2 and one line.
  const std::vector<std::string> configs = tg::bench::CommaList(absl::GetFlag(FLAGS_configs));
  const std::vector<std::string> threads = tg::bench::CommaList(absl::GetFlag(FLAGS_threads));
  checks.NotEmpty("configs", configs)
      .EachOneOf("configs", configs, {"S", "M", "L"})
      .NotEmpty("threads", threads)
      .EachAtLeast("threads", threads, 1)
      .GreaterThan("budget_s", absl::GetFlag(FLAGS_budget_s), 0);
  const absl::StatusOr<tg::bench::FmaIsa> isa = tg::bench::ChooseFmaIsa();
  checks.Require(isa.ok(), std::string(isa.status().message())).ExitIfAny();
  return tg::bench::Main(*isa);
}
