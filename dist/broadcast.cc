#include "dist/broadcast.h"

#include <cstdint>

#include "dist/exchange.h"

namespace tg {

absl::Status BroadcastString(Communicator& comm, std::string& value) {
  const int64_t k = comm.BeginOperation("BroadcastString");
  uint64_t length = value.size();
  absl::Status s = dist_internal::BroadcastBytes(comm, k, reinterpret_cast<std::byte*>(&length),
                                                 sizeof length, 0);
  if (s.ok()) {
    value.resize(length);
    s = dist_internal::BroadcastBytes(comm, k, reinterpret_cast<std::byte*>(value.data()), length, 0);
  }
  comm.EndOperation();
  return s;
}

std::vector<std::string> AllGatherString(Communicator& comm, std::string_view mine) {
  const int64_t k = comm.BeginOperation("AllGatherString");
  std::vector<std::string> all = dist_internal::AllGatherBytes(comm, k, mine);
  comm.EndOperation();
  return all;
}

}  // namespace tg
