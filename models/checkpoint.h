/// \file
/// Checkpoints: a ParameterStore (and optionally an optimizer's state) as one safetensors
/// file. Parameter keys are the store's names, which equal PyTorch state_dict keys by
/// construction; optimizer tensors go under their "optimizer." names, which the Python side
/// drops before load_state_dict.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "graph/parameter.h"
#include "models/optimizer.h"
#include "models/safetensors.h"

namespace tg {

/// Saves every parameter's value (in its own dtype) and, given an optimizer, every tensor of
/// optimizer->StateTensors(). The write is atomic (see WriteSafetensors): a failed or
/// interrupted save leaves a previous checkpoint at `path` intact.
absl::Status SaveCheckpoint(const std::string& path, const ParameterStore& store,
                            Optimizer* optimizer = nullptr);

/// Loads `path` into `store` (and `optimizer`), all or nothing: the file is read and checked
/// in full before anything is written. Errors name the path and, for a malformed file, the
/// byte offset. Strict, like load_state_dict: every parameter must be in the file with the
/// same shape (f32 and f64 convert into each other; i32 does not), and every key in the file
/// must belong to the model. "optimizer.*" keys are ignored when `optimizer` is null;
/// otherwise each of its StateTensors() must be present with the same element count.
absl::Status LoadCheckpoint(const std::string& path, ParameterStore& store,
                            Optimizer* optimizer = nullptr);

}  // namespace tg
