// The mean of every rank's gradients, the same bits on every rank (docs/distributed.md).
//
// Deterministic reduction: the values are packed into buckets (AllReduceOptions::bucket_bytes,
// 25 MiB by default, as PyTorch's DistributedDataParallel) and each bucket is cut into one
// chunk per rank. Rank j receives chunk j from every rank, sums the P copies in rank order
// 0, 1, ..., P-1 and divides by P, then sends its result to every rank (a reduce-scatter
// followed by an all-gather, each rank moving 2(P-1)/P of the bucket). Every element is
// therefore ((g_0 + g_1) + ... + g_{P-1}) / P computed once, by one rank, and copied: every
// rank holds exactly the same bits, whatever the transport, timing or bucket size.
// MPI_Allreduce gives no such guarantee for floats.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "dist/communicator.h"
#include "graph/compile/compiled_graph.h"
#include "graph/parameter.h"
#include "graph/tensor.h"

namespace tg {

// How AllReduceGradients packs and checks.
struct AllReduceOptions {
  // Gradients travel in buckets of at most this many bytes (one dtype each); larger buckets
  // mean fewer messages, smaller ones less scratch memory (3 buckets' worth).
  size_t bucket_bytes = size_t{25} << 20;
  // Every this many calls (0: never), first check that the parameters are bitwise equal on
  // every rank (CheckParametersEqual), failing with the ranks that differ named.
  int64_t check_parameters_every = 0;
  // A few f64 values averaged in the same messages as the first bucket, without a collective
  // of their own: e.g. the loss to print and a clock the ranks must agree on. Each becomes
  // ((x_0 + x_1) + ... + x_{P-1}) / P, the same bits on every rank. Every rank passes the
  // same number, at most kMaxRiders.
  absl::Span<double> riders = {};
};

// The most values AllReduceOptions::riders may hold.
inline constexpr size_t kMaxRiders = 64;

// Replaces each trainable (not frozen) parameter's gradient in `store` by its mean over the
// ranks. Fails (on every rank) when the ranks' gradients differ in layout or when a
// parameter check fails; a rank that does not reply within the deadline ends the job.
absl::Status AllReduceGradients(Communicator& comm, ParameterStore& store,
                                const AllReduceOptions& options = {});

// The same from a compiled program's private gradient block (CompileSpec::private_gradients):
// the mean over the ranks of each grads[i].grad is written into grads[i].param's gradient in
// the store (overwriting it; the program's block is left as it was).
absl::Status AllReduceGradients(Communicator& comm, absl::Span<const PrivateGradient> grads,
                                const AllReduceOptions& options = {});

// Replaces each tensor (f32 or f64) by its mean over the ranks, with the same deterministic
// scheme, e.g. a loss to print. The tensors' shapes and dtypes must agree across ranks.
absl::Status AllReduceMean(Communicator& comm, absl::Span<const Tensor> tensors,
                           const AllReduceOptions& options = {});

}  // namespace tg
