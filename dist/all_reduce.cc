#include "dist/all_reduce.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "dist/exchange.h"
#include "dist/parameters.h"
#include "fmt/format.h"

namespace tg {
namespace {

using dist_internal::Fnv1a;
using dist_internal::RankList;
using dist_internal::Tag;

// Buckets larger than this would overflow MPI's int counts once cut into chunks.
constexpr size_t kMaxBucketBytes = size_t{1} << 30;

// Contiguous values of one dtype: read from `src`, their mean written to `dst` (may alias).
struct Segment {
  const std::byte* src;
  std::byte* dst;
  int64_t count;  // elements
};

// All the segments of one dtype, back to back: the flat array the buckets cut.
struct Stream {
  DType dtype;
  std::vector<Segment> segments;
  std::vector<int64_t> starts;  // element offset of each segment
  int64_t total = 0;

  void Add(const void* src, void* dst, int64_t count) {
    segments.push_back({static_cast<const std::byte*>(src), static_cast<std::byte*>(dst), count});
    starts.push_back(total);
    total += count;
  }
  // Calls f(segment, first element in it, elements) for the pieces of [begin, end).
  template <class F>
  void ForRange(int64_t begin, int64_t end, F f) const {
    size_t s = std::upper_bound(starts.begin(), starts.end(), begin) - starts.begin() - 1;
    for (int64_t at = begin; at < end; ++s) {
      const int64_t offset = at - starts[s];
      const int64_t n = std::min(end, starts[s] + segments[s].count) - at;
      if (n > 0) f(segments[s], offset, n);
      at += std::max<int64_t>(n, 0);
    }
  }
  void Read(int64_t begin, int64_t end, std::byte* out) const {
    const size_t es = SizeOf(dtype);
    ForRange(begin, end, [&](const Segment& seg, int64_t offset, int64_t n) {
      std::memcpy(out, seg.src + offset * es, n * es);
      out += n * es;
    });
  }
  void Write(int64_t begin, int64_t end, const std::byte* in) const {
    const size_t es = SizeOf(dtype);
    ForRange(begin, end, [&](const Segment& seg, int64_t offset, int64_t n) {
      std::memcpy(seg.dst + offset * es, in, n * es);
      in += n * es;
    });
  }
};

// Leads every chunk of the first exchange: ranks that disagree on the layout find out at
// once instead of adding mismatched values.
struct Header {
  uint64_t layout;
  uint64_t bucket;
};

struct Bucket {
  const Stream* stream;
  int64_t begin, end;  // elements of the stream
};

uint64_t LayoutHash(const std::vector<Stream>& streams, size_t bucket_bytes, size_t riders) {
  uint64_t h = Fnv1a(&bucket_bytes, sizeof bucket_bytes);
  h = Fnv1a(&riders, sizeof riders, h);
  for (const Stream& s : streams) {
    h = Fnv1a(&s.dtype, sizeof s.dtype, h);
    for (const Segment& seg : s.segments) h = Fnv1a(&seg.count, sizeof seg.count, h);
  }
  return h;
}

// out[i] = ((chunk_0[i] + chunk_1[i]) + ... + chunk_{P-1}[i]) / P: rank order, always.
// Each rank's chunk starts `head` bytes into its region of `received`.
template <class T>
void SumInRankOrder(const std::byte* received, size_t region, size_t head, int ranks,
                    int64_t count, std::byte* out_bytes) {
  T* out = reinterpret_cast<T*>(out_bytes);
  const T* first = reinterpret_cast<const T*>(received + head);
  std::copy_n(first, count, out);
  for (int q = 1; q < ranks; ++q) {
    const T* in = reinterpret_cast<const T*>(received + q * region + head);
    for (int64_t i = 0; i < count; ++i) out[i] += in[i];
  }
  const T n = static_cast<T>(ranks);
  for (int64_t i = 0; i < count; ++i) out[i] /= n;
}

void Post(Communicator& comm, bool receive, std::byte* data, size_t bytes, int peer, int tag,
          std::vector<MPI_Request>& requests, std::vector<int>& peers) {
  requests.emplace_back();
  peers.push_back(peer);
  const int count = static_cast<int>(bytes);
  const int rc = receive ? MPI_Irecv(data, count, MPI_BYTE, peer, tag, comm.comm(), &requests.back())
                         : MPI_Isend(data, count, MPI_BYTE, peer, tag, comm.comm(), &requests.back());
  if (rc != MPI_SUCCESS) comm.FailMpi(receive ? "MPI_Irecv" : "MPI_Isend", rc);
}

// One bucket: reduce-scatter in rank order, then all-gather. Fails when a rank's chunk
// announces another layout. `riders` (the first bucket's) travel after the header of every
// chunk, and every rank sums all ranks' copies in rank order itself.
absl::Status ReduceBucket(Communicator& comm, int64_t operation, const Bucket& bucket,
                          uint64_t bucket_index, uint64_t layout, absl::Span<double> riders) {
  const int ranks = comm.size(), me = comm.rank();
  const size_t es = SizeOf(bucket.stream->dtype);
  const int64_t n = bucket.end - bucket.begin;
  const int64_t chunk = (n + ranks - 1) / ranks;  // elements; the last chunks are padded
  const size_t head = sizeof(Header) + riders.size() * sizeof(double);  // before the values
  const size_t chunk_bytes = chunk * es, region = head + chunk_bytes;
  std::byte* send = comm.Workspace(0, ranks * region);
  std::byte* received = comm.Workspace(1, ranks * region);
  std::byte* gathered = comm.Workspace(2, ranks * chunk_bytes);
  for (int j = 0; j < ranks; ++j) {
    std::byte* at = send + j * region;
    const Header header = {layout, bucket_index};
    std::memcpy(at, &header, sizeof header);
    if (!riders.empty()) std::memcpy(at + sizeof header, riders.data(), riders.size() * sizeof(double));
    const int64_t begin = std::min(n, j * chunk), end = std::min(n, begin + chunk);
    bucket.stream->Read(bucket.begin + begin, bucket.begin + end, at + head);
    std::memset(at + head + (end - begin) * es, 0, (chunk - (end - begin)) * es);
  }
  std::vector<MPI_Request> requests;
  std::vector<int> peers;
  for (int j = 0; j < ranks; ++j) {
    if (j != me) Post(comm, true, received + j * region, region, j, Tag(operation, 0), requests, peers);
  }
  for (int j = 0; j < ranks; ++j) {
    if (j != me) Post(comm, false, send + j * region, region, j, Tag(operation, 0), requests, peers);
  }
  std::memcpy(received + me * region, send + me * region, region);
  const std::vector<MPI_Status> statuses = comm.WaitAll(requests, peers);
  std::vector<int> other_layout;
  for (size_t i = 0; i + 1 < static_cast<size_t>(ranks); ++i) {  // the receives, posted first
    int count = 0;
    MPI_Get_count(&statuses[i], MPI_BYTE, &count);
    Header h{};
    if (count >= static_cast<int>(sizeof h)) std::memcpy(&h, received + peers[i] * region, sizeof h);
    if (statuses[i].MPI_ERROR != MPI_SUCCESS || count != static_cast<int>(region) ||
        h.layout != layout || h.bucket != bucket_index) {
      other_layout.push_back(peers[i]);
    }
  }
  if (!other_layout.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "{}: {} {} gradients of another layout than rank {} (other parameters, shapes, dtypes or "
        "bucket size; CheckSameModel names the difference)",
        comm.LastOperation(), RankList(other_layout), other_layout.size() == 1 ? "holds" : "hold", me));
  }
  for (size_t i = 0; i < riders.size(); ++i) {  // the same additions on every rank
    double sum = 0;
    for (int q = 0; q < ranks; ++q) {
      double x = 0;
      std::memcpy(&x, received + q * region + sizeof(Header) + i * sizeof(double), sizeof x);
      sum = q == 0 ? x : sum + x;
    }
    riders[i] = sum / ranks;
  }
  if (chunk == 0) return absl::OkStatus();  // an empty bucket: only the layout was checked
  std::byte* mine = gathered + me * chunk_bytes;
  if (bucket.stream->dtype == DType::kF64) {
    SumInRankOrder<double>(received, region, head, ranks, chunk, mine);
  } else {
    SumInRankOrder<float>(received, region, head, ranks, chunk, mine);
  }
  requests.clear();
  peers.clear();
  for (int j = 0; j < ranks; ++j) {
    if (j != me) Post(comm, true, gathered + j * chunk_bytes, chunk_bytes, j, Tag(operation, 1), requests, peers);
  }
  for (int j = 0; j < ranks; ++j) {
    if (j != me) Post(comm, false, mine, chunk_bytes, j, Tag(operation, 1), requests, peers);
  }
  comm.WaitAll(requests, peers);
  bucket.stream->Write(bucket.begin, bucket.end, gathered);
  return absl::OkStatus();
}

