#include "dist/exchange.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_join.h"
#include "fmt/format.h"

namespace tg::dist_internal {
namespace {

// MPI counts are ints: longer byte ranges go as several messages of at most this.
constexpr size_t kMaxMessage = size_t{1} << 30;

}  // namespace

int Tag(int64_t operation, int phase) {
  // MPI guarantees tags up to 32767; 8192 operations apart is far beyond any overlap.
  return static_cast<int>(operation % 8192) * 4 + phase;
}

uint64_t Fnv1a(const void* data, size_t bytes, uint64_t hash) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) {
    hash ^= p[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string RankList(const std::vector<int>& ranks) {
  return fmt::format("{} {}", ranks.size() == 1 ? "rank" : "ranks", absl::StrJoin(ranks, ", "));
}

std::vector<std::string> AllGatherBytes(Communicator& comm, int64_t operation,
                                        std::string_view mine) {
  const int n = comm.size(), me = comm.rank();
  std::vector<uint64_t> lengths(n);
  lengths[me] = mine.size();
  std::vector<MPI_Request> requests;
  std::vector<int> peers;
  auto exchange = [&](auto post) {
    requests.clear();
    peers.clear();
    for (int peer = 0; peer < n; ++peer) {
      if (peer == me) continue;
      requests.emplace_back();
      peers.push_back(peer);
      post(peer, /*receive=*/true, &requests.back());
      requests.emplace_back();
      peers.push_back(peer);
      post(peer, /*receive=*/false, &requests.back());
    }
    comm.WaitAll(requests, peers);
  };
  exchange([&](int peer, bool receive, MPI_Request* r) {
    const int rc = receive ? MPI_Irecv(&lengths[peer], 1, MPI_UINT64_T, peer, Tag(operation, 0), comm.comm(), r)
                           : MPI_Isend(&lengths[me], 1, MPI_UINT64_T, peer, Tag(operation, 0), comm.comm(), r);
    if (rc != MPI_SUCCESS) comm.FailMpi(receive ? "MPI_Irecv" : "MPI_Isend", rc);
  });
  std::vector<std::string> all(n);
  for (int peer = 0; peer < n; ++peer) {
    if (lengths[peer] > kMaxMessage) {
      comm.Abort(fmt::format("rank {} gathers {} bytes, more than one message takes", peer, lengths[peer]));
    }
    all[peer].resize(lengths[peer]);
  }
  all[me] = std::string(mine);
  exchange([&](int peer, bool receive, MPI_Request* r) {
    const int rc = receive ? MPI_Irecv(all[peer].data(), static_cast<int>(lengths[peer]), MPI_BYTE, peer,
                                       Tag(operation, 1), comm.comm(), r)
                           : MPI_Isend(mine.data(), static_cast<int>(mine.size()), MPI_BYTE, peer,
                                       Tag(operation, 1), comm.comm(), r);
    if (rc != MPI_SUCCESS) comm.FailMpi(receive ? "MPI_Irecv" : "MPI_Isend", rc);
  });
  return all;
}

absl::Status BroadcastBytes(Communicator& comm, int64_t operation, std::byte* data, size_t bytes,
                            int root) {
  const int n = comm.size(), me = comm.rank();
  if (n == 1) return absl::OkStatus();
  std::vector<MPI_Request> requests;
  std::vector<int> peers;
  // The length first, so that a rank expecting another length fails with both named.
  uint64_t length = bytes;
  for (int peer = 0; peer < n; ++peer) {
    if (peer == me || (me != root && peer != root)) continue;
    requests.emplace_back();
    peers.push_back(peer);
    const int rc = me == root
        ? MPI_Isend(&length, 1, MPI_UINT64_T, peer, Tag(operation, 2), comm.comm(), &requests.back())
        : MPI_Irecv(&length, 1, MPI_UINT64_T, peer, Tag(operation, 2), comm.comm(), &requests.back());
    if (rc != MPI_SUCCESS) comm.FailMpi("MPI_Isend/MPI_Irecv", rc);
  }
  comm.WaitAll(requests, peers);
  if (length != bytes) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: rank {} sends {} bytes, rank {} expects {}", comm.LastOperation(), root, length, me, bytes));
  }
  requests.clear();
  peers.clear();
  for (size_t offset = 0; offset < bytes; offset += kMaxMessage) {
    const int count = static_cast<int>(std::min(kMaxMessage, bytes - offset));
    for (int peer = 0; peer < n; ++peer) {
      if (peer == me || (me != root && peer != root)) continue;
      requests.emplace_back();
      peers.push_back(peer);
      const int rc = me == root
          ? MPI_Isend(data + offset, count, MPI_BYTE, peer, Tag(operation, 3), comm.comm(), &requests.back())
          : MPI_Irecv(data + offset, count, MPI_BYTE, peer, Tag(operation, 3), comm.comm(), &requests.back());
      if (rc != MPI_SUCCESS) comm.FailMpi("MPI_Isend/MPI_Irecv", rc);
    }
  }
  comm.WaitAll(requests, peers);
  return absl::OkStatus();
}

}  // namespace tg::dist_internal
