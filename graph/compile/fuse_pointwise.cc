#include "graph/compile/fuse_pointwise.h"

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>

#include "base/thread_pool.h"

namespace tg::compile {
namespace {

int64_t Elements(const Operand& o) { return o.bytes / static_cast<int64_t>(SizeOf(o.dtype)); }

bool HasTile(const Step& s) {
  if (s.op == nullptr || !s.fused.empty() || !s.op->pointwise) return false;
  switch (s.output.dtype) {
    case DType::kF32: return s.op->pointwise.f32 != nullptr;
    case DType::kF64: return s.op->pointwise.f64 != nullptr;
    case DType::kI32: return false;
  }
  return false;
}

// Pointwise over operands of the output's shape and dtype (tiles know no broadcasting). An
// op drawing random numbers stays on its own: a tile sees no element index to draw by, and
// a run re-seeds only whole steps (OpDef::seed_attr).
bool Fusable(const Step& s) {
  if (!HasTile(s) || s.op->seed_attr >= 0 || s.inputs.size() > kMaxTileInputs) return false;
  if (Elements(s.output) > kMaxFusedElements) return false;
  return std::all_of(s.inputs.begin(), s.inputs.end(), [&](const Operand& o) {
    return o.shape == s.output.shape && o.dtype == s.output.dtype;
  });
}

// The bytes an operand covers, comparable within one space.
struct ByteSpan {
  Space space;
  int64_t begin, end;
};
ByteSpan SpanOf(const Operand& o) { return {o.space, o.offset, o.offset + o.bytes}; }

// The byte ranges a run touches; a new member may share a range only exactly.
class RunMemory {
 public:
  bool Admits(const Step& s) const {
    auto ok = [&](const Operand& o) {
      const ByteSpan r = SpanOf(o);
      return std::all_of(spans_.begin(), spans_.end(), [&](const ByteSpan& q) {
        const bool overlap = r.space == q.space && r.begin < q.end && q.begin < r.end;
        return !overlap || (r.begin == q.begin && r.end == q.end);
      });
    };
    return ok(s.output) && std::all_of(s.inputs.begin(), s.inputs.end(), ok);
  }
  void Add(const Step& s) {
    spans_.push_back(SpanOf(s.output));
    for (const Operand& o : s.inputs) spans_.push_back(SpanOf(o));
  }
  void Clear() { spans_.clear(); }

 private:
  std::vector<ByteSpan> spans_;
};

// Elements per chunk: 256 f64 or 512 f32, 2 KB per operand, so a run's operands stay in L1.
template <class T>
constexpr int64_t kChunk = 2048 / sizeof(T);

template <class T>
T* Data(const Bases& bases, const Operand& o) {
  return reinterpret_cast<T*>(bases.Address(o));
}

// Runs every member's tile over elements [begin, end), chunk by chunk.
template <class T>
void RunChunks(const Step& fused, const Bases& bases, const Attrs* attrs, int64_t begin,
               int64_t end) {
  std::array<const T*, kMaxTileInputs> args;
  for (; begin < end; begin += kChunk<T>) {
    const int64_t len = std::min(kChunk<T>, end - begin);
    for (const Step& m : fused.fused) {
      for (size_t i = 0; i < m.inputs.size(); ++i) args[i] = Data<T>(bases, m.inputs[i]) + begin;
      TileFn<T> tile;
      if constexpr (std::is_same_v<T, float>) {
        tile = m.op->pointwise.f32;
      } else {
        tile = m.op->pointwise.f64;
      }
      tile(absl::MakeConstSpan(args.data(), m.inputs.size()), Data<T>(bases, m.output) + begin,
           len, attrs[m.attrs], m.accumulate);
    }
  }
}

// Splits the chunks into a few contiguous ranges per thread (claimed dynamically, so a late
// worker costs only its share) once the run's work pays for waking the pool. A chunk is
// the same whoever runs it, so results do not depend on the thread count.
template <class T>
void RunSplit(const Step& fused, const Bases& bases, const Attrs* attrs, int threads) {
  const int64_t n = Elements(fused.output);
  const int64_t chunks = (n + kChunk<T> - 1) / kChunk<T>;
  const int64_t work = n * static_cast<int64_t>(fused.fused.size());
  const int64_t ranges = std::min<int64_t>(chunks, 2 * int64_t{threads});
  if (threads <= 1 || ranges < 2 || work < kParallelFusedWork) {
    return RunChunks<T>(fused, bases, attrs, 0, n);
  }
  const int64_t per_range = (chunks + ranges - 1) / ranges * kChunk<T>;
  ThreadPool::Shared().ParallelFor(static_cast<int>(ranges), threads, [&](int r) {
    RunChunks<T>(fused, bases, attrs, r * per_range, std::min(n, (r + 1) * per_range));
  });
}

}  // namespace

std::vector<Step> FusePointwise(std::vector<Step> steps) {
  std::vector<Step> out;
  out.reserve(steps.size());
  std::vector<Step> run;
  RunMemory memory;
  auto flush = [&]() {
    if (run.size() == 1) {
      out.push_back(std::move(run[0]));
    } else if (run.size() > 1) {
      Step& fused = out.emplace_back();
      fused.output = run[0].output;
      fused.node = run[0].node;
      fused.fused = std::move(run);
    }
    run.clear();
    memory.Clear();
  };
  for (Step& s : steps) {
    const bool fusable = Fusable(s);
    const bool joins = fusable && !run.empty() &&
                       Elements(s.output) == Elements(run[0].output) &&
                       s.output.dtype == run[0].output.dtype && memory.Admits(s);
    if (!joins) flush();
    if (fusable) {
      memory.Add(s);
      run.push_back(std::move(s));
    } else {
      out.push_back(std::move(s));
    }
  }
  flush();
  return out;
}

void RunFused(const Step& fused, const Bases& bases, const Attrs* attrs, int threads) {
  if (fused.output.dtype == DType::kF32) {
    RunSplit<float>(fused, bases, attrs, threads);
  } else {
    RunSplit<double>(fused, bases, attrs, threads);
  }
}

}  // namespace tg::compile
