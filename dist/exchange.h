// The point-to-point exchanges dist/'s collectives are built from. Each runs inside an
// operation the caller began (Communicator::BeginOperation) and waits under its deadline.
// Every message is an MPI_Isend/MPI_Irecv with a named peer, so a rank that times out knows
// exactly whose messages it lacks: the missing receives are the record of who arrived.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "dist/communicator.h"

namespace tg::dist_internal {

// The tag of message `phase` (0..3) of operation k: consecutive operations never share one.
int Tag(int64_t operation, int phase);

// FNV-1a over bytes, continuing from `hash` (64-bit; seeds with the FNV offset basis).
uint64_t Fnv1a(const void* data, size_t bytes, uint64_t hash = 0xcbf29ce484222325ULL);

// Every rank's `mine`, indexed by rank (lengths may differ), in operation k.
std::vector<std::string> AllGatherBytes(Communicator& comm, int64_t operation, std::string_view mine);

// `bytes` bytes at `data` copied from `root` to every rank, in operation k. The lengths must
// agree: a rank given another length gets InvalidArgument naming both (the root never fails).
absl::Status BroadcastBytes(Communicator& comm, int64_t operation, std::byte* data, size_t bytes,
                            int root);

// "ranks 1, 3" or "rank 2".
std::string RankList(const std::vector<int>& ranks);

}  // namespace tg::dist_internal
