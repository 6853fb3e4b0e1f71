// Keeping the ranks' models the same: one model everywhere (CheckSameModel), rank 0's values
// everywhere (BroadcastParameters, BroadcastTensors), and a bitwise check that the values
// stayed equal (CheckParametersEqual). Each is one collective under the communicator's
// deadline; every rank gets the same Status.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "dist/communicator.h"
#include "graph/parameter.h"
#include "graph/tensor.h"

namespace tg {

// Compares the parameter lists of every rank: names, shapes, dtypes and frozen flags, in
// creation order. On a difference every rank returns FailedPrecondition naming the first
// parameter that differs, what rank 0 has and what the differing ranks have, e.g.
// "CheckSameModel: parameter 2 differs: rank 0 has 'w' [3,6] f64; rank 1 has 'w' [3,7] f64".
absl::Status CheckSameModel(Communicator& comm, const ParameterStore& store);

// Copies rank 0's parameter values (frozen ones too) to every rank, after checking
// CheckSameModel (whose error it returns).
absl::Status BroadcastParameters(Communicator& comm, ParameterStore& store);

// Copies rank 0's tensors to every rank (for example an optimizer's StateTensors() after rank 0
// loaded a checkpoint). The lists must agree in names, shapes and dtypes, else every rank
// returns FailedPrecondition naming the first difference.
absl::Status BroadcastTensors(Communicator& comm,
                              absl::Span<const std::pair<std::string, Tensor>> tensors);

// Whether every rank holds bitwise the same values for `params` (hashes compared). Otherwise
// every rank returns DataLoss naming the first parameter that differs and the ranks whose
// values differ from rank 0's.
absl::Status CheckParametersEqual(Communicator& comm, absl::Span<const Parameter> params);
// CheckParametersEqual over every parameter of the store.
absl::Status CheckParametersEqual(Communicator& comm, const ParameterStore& store);

}  // namespace tg