absl::Status ReduceMean(Communicator& comm, std::string_view name, std::vector<Stream>& streams,
                        const AllReduceOptions& options) {
  if (options.bucket_bytes < sizeof(double) || options.bucket_bytes > kMaxBucketBytes) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: bucket_bytes {} is outside [8, {}]", name, options.bucket_bytes, kMaxBucketBytes));
  }
  if (options.riders.size() > kMaxRiders) {
    return absl::InvalidArgumentError(fmt::format("{}: {} riders, more than the {} allowed", name,
                                                  options.riders.size(), kMaxRiders));
  }
  if (comm.size() == 1) {  // the mean of one: copy where source and destination differ
    for (const Stream& s : streams) {
      for (const Segment& seg : s.segments) {
        if (seg.src != seg.dst) std::memmove(seg.dst, seg.src, seg.count * SizeOf(s.dtype));
      }
    }
    return absl::OkStatus();
  }
  std::vector<Bucket> buckets;
  for (const Stream& s : streams) {
    const int64_t per = static_cast<int64_t>(options.bucket_bytes / SizeOf(s.dtype));
    for (int64_t begin = 0; begin < s.total; begin += per) {
      buckets.push_back({&s, begin, std::min(s.total, begin + per)});
    }
  }
  // Always one exchange, so that a rank with nothing to reduce still meets the others.
  if (buckets.empty()) buckets.push_back({&streams[0], 0, 0});
  const uint64_t layout = LayoutHash(streams, options.bucket_bytes, options.riders.size());
  const int64_t k = comm.BeginOperation(name);
  absl::Status status;
  for (size_t b = 0; b < buckets.size() && status.ok(); ++b) {
    status = ReduceBucket(comm, k, buckets[b], b, layout, b == 0 ? options.riders : absl::Span<double>());
  }
  comm.EndOperation();
  return status;
}

