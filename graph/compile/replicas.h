/// \file
/// Data parallelism inside one process. A recurrent update is a long chain of small steps,
/// and splitting each small product across threads synchronises them at every op; instead,
/// replicas of one update -- each compiled with CompileSpec::private_gradients for its own
/// slice of the batch -- run at once, one per thread, and their gradients are summed into
/// the store afterwards. The caller slices the feeds (it knows which axis is the batch) and
/// compiles each replica with ExecOptions::num_threads = 1.
///
/// \code{.cpp}
///   for (int r = 0; r < n; ++r)  // each graph recorded for slice r of the batch
///     replica[r] = Compile(graph[r], {.feeds = ..., .outputs = ..., .private_gradients = true});
///   ...
///   TG_RETURN_IF_ERROR(RunReplicas(replica_pointers, feeds_per_replica, shares, threads));
///   optimizer.Step();
/// \endcode
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "graph/compile/compiled_graph.h"

namespace tg {

/// Runs replicas[i] on feeds[i] on up to `threads` threads of ThreadPool::Shared() (one
/// replica per thread at a time; more replicas than threads queue), then adds
/// weights[i] times replica i's gradients into the store's (for a loss that is a mean over
/// the batch, weights[i] is replica i's share of the rows). The replicas must be distinct,
/// non-null, and have private gradients for the same parameters; the weights finite; and
/// each feed list match its replica (CompiledGraph::CheckFeeds). All of that is checked
/// before anything runs (InvalidArgument naming the replica); a replica's failure while
/// running is returned naming it.
absl::Status RunReplicas(absl::Span<CompiledGraph* const> replicas,
                         absl::Span<const std::vector<Tensor>> feeds,
                         absl::Span<const double> weights, int threads);

}  // namespace tg
