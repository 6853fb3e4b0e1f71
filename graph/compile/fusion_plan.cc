#include "graph/compile/fusion_plan.h"

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_map.h"

namespace tg::compile {
namespace {

// The geometry the run's model gives instruction `in`.
std::optional<MemberGeometry> GeometryIn(const FusionOp& f, bool flat) {
  return flat ? FlatGeometry(f) : RowGeometry(f);
}

// Marks the values of run `run` that only the run touches.
void MarkInternal(const Program& p, absl::Span<const Lifetime> life, const RunSpan& run,
                  FusionPlan& plan) {
  std::vector<std::optional<MemberGeometry>> geometry;
  for (int k = run.begin; k < run.end; ++k) {
    geometry.push_back(GeometryIn(FusionOpOf(p, p.instructions[k]), run.flat));
  }
  for (int k = run.begin; k < run.end; ++k) {
    const Instruction& writer = p.instructions[k];
    const MemberGeometry& wg = *geometry[k - run.begin];
    const ValueId v = writer.output;
    const Value& value = p.values[v];
    const BufferId b = value.buffer;
    if (writer.accumulate || wg.zero_width > 0 || writer.op->column_scatter != nullptr ||
        b < 0 || p.buffers[b].storage != Storage::kPlanned || life[b].pinned ||
        life[b].first != k || life[b].last >= run.end || value.offset != 0 ||
        value.bytes != p.buffers[b].bytes) {
      continue;
    }
    // Every later touch of the buffer is a read of this value, at its rows.
    bool only_reads = true;
    for (int j = k + 1; j < run.end && only_reads; ++j) {
      const Instruction& reader = p.instructions[j];
      only_reads = p.values[reader.output].buffer != b;
      for (size_t i = 0; i < reader.inputs.size() && only_reads; ++i) {
        const ValueId x = reader.inputs[i];
        if (p.values[x].buffer != b) continue;
        const int64_t stride = geometry[j - run.begin]->inputs[i].row_stride;
        only_reads = x == v && (stride == wg.output.width || stride == 0);
      }
    }
    if (!only_reads) continue;
    plan.internal[v] = true;
    plan.internal_buffer[b] = true;
  }
}

}  // namespace

FusionOp FusionOpOf(const Program& p, const Instruction& in) {
  FusionOp f;
  f.op = in.op;
  f.attrs = in.attrs;
  f.accumulate = in.accumulate;
  for (ValueId v : in.inputs) f.inputs.push_back({p.values[v].dtype, p.shape(v)});
  f.output = {p.values[in.output].dtype, p.shape(in.output)};
  return f;
}

FusionPlan PlanFusion(const Program& p, absl::Span<const Lifetime> lifetimes) {
  std::vector<std::optional<FusionCandidate>> candidates(p.instructions.size());
  for (size_t k = 0; k < p.instructions.size(); ++k) {
    const Instruction& in = p.instructions[k];
    // A step that prepares an operand, or reads one prepared, runs its op's own code.
    if (in.op == nullptr || !in.op->pointwise || in.inputs.size() > kMaxTileInputs ||
        in.prepares >= 0 || in.prepared >= 0) {
      continue;
    }
    auto place = [&](ValueId v) -> std::optional<FusionCandidate::Place> {
      const Value& value = p.values[v];
      if (value.buffer < 0) return std::nullopt;
      return FusionCandidate::Place{.key = value.buffer, .offset = value.offset};
    };
    FusionCandidate c;
    c.op = FusionOpOf(p, in);
    bool placed = true;
    for (ValueId v : in.inputs) {
      const std::optional<FusionCandidate::Place> at = place(v);
      placed = placed && at.has_value();
      if (at) c.inputs.push_back(*at);
    }
    const std::optional<FusionCandidate::Place> out = place(in.output);
    if (!placed || !out) continue;
    c.output = *out;
    candidates[k] = std::move(c);
  }
  FusionPlan plan;
  plan.runs = GroupRuns(candidates);
  plan.internal.assign(p.values.size(), false);
  plan.internal_buffer.assign(p.buffers.size(), false);
  for (const RunSpan& run : plan.runs) MarkInternal(p, lifetimes, run, plan);
  return plan;
}

std::vector<Lifetime> FusedLifetimes(std::vector<Lifetime> life, const Program& p,
                                     const FusionPlan& plan) {
  for (size_t b = 0; b < life.size(); ++b) {
    if (plan.internal_buffer[b]) life[b].first = life[b].last = -1;
  }
  for (const RunSpan& run : plan.runs) {
    auto extend = [&](ValueId v) {
      const BufferId b = p.values[v].buffer;
      if (b < 0 || plan.internal_buffer[b]) return;
      life[b].first = std::min(life[b].first, run.begin);
      life[b].last = std::max(life[b].last, run.end - 1);
    };
    for (int k = run.begin; k < run.end; ++k) {
      for (ValueId v : p.instructions[k].inputs) extend(v);
      extend(p.instructions[k].output);
    }
  }
  return life;
}

}  // namespace tg::compile
