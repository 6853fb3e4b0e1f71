// One training update of the char model (forward, loss, backward) as a compiled program:
// recorded once, then replayed with each chunk's characters and the state carried from the
// chunk before. Gradients land in the parameter store as in eager mode.
//
// With replicas > 1 the batch's streams are split into that many slices, each its own
// program with private gradients, run at once one thread each and summed by share
// (graph/compile/replicas.h): the same update, without synchronising threads at every op.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "examples/char_lm/model.h"
#include "graph/compile/compiled_graph.h"
#include "models/unroll.h"

namespace tg::examples {

class CompiledUpdate {
 public:
  // `dot_path` non-empty: also writes one step of the first layer and its backward as DOT.
  // `dropout_rng` seeds the recorded dropout ops; every Run draws new masks from those seeds.
  // With one replica, `threads` share each op; with more, each replica runs on one thread,
  // `threads` of them at a time. The update trains on streams [first, first + streams) of
  // each chunk of `batch` streams (all of them in one process; its share on one of N ranks),
  // and its loss and gradients are means over those streams.
  // `recompute_every` > 0: the state of every layer is a checkpoint every that many steps and
  // the program recomputes the steps between during backward (CompileSpec::recompute).
  static absl::StatusOr<CompiledUpdate> Create(const CharModel& model, int64_t steps,
                                               int64_t batch, int64_t first, int64_t streams,
                                               int threads, int replicas, int64_t recompute_every,
                                               const std::string& dot_path, Rng& dropout_rng);
  // ids and targets: [steps * batch], time-major. Returns the mean cross-entropy (nats) over
  // this update's streams.
  absl::StatusOr<double> Run(absl::Span<const int32_t> ids, absl::Span<const int32_t> targets);
  // The next Run starts from zero state (a new pass over the text).
  void ResetState();
  // Per layer, the state this update's streams carry into the next Run: [streams, hidden] h
  // (and c), the streams in order whatever the replicas.
  std::vector<HostState> CarriedState() const;
  // The next Run continues from `state` (as CarriedState returns it); InvalidArgument if
  // its layers or shapes differ.
  absl::Status SetCarriedState(const std::vector<HostState>& state);
  // Runs so far, the position of the dropout streams (CompiledGraph::run_count); set it to
  // continue a saved run's masks in a program recorded with the same seeds.
  uint64_t run_count() const { return replicas_[0].program.run_count(); }
  void set_run_count(uint64_t runs);

  // The first replica's program (all replicas have the same kernels).
  const CompiledGraph& program() const { return replicas_[0].program; }
  int num_replicas() const { return static_cast<int>(replicas_.size()); }

 private:
  // One slice of the update's streams: streams [begin, begin + batch) of each chunk.
  struct Replica {
    CompiledGraph program;
    int64_t begin = 0, batch = 0;
    double share = 1;  // batch / the update's streams: the loss is a mean over all of them
    std::vector<std::vector<float>> state;  // h (and c) of each layer, carried between runs
    std::vector<Shape> state_shapes;
    std::vector<int> layer_parts;  // per layer, how many of `state` it has: 1 (h) or 2 (h, c)
    std::vector<int32_t> ids, targets;  // this slice's columns of the chunk
    std::vector<Tensor> Feeds();
    void CarryState();
  };
  static absl::StatusOr<Replica> Record(const CharModel& model, int64_t steps, int64_t begin,
                                        int64_t batch, int threads, bool private_gradients,
                                        int64_t recompute_every, const std::string& dot_path,
                                        Rng& dropout_rng);

  int64_t steps_ = 0, batch_ = 0;
  int64_t first_ = 0, streams_ = 0;  // this update's streams of each chunk
  int threads_ = 1;
  std::vector<Replica> replicas_;
};

}  // namespace tg::examples
