#include "dist/parameters.h"

#include <cstring>
#include <map>

#include "dist/exchange.h"
#include "fmt/format.h"

namespace tg {
namespace {

using dist_internal::AllGatherBytes;
using dist_internal::Fnv1a;
using dist_internal::RankList;

std::string Describe(const std::string& name, const Shape& shape, DType dtype, bool frozen) {
  return fmt::format("'{}' {} {}{}", name, shape.ToString(), dtype, frozen ? " (frozen)" : "");
}

std::vector<std::string> DescribeStore(const ParameterStore& store) {
  std::vector<std::string> out;
  for (const Parameter& p : store.parameters()) {
    out.push_back(Describe(p.name(), p.shape(), p.dtype(), p.frozen()));
  }
  return out;
}

// Length-prefixed entries, so that any name survives the trip.
std::string Serialize(const std::vector<std::string>& entries) {
  std::string out;
  for (const std::string& e : entries) {
    const uint64_t n = e.size();
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out += e;
  }
  return out;
}

std::vector<std::string> Deserialize(const std::string& bytes) {
  std::vector<std::string> out;
  for (size_t at = 0; at + sizeof(uint64_t) <= bytes.size();) {
    uint64_t n = 0;
    std::memcpy(&n, bytes.data() + at, sizeof n);
    at += sizeof n;
    out.push_back(bytes.substr(at, n));
    at += n;
  }
  return out;
}

std::string Hash(const std::string& bytes) {
  const uint64_t h = Fnv1a(bytes.data(), bytes.size());
  return std::string(reinterpret_cast<const char*>(&h), sizeof h);
}

// What `rank` has at entry i: its description, or that it has none.
std::string Entry(const std::vector<std::string>& list, size_t i, std::string_view noun) {
  if (i < list.size()) return list[i];
  return fmt::format("no {} {} (it has {})", noun, i + 1, list.size());
}

// Every rank's list of descriptions compared; every rank returns the same Status, naming the
// first entry where some rank differs from rank 0.
absl::Status CheckSameLists(Communicator& comm, int64_t operation, std::string_view noun,
                            const std::vector<std::string>& mine) {
  if (comm.size() == 1) return absl::OkStatus();
  const std::string bytes = Serialize(mine);
  const std::vector<std::string> hashes = AllGatherBytes(comm, operation, Hash(bytes));
  bool same = true;
  for (const std::string& h : hashes) same = same && h == hashes[0];
  if (same) return absl::OkStatus();
  // Some list differs (every rank saw the same hashes, so every rank is here): the details.
  std::vector<std::vector<std::string>> lists;
  for (const std::string& b : AllGatherBytes(comm, operation, bytes)) lists.push_back(Deserialize(b));
  size_t longest = 0;
  for (const auto& l : lists) longest = std::max(longest, l.size());
  for (size_t i = 0; i < longest; ++i) {
    const std::string reference = Entry(lists[0], i, noun);
    std::map<std::string, std::vector<int>> others;  // what the differing ranks have
    for (int r = 1; r < comm.size(); ++r) {
      if (std::string e = Entry(lists[r], i, noun); e != reference) others[e].push_back(r);
    }
    if (others.empty()) continue;
    std::string message = fmt::format("{}: {} {} differs: rank 0 has {}", comm.LastOperation(),
                                      noun, i + 1, reference);
    for (const auto& [entry, ranks] : others) {
      message += fmt::format("; {} {} {}", RankList(ranks), ranks.size() == 1 ? "has" : "have", entry);
    }
    return absl::FailedPreconditionError(message);
  }
  return absl::OkStatus();  // unreachable unless two lists collide in the hash
}

// Packs or unpacks tensors' bytes into one buffer.
void Pack(absl::Span<const Tensor> tensors, std::byte* to) {
  for (const Tensor& t : tensors) {
    std::memcpy(to, t.raw(), t.num_bytes());
    to += t.num_bytes();
  }
}
void Unpack(const std::byte* from, absl::Span<const Tensor> tensors) {
  for (const Tensor& t : tensors) {
    std::memcpy(t.raw(), from, t.num_bytes());
    from += t.num_bytes();
  }
}

absl::Status Broadcast(Communicator& comm, int64_t operation, const std::vector<Tensor>& tensors) {
  size_t bytes = 0;
  for (const Tensor& t : tensors) bytes += t.num_bytes();
  std::byte* buffer = comm.Workspace(0, bytes);
  if (comm.is_root()) Pack(tensors, buffer);
  if (absl::Status s = dist_internal::BroadcastBytes(comm, operation, buffer, bytes, 0); !s.ok()) return s;
  if (!comm.is_root()) Unpack(buffer, tensors);
  return absl::OkStatus();
}

// Runs one collective as an operation of the communicator.
template <class F>
absl::Status AsOperation(Communicator& comm, std::string_view name, F body) {
  const int64_t k = comm.BeginOperation(name);
  absl::Status s = body(k);
  comm.EndOperation();
  return s;
}

}  // namespace

absl::Status CheckSameModel(Communicator& comm, const ParameterStore& store) {
  return AsOperation(comm, "CheckSameModel", [&](int64_t k) {
    return CheckSameLists(comm, k, "parameter", DescribeStore(store));
  });
}

absl::Status BroadcastParameters(Communicator& comm, ParameterStore& store) {
  return AsOperation(comm, "BroadcastParameters", [&](int64_t k) -> absl::Status {
    if (absl::Status s = CheckSameLists(comm, k, "parameter", DescribeStore(store)); !s.ok()) return s;
    std::vector<Tensor> values;
    for (const Parameter& p : store.parameters()) values.push_back(p.value());
    return Broadcast(comm, k, values);
  });
}

absl::Status BroadcastTensors(Communicator& comm,
                              absl::Span<const std::pair<std::string, Tensor>> tensors) {
  return AsOperation(comm, "BroadcastTensors", [&](int64_t k) -> absl::Status {
    std::vector<std::string> descriptions;
    std::vector<Tensor> values;
    for (const auto& [name, t] : tensors) {
      descriptions.push_back(Describe(name, t.shape(), t.dtype(), false));
      values.push_back(t);
    }
    if (absl::Status s = CheckSameLists(comm, k, "tensor", descriptions); !s.ok()) return s;
    return Broadcast(comm, k, values);
  });
}

absl::Status CheckParametersEqual(Communicator& comm, absl::Span<const Parameter> params) {
  return AsOperation(comm, "CheckParametersEqual", [&](int64_t k) -> absl::Status {
    std::string hashes;
    for (const Parameter& p : params) {
      const uint64_t h = Fnv1a(p.value().raw(), p.value().num_bytes());
      hashes.append(reinterpret_cast<const char*>(&h), sizeof h);
    }
    const std::vector<std::string> all = AllGatherBytes(comm, k, hashes);
    std::vector<int> other_count;
    for (int r = 1; r < comm.size(); ++r) {
      if (all[r].size() != all[0].size()) other_count.push_back(r);
    }
    if (!other_count.empty()) {
      return absl::FailedPreconditionError(fmt::format(
          "{}: {} {} another number of parameters than rank 0's {}", comm.LastOperation(),
          RankList(other_count), other_count.size() == 1 ? "has" : "have",
          all[0].size() / sizeof(uint64_t)));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      std::vector<int> differ;
      for (int r = 1; r < comm.size(); ++r) {
        if (all[r].compare(i * sizeof(uint64_t), sizeof(uint64_t), all[0], i * sizeof(uint64_t),
                           sizeof(uint64_t)) != 0) {
          differ.push_back(r);
        }
      }
      if (!differ.empty()) {
        return absl::DataLossError(fmt::format(
            "{}: the values of parameter '{}' on {} differ from rank 0's", comm.LastOperation(),
            params[i].name(), RankList(differ)));
      }
    }
    return absl::OkStatus();
  });
}

absl::Status CheckParametersEqual(Communicator& comm, const ParameterStore& store) {
  const std::vector<Parameter> params = store.parameters();
  return CheckParametersEqual(comm, absl::Span<const Parameter>(params));
}

}  // namespace tg
