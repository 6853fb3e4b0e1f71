#include "graph/compile/fuse_pointwise.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "base/thread_pool.h"

namespace tg::compile {
namespace {

int64_t RoundUp64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

// Where an operand of memory (not the chunk buffer) is, per row.
RowOperand InMemory(const Operand& o, const OperandGeometry& g, int64_t size) {
  return {.offset = o.offset + g.offset * size, .row_stride = static_cast<int32_t>(g.row_stride),
          .space = o.space, .col_stride = static_cast<uint8_t>(g.col_stride)};
}

bool Dense(const FusedMember& m, TileShape shape) {
  if (shape != TileShape::kElementwise || m.zero_width > 0) return false;
  auto whole_rows = [&](const RowOperand& o) {
    return o.col_stride == 1 && o.row_stride == m.width;
  };
  return whole_rows(m.output) &&
         std::all_of(m.inputs.begin(), m.inputs.begin() + m.num_inputs, whole_rows);
}

using AnyFn = void (*)();
AnyFn TileOf(const OpDef& op, DType dtype) {
  return dtype == DType::kF32 ? reinterpret_cast<AnyFn>(op.pointwise.f32)
                              : reinterpret_cast<AnyFn>(op.pointwise.f64);
}

}  // namespace

int64_t TileCalls(const FusedRun& run) {
  const int64_t chunks = (run.rows + run.chunk_rows - 1) / run.chunk_rows;
  int64_t calls = 0;
  for (const FusedMember& m : run.members) calls += m.dense ? chunks : run.rows;
  return calls;
}

Step BuildFusedStep(std::vector<Step> members, absl::Span<const FusionOp> ops, bool flat) {
  auto run = std::make_shared<FusedRun>();
  std::vector<MemberGeometry> geometry;
  int64_t widest = 1;
  for (const FusionOp& f : ops) {
    geometry.push_back(*(flat ? FlatGeometry(f) : RowGeometry(f)));
    const MemberGeometry& g = geometry.back();
    widest = std::max({widest, g.width, g.zero_width, g.output.width});
  }
  const DType dtype = ops[0].output.dtype;
  const int64_t size = static_cast<int64_t>(SizeOf(dtype));
  run->rows = geometry[0].rows;
  run->chunk_rows = std::clamp<int64_t>(kChunkBytes / (widest * size), 1, run->rows);
  // Internal values by id: a slot of the chunk buffer, or the block a column view reads.
  absl::flat_hash_map<int64_t, RowOperand> internal;
  for (size_t k = 0; k < members.size(); ++k) {
    const Step& s = members[k];
    const MemberGeometry& g = geometry[k];
    FusedMember m;
    m.tile = TileOf(*s.op, dtype);
    m.attrs = s.attrs;
    m.accumulate = s.accumulate;
    m.width = static_cast<int32_t>(g.width);
    m.zero_width = static_cast<int32_t>(g.zero_width);
    m.zero_offset = static_cast<int32_t>(g.output.offset);
    m.num_inputs = static_cast<uint8_t>(s.inputs.size());
    for (size_t i = 0; i < s.inputs.size(); ++i) {
      const Operand& o = s.inputs[i];
      if (o.space != Space::kScratch) {
        m.inputs[i] = InMemory(o, g.inputs[i], size);
        continue;
      }
      RowOperand r = internal.at(o.offset);
      r.offset += g.inputs[i].offset * size;
      if (g.inputs[i].row_stride == 0) r.row_stride = 0;
      r.col_stride = static_cast<uint8_t>(g.inputs[i].col_stride);
      m.inputs[i] = r;
    }
    if (s.output.space != Space::kScratch) {
      m.output = InMemory(s.output, g.output, size);
    } else if (g.column_view) {
      internal[s.output.offset] = m.inputs[0];  // its readers read the block in place
      continue;
    } else {
      m.output = {.offset = run->scratch_bytes,
                  .row_stride = static_cast<int32_t>(g.output.width),
                  .space = Space::kScratch};
      run->scratch_bytes += RoundUp64(run->chunk_rows * g.output.width * size);
      internal[s.output.offset] = m.output;
    }
    m.dense = Dense(m, g.shape);
    run->work += run->rows * m.width;
    run->members.push_back(m);
  }
  Step fused;
  fused.output = members[0].output;
  fused.node = members[0].node;
  fused.fused = std::move(members);
  fused.run = std::move(run);
  return fused;
}

std::vector<Step> FusePointwise(std::vector<Step> steps, absl::Span<const Shape> shapes,
                                absl::Span<const Attrs> attrs) {
  std::vector<std::optional<FusionCandidate>> candidates(steps.size());
  std::vector<FusionOp> ops(steps.size());
  for (size_t k = 0; k < steps.size(); ++k) {
    const Step& s = steps[k];
    if (s.op == nullptr || !s.fused.empty() || s.inputs.size() > kMaxTileInputs) continue;
    FusionOp& f = ops[k];
    f.op = s.op;
    f.attrs = &attrs[s.attrs];
    f.accumulate = s.accumulate;
    FusionCandidate c;
    for (const Operand& o : s.inputs) {
      f.inputs.push_back({o.dtype, shapes[o.shape]});
      c.inputs.push_back({.key = static_cast<int64_t>(o.space), .offset = o.offset});
    }
    f.output = {s.output.dtype, shapes[s.output.shape]};
    c.output = {.key = static_cast<int64_t>(s.output.space), .offset = s.output.offset};
    c.op = f;
    candidates[k] = std::move(c);
  }
  std::vector<Step> out;
  out.reserve(steps.size());
  size_t next = 0;
  for (const RunSpan& run : GroupRuns(candidates)) {
    for (; next < static_cast<size_t>(run.begin); ++next) out.push_back(std::move(steps[next]));
    std::vector<Step> members(std::make_move_iterator(steps.begin() + run.begin),
                              std::make_move_iterator(steps.begin() + run.end));
    out.push_back(BuildFusedStep(std::move(members),
                                 absl::MakeConstSpan(ops).subspan(run.begin, run.end - run.begin),
                                 run.flat));
    next = static_cast<size_t>(run.end);
  }
  for (; next < steps.size(); ++next) out.push_back(std::move(steps[next]));
  return out;
}

namespace {

template <class T>
class Runner {
 public:
  Runner(const FusedRun& run, const Bases& bases, const Attrs* attrs)
      : run_(run), bases_(bases), attrs_(attrs) {}

