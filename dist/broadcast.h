// Rank 0's bytes to every rank, e.g. a file only rank 0 can read.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "dist/communicator.h"

namespace tg {

// Replaces `value` on every rank by rank 0's (any length; one collective under the deadline).
absl::Status BroadcastString(Communicator& comm, std::string& value);

}  // namespace tg
