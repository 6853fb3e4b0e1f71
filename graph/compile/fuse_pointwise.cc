#include "graph/compile/fuse_pointwise.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "graph/compile/liveness.h"
#include "base/thread_pool.h"

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

// Elements per chunk: 256 f64 or 512 f32, 2 KB per operand, so a run's operands stay in L1.
template <class T>
constexpr int64_t kChunk = 2048 / sizeof(T);

// Runs every member's tile over elements [begin, end), chunk by chunk.
template <class T>
void RunChunks(const Instruction& in, int64_t begin, int64_t end) {
  absl::InlinedVector<const T*, 4> args;
  for (; begin < end; begin += kChunk<T>) {
    const int64_t len = std::min(kChunk<T>, end - begin);
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

// Splits the chunks into a few contiguous ranges per thread (claimed dynamically, so a late
// worker costs only its share) once the run's work pays for waking the pool. A chunk is
// the same whoever runs it, so results do not depend on the thread count.
template <class T>
void RunSplit(const Instruction& in, int threads) {
  const int64_t n = in.output.num_elements();
  const int64_t chunks = (n + kChunk<T> - 1) / kChunk<T>;
  const int64_t work = n * static_cast<int64_t>(in.fused.size());
  const int64_t ranges = std::min<int64_t>(chunks, 2 * int64_t{threads});
  if (threads <= 1 || ranges < 2 || work < kParallelFusedWork) return RunChunks<T>(in, 0, n);
  const int64_t per_range = (chunks + ranges - 1) / ranges * kChunk<T>;
  ThreadPool::Shared().ParallelFor(static_cast<int>(ranges), threads, [&](int r) {
    RunChunks<T>(in, r * per_range, std::min(n, (r + 1) * per_range));
  });
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

void RunFused(const Instruction& in, int threads) {
  if (in.output.dtype() == DType::kF32) {
    RunSplit<float>(in, threads);
  } else {
    RunSplit<double>(in, threads);
  }
}

}  // namespace tg::compile