  // Rows [begin, end), chunk by chunk, with `scratch` as the chunk buffer.
  void Rows(int64_t begin, int64_t end, std::byte* scratch) const {
    std::array<const T*, kMaxTileInputs> args;
    std::array<int64_t, kMaxTileInputs> strides;
    for (int64_t r0 = begin; r0 < end; r0 += run_.chunk_rows) {
      const int64_t r1 = std::min(end, r0 + run_.chunk_rows);
      for (const FusedMember& m : run_.members) {
        const auto tile = reinterpret_cast<TileFn<T>>(m.tile);
        const Attrs& attrs = attrs_[m.attrs];
        const size_t n_in = m.num_inputs;
        for (size_t i = 0; i < n_in; ++i) strides[i] = m.inputs[i].col_stride;
        const auto in_args = absl::MakeConstSpan(args.data(), n_in);
        const auto in_strides = absl::MakeConstSpan(strides.data(), n_in);
        if (m.dense) {
          for (size_t i = 0; i < n_in; ++i) args[i] = At(m.inputs[i], scratch, r0, r0);
          tile(in_args, in_strides, At(m.output, scratch, r0, r0), (r1 - r0) * m.width, attrs,
               m.accumulate);
          continue;
        }
        for (int64_t r = r0; r < r1; ++r) {
          for (size_t i = 0; i < n_in; ++i) args[i] = At(m.inputs[i], scratch, r, r0);
          T* out = At(m.output, scratch, r, r0);
          if (m.zero_width > 0) std::fill_n(out - m.zero_offset, m.zero_width, T(0));
          tile(in_args, in_strides, out, m.width, attrs, m.accumulate);
        }
      }
    }
  }

 private:
  // Row r of operand o (chunk starting at row r0).
  T* At(const RowOperand& o, std::byte* scratch, int64_t r, int64_t r0) const {
    std::byte* row0 = nullptr;
    switch (o.space) {
      case Space::kArena: row0 = bases_.arena + o.offset; break;
      case Space::kGradients: row0 = bases_.gradients + o.offset; break;
      case Space::kScratch:
        return reinterpret_cast<T*>(scratch + o.offset) + (r - r0) * o.row_stride;
      case Space::kFixed:  // the offset is the address (no arithmetic on a null base)
        row0 = reinterpret_cast<std::byte*>(static_cast<uintptr_t>(o.offset));
        break;
    }
    return reinterpret_cast<T*>(row0) + r * o.row_stride;
  }

  const FusedRun& run_;
  const Bases& bases_;
  const Attrs* attrs_;
};

// Splits the chunks into a few contiguous ranges per thread (claimed dynamically, so a late
// worker costs only its share) once the run's work pays for waking the pool; each range has
// its own chunk buffer. A chunk is the same whoever runs it, so results do not depend on the
// thread count.
template <class T>
void RunSplit(const Step& fused, const Bases& bases, const Attrs* attrs, int threads) {
  const FusedRun& run = *fused.run;
  const Runner<T> runner(run, bases, attrs);
  const int64_t chunks = (run.rows + run.chunk_rows - 1) / run.chunk_rows;
  const int64_t ranges = std::min<int64_t>(chunks, MaxFusedRanges(threads));
  if (threads <= 1 || ranges < 2 || run.work < kParallelFusedWork) {
    return runner.Rows(0, run.rows, bases.scratch);
  }
  const int64_t per_range = (chunks + ranges - 1) / ranges * run.chunk_rows;
  ThreadPool::Shared().ParallelFor(static_cast<int>(ranges), threads, [&](int r) {
    runner.Rows(r * per_range, std::min(run.rows, (r + 1) * per_range),
                bases.scratch + r * bases.scratch_stride);
  });
}

}  // namespace

void RunFused(const Step& fused, const Bases& bases, const Attrs* attrs, int threads) {
  if (fused.fused[0].output.dtype == DType::kF32) {
    RunSplit<float>(fused, bases, attrs, threads);
  } else {
    RunSplit<double>(fused, bases, attrs, threads);
  }
}

}  // namespace tg::compile
