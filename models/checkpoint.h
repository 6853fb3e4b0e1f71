/// \file
/// Checkpoints: a ParameterStore (and optionally an optimizer's state) as one safetensors
/// file. Parameter keys are the store's names, which equal PyTorch state_dict keys by
/// construction; optimizer tensors go under their "optimizer." names, which the Python side
/// drops before load_state_dict. A training loop's own state (carried recurrent state,
/// random stream positions, settings) rides along as "extra." tensors and "__metadata__"
/// strings, so that one file -- written atomically -- holds everything needed to resume.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "graph/parameter.h"
#include "models/optimizer.h"
#include "models/safetensors.h"

namespace tg {

/// The name prefix of a caller's own tensors in a checkpoint (the Python side drops them).
inline constexpr std::string_view kCheckpointExtraPrefix = "extra.";

/// What a caller saves beside the parameters and optimizer state.
struct CheckpointExtras {
  /// "__metadata__" entries (string to string, as the safetensors format has it); "format"
  /// and "version" are the library's own and refused here.
  std::map<std::string, std::string> metadata = {};
  /// Tensors whose names begin with kCheckpointExtraPrefix.
  std::vector<NamedTensorView> tensors = {};
};

/// What LoadCheckpoint read beside the parameters and optimizer state.
struct LoadedExtras {
  std::map<std::string, std::string> metadata;  ///< the whole "__metadata__" map
  std::vector<NamedTensor> tensors;             ///< every "extra." tensor, in file order
};

/// Saves every parameter's value (in its own dtype), given an optimizer every tensor of
/// optimizer->StateTensors(), and `extras`. The write is atomic (see WriteSafetensors): a
/// failed or interrupted save, even a killed process, leaves a previous checkpoint at `path`
/// intact.
absl::Status SaveCheckpoint(const std::string& path, const ParameterStore& store,
                            Optimizer* optimizer = nullptr, const CheckpointExtras& extras = {});

/// Loads `path` into `store` (and `optimizer`), all or nothing: the file is read and checked
/// in full before anything is written. Errors name the path and, for a malformed file, the
/// byte offset. Strict, like load_state_dict: every parameter must be in the file with the
/// same shape (f32 and f64 convert into each other; i32 does not), and every key in the file
/// must belong to the model. "optimizer.*" keys are ignored when `optimizer` is null;
/// otherwise each of its StateTensors() must be present with the same element count.
/// "extra.*" tensors are ignored when `extras` is null; otherwise they and the metadata are
/// returned there (the caller checks them), also only when everything else loads.
absl::Status LoadCheckpoint(const std::string& path, ParameterStore& store,
                            Optimizer* optimizer = nullptr, LoadedExtras* extras = nullptr);

/// The "__metadata__" map of a checkpoint alone (settings a caller needs before it can build
/// the model that LoadCheckpoint fills). Errors as ReadSafetensors's.
absl::StatusOr<std::map<std::string, std::string>> ReadCheckpointMetadata(
    const std::string& path);

}  // namespace tg
