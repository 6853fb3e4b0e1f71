// Communicator: tapegrad's handle on an MPI communicator for data-parallel training
// (docs/distributed.md). It initialises MPI or wraps a caller's communicator, duplicates it
// so tapegrad's messages never match the caller's, and carries what every collective in
// dist/ needs: the rank count, a deadline, an operation counter and a reusable workspace.
//
//   TG_ASSIGN_OR_RETURN(std::unique_ptr<tg::Communicator> comm,
//                       tg::Communicator::Init(&argc, &argv, {.deadline = absl::Minutes(2)}));
//   TG_RETURN_IF_ERROR(tg::CheckSameModel(*comm, store));
//   TG_RETURN_IF_ERROR(tg::BroadcastParameters(*comm, store));
//   for (...) { ...Backward...; TG_RETURN_IF_ERROR(tg::AllReduceGradients(*comm, store));
//               optimizer.Step(); store.ZeroGrad(); }
//
// Only one thread may call into a Communicator (MPI_THREAD_FUNNELED is requested by default);
// tapegrad's own worker threads never call MPI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <mpi.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tg {

// How a Communicator is set up.
struct CommunicatorOptions {
  // Every collective must finish within this time of the rank entering it; otherwise the rank
  // prints "<op> #k: no reply from rank R after Ns" and calls MPI_Abort (no rank hangs).
  absl::Duration deadline = absl::Minutes(5);
  // The MPI thread level Init requests and requires (MPI_THREAD_FUNNELED: only the thread that
  // initialised MPI calls it; MPI_THREAD_SERIALIZED: any one thread at a time).
  int thread_level = MPI_THREAD_FUNNELED;
};

// The ranks of one job, with the deadline and bookkeeping its collectives share.
class Communicator {
 public:
  // Initialises MPI (unless it already is, then checks its thread level) and wraps
  // MPI_COMM_WORLD. Fails when MPI provides a lower thread level than options.thread_level.
  // The destructor finalises MPI if this call initialised it.
  static absl::StatusOr<std::unique_ptr<Communicator>> Init(int* argc, char*** argv,
                                                            const CommunicatorOptions& options = {});
  // Wraps a communicator the caller owns (duplicated: the caller's stays untouched). MPI must
  // be initialised with at least options.thread_level.
  static absl::StatusOr<std::unique_ptr<Communicator>> Wrap(MPI_Comm comm,
                                                            const CommunicatorOptions& options = {});
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  // Frees the duplicated communicator; finalises MPI if Init initialised it.
  ~Communicator();

  // This process's rank in [0, size()).
  int rank() const { return rank_; }
  // The number of ranks.
  int size() const { return size_; }
  // The rank among the ranks on this machine (MPI_Comm_split_type SHARED), e.g. to pick a core.
  int local_rank() const { return local_rank_; }
  // The number of ranks on this machine.
  int local_size() const { return local_size_; }
  // Rank 0: the rank that reads, prints and writes in the examples.
  bool is_root() const { return rank_ == 0; }
  // The duplicated communicator tapegrad's collectives use.
  MPI_Comm comm() const { return comm_; }

  // The time every collective is allowed (see CommunicatorOptions::deadline).
  absl::Duration deadline() const { return deadline_; }
  // Sets the deadline for the following collectives (every rank should set the same).
  void set_deadline(absl::Duration deadline) { deadline_ = deadline; }

  // Seconds spent inside collectives so far (transfers plus waiting for slower ranks).
  double seconds_communicating() const { return seconds_communicating_; }
  // Collectives run so far; the k of "<op> #k" in messages.
  int64_t operations() const { return operations_; }
  // "AllReduceGradients #12": the collective this rank is in, or ran last ("none" before any).
  std::string LastOperation() const;

  // Prints "rank R failed in <op> #k: <what>" (or "after <op> #k") to stderr and ends every rank of the job with
  // MPI_Abort: for a rank that fails while the others would wait for it.
  [[noreturn]] void Abort(std::string_view what) const;
  // Makes an uncaught exception (std::terminate) on this rank print the rank, the exception
  // and the last collective, then MPI_Abort the job instead of leaving the others waiting.
  void AbortOnUncaughtException() const;

  // ---- for the collectives in dist/ ----
  // Starts collective `name`, returning its number k (counted from 1, the same on every rank).
  int64_t BeginOperation(std::string_view name);
  // Ends the collective begun last; adds its time to seconds_communicating().
  void EndOperation();
  // Waits for `requests` (point-to-point requests with peers[i] the rank requests[i] talks to)
  // until the deadline. On timeout prints "<op> #k: no reply from rank R after Ns", naming
  // the ranks whose messages are missing, and aborts; on an MPI error prints it and aborts.
  // Returns the statuses (MPI_Get_count on a receive gives the length that arrived).
  std::vector<MPI_Status> WaitAll(std::vector<MPI_Request>& requests,
                                  const std::vector<int>& peers);
  // Scratch memory the collectives reuse between calls (grown, never shrunk); index 0..2.
  std::byte* Workspace(int index, size_t bytes);
  // Reductions run so far by AllReduceGradients (for its parameter checks every N calls).
  int64_t& gradient_reductions() { return gradient_reductions_; }
  // Ends the job after an MPI error in `call` during the current collective.
  [[noreturn]] void FailMpi(std::string_view call, int error) const;

 private:
  Communicator() = default;
  // Prints `line` to stderr and aborts the job.
  [[noreturn]] void AbortWithLine(const std::string& line) const;
  static absl::StatusOr<std::unique_ptr<Communicator>> Create(MPI_Comm comm,
                                                              const CommunicatorOptions& options,
                                                              bool finalize);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  bool finalize_ = false;
  absl::Duration deadline_;
  int64_t operations_ = 0;
  std::string operation_name_;
  bool in_operation_ = false;
  absl::Time operation_start_;
  double seconds_communicating_ = 0;
  int64_t gradient_reductions_ = 0;
  struct Buffer {
    std::unique_ptr<std::byte[]> data;
    size_t size = 0;
  };
  Buffer workspace_[3];
};

}  // namespace tg
