// char_lm's checkpoint: one safetensors file holding the parameters, the optimizer's state
// (Adam's moments and step count, which is also the data position, and the weight average),
// the run info (run_info.h) and the TrainingState below, so that a run resumed from it
// continues bit for bit as the run that saved it would have.
//
// Beside run_info.h's entries, the file holds the metadata "char_lm.dropout_rng",
// "char_lm.compiled_runs" (only when the saving run was compiled) and
// "char_lm.last_train_loss", and the tensors "extra.carried.l<layer>.h" and
// "extra.carried.l<layer>.c" (f32 [batch, hidden]; c only for cells that have it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "examples/char_lm/run_info.h"
#include "graph/parameter.h"
#include "models/optimizer.h"
#include "models/unroll.h"

namespace tg::examples {

// What shapes a run's future beyond the weights and the optimizer's state.
struct TrainingState {
  // Per layer, the recurrent state every stream carries into the next update; empty: the
  // next update starts every stream from zero state.
  std::vector<HostState> carried = {};
  // The eager dropout stream's position (Rng::SaveState); empty: not saved (a two-file
  // checkpoint), the stream starts from its seed.
  std::string dropout_rng = "";
  // How many times the compiled update has run (CompiledGraph::run_count): the position of
  // its dropout streams. Unset: the saving run was not compiled.
  std::optional<uint64_t> compiled_runs = std::nullopt;
  // The last update's training loss (nats), which the learning curve's next row reports.
  double last_train_loss = 0;
};

// Writes the checkpoint atomically (models/checkpoint.h): a failed or killed save leaves
// the previous file at `path`. Removes a <path>.json left by the two-file layout.
absl::Status SaveCharCheckpoint(const std::string& path, const ParameterStore& store,
                                Optimizer& optimizer, const RunInfo& info,
                                const TrainingState& state);

// Loads `path` into `store` and `optimizer` (all or nothing) and returns its training
// state: a default one for a two-file checkpoint. Errors name the file and the entry.
absl::StatusOr<TrainingState> LoadCharCheckpoint(const std::string& path, ParameterStore& store,
                                                 Optimizer& optimizer);

// Whether `carried` fits a model whose zero state for the batch is `zero` (one State per
// layer): the same layers, parts and shapes. The error names the checkpoint and tensor.
absl::Status CheckCarriedState(const std::vector<HostState>& carried,
                               const std::vector<State>& zero, const std::string& path);

// The current values of the flags that shape training (name to value, as a command line
// would give it), for RunInfo::flags.
std::map<std::string, std::string> TrainingFlags();

// The flags, among those the carried state depends on (--batch, --seq, --shift_epochs,
// --seed, --valid_fraction, --data), whose current values differ from `saved`, as
// "--batch=16 (the checkpoint's: 8)"; empty when none does or `saved` has none.
std::vector<std::string> ChangedStreamFlags(const std::map<std::string, std::string>& saved);

}  // namespace tg::examples