std::vector<Stream> EmptyStreams() { return {Stream{DType::kF32, {}, {}, 0}, Stream{DType::kF64, {}, {}, 0}}; }

Stream& StreamOf(std::vector<Stream>& streams, DType dtype) {
  return streams[dtype == DType::kF64 ? 1 : 0];
}

absl::Status MaybeCheckParameters(Communicator& comm, absl::Span<const Parameter> params,
                                  const AllReduceOptions& options) {
  const int64_t call = ++comm.gradient_reductions();
  if (options.check_parameters_every <= 0 || call % options.check_parameters_every != 0) {
    return absl::OkStatus();
  }
  return CheckParametersEqual(comm, params);
}

}  // namespace

absl::Status AllReduceGradients(Communicator& comm, ParameterStore& store,
                                const AllReduceOptions& options) {
  const std::vector<Parameter> params = store.parameters();
  if (absl::Status s = MaybeCheckParameters(comm, params, options); !s.ok()) return s;
  std::vector<Stream> streams = EmptyStreams();
  for (const Parameter& p : params) {
    if (p.frozen()) continue;
    StreamOf(streams, p.dtype()).Add(p.grad().raw(), p.grad().raw(), p.grad().num_elements());
  }
  return ReduceMean(comm, "AllReduceGradients", streams, options);
}

absl::Status AllReduceGradients(Communicator& comm, absl::Span<const PrivateGradient> grads,
                                const AllReduceOptions& options) {
  std::vector<Parameter> params;
  std::vector<Stream> streams = EmptyStreams();
  for (const PrivateGradient& g : grads) {
    if (g.grad.dtype() != g.param.dtype() || !(g.grad.shape() == g.param.shape())) {
      return absl::InvalidArgumentError(fmt::format(
          "AllReduceGradients: the private gradient of '{}' is {} {}, the parameter {} {}",
          g.param.name(), g.grad.shape().ToString(), g.grad.dtype(), g.param.shape().ToString(),
          g.param.dtype()));
    }
    params.push_back(g.param);
    StreamOf(streams, g.grad.dtype()).Add(g.grad.raw(), g.param.grad().raw(), g.grad.num_elements());
  }
  if (absl::Status s = MaybeCheckParameters(comm, params, options); !s.ok()) return s;
  return ReduceMean(comm, "AllReduceGradients", streams, options);
}

absl::Status AllReduceMean(Communicator& comm, absl::Span<const Tensor> tensors,
                           const AllReduceOptions& options) {
  std::vector<Stream> streams = EmptyStreams();
  for (const Tensor& t : tensors) {
    if (!IsFloat(t.dtype())) {
      return absl::InvalidArgumentError(fmt::format(
          "AllReduceMean: a {} tensor {} (only f32 and f64 are averaged)", t.dtype(), t.shape().ToString()));
    }
    StreamOf(streams, t.dtype()).Add(t.raw(), t.raw(), t.num_elements());
  }
  return ReduceMean(comm, "AllReduceMean", streams, options);
}

}  // namespace tg
