#include "graph/compile/fuse_pointwise.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "graph/compile/liveness.h"

namespace tg::compile {
namespace {

bool HasTile(const Instruction& in) {
  if (in.op == nullptr || !in.fused.empty() || !in.op->pointwise) return false;
  switch (in.output.dtype()) {
    case DType::kF32: return in.op->pointwise.f32 != nullptr;
    case DType::kF64: return in.op->pointwise.f64 != nullptr;
    case DType::kI32: return false;
  }
  return false;
}

// Pointwise over operands of the output's shape and dtype (tiles know no broadcasting). An
// op drawing random numbers stays on its own: a tile sees no element index to draw by, and
// Run re-seeds only whole instructions (OpDef::seed_attr).
bool Fusable(const Instruction& in) {
  if (!HasTile(in) || in.op->seed_attr >= 0) return false;
  if (in.output.num_elements() > kMaxFusedElements) return false;
  return std::all_of(in.inputs.begin(), in.inputs.end(), [&](const Tensor& t) {
    return t.shape() == in.output.shape() && t.dtype() == in.output.dtype();
  });
}

// The byte ranges a run touches; a new member may share a range only exactly.
class RunMemory {
 public:
  bool Admits(const Instruction& in) const {
    auto ok = [&](const Tensor& t) {
      const ByteRange r = RangeOf(t);
      return std::all_of(ranges_.begin(), ranges_.end(), [&](const ByteRange& q) {
        const bool overlap = r.begin < q.end && q.begin < r.end;
        return !overlap || (r.begin == q.begin && r.end == q.end);
      });
    };
    return ok(in.output) && std::all_of(in.inputs.begin(), in.inputs.end(), ok);
  }
  void Add(const Instruction& in) {
    ranges_.push_back(RangeOf(in.output));
    for (const Tensor& t : in.inputs) ranges_.push_back(RangeOf(t));
  }
  void Clear() { ranges_.clear(); }

 private:
  std::vector<ByteRange> ranges_;
};

template <class T>
void RunChunks(const Instruction& in) {
  // 256 f64 or 512 f32 elements: 2 KB per operand, so a run's operands stay in L1.
  constexpr int64_t kChunk = 2048 / sizeof(T);
  const int64_t n = in.output.num_elements();
  absl::InlinedVector<const T*, 4> args;
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t len = std::min(kChunk, n - begin);
    for (const Instruction& m : in.fused) {
      args.clear();
      for (const Tensor& t : m.inputs) args.push_back(t.data<T>() + begin);
      TileFn<T> tile;
      if constexpr (std::is_same_v<T, float>) {
        tile = m.op->pointwise.f32;
      } else {
        tile = m.op->pointwise.f64;
      }
      tile(args, m.output.data<T>() + begin, len, m.attrs, m.accumulate);
    }
  }
}

}  // namespace

Program FusePointwise(Program program) {
  Program out;
  out.reserve(program.size());
  std::vector<Instruction> run;
  RunMemory memory;
  auto flush = [&]() {
    if (run.size() == 1) {
      out.push_back(std::move(run[0]));
    } else if (run.size() > 1) {
      Instruction fused;
      fused.output = run[0].output;
      fused.node = run[0].node;
      fused.fused = std::move(run);
      out.push_back(std::move(fused));
    }
    run.clear();
    memory.Clear();
  };
  for (Instruction& in : program) {
    const bool joins = Fusable(in) && !run.empty() &&
                       in.output.num_elements() == run[0].output.num_elements() &&
                       in.output.dtype() == run[0].output.dtype() && memory.Admits(in);
    if (!joins) flush();
    if (Fusable(in)) {
      memory.Add(in);
      run.push_back(std::move(in));
    } else {
      out.push_back(std::move(in));
    }
  }
  flush();
  return out;
}

void RunFused(const Instruction& in) {
  if (in.output.dtype() == DType::kF32) {
    RunChunks<float>(in);
  } else {
    RunChunks<double>(in);
  }
}

}  // namespace tg::compile
