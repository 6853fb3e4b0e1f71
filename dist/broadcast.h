// Bytes between ranks: rank 0's to every rank (e.g. a file only rank 0 reads), or every
// rank's to every rank (e.g. each rank's share of a state that rank 0 saves).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "dist/communicator.h"

namespace tg {

// Replaces `value` on every rank by rank 0's (any length; one collective under the deadline).
absl::Status BroadcastString(Communicator& comm, std::string& value);

// Every rank's `mine`, indexed by rank (lengths may differ; one collective under the
// deadline, which ends the job when a rank does not reply).
std::vector<std::string> AllGatherString(Communicator& comm, std::string_view mine);

}  // namespace tg
