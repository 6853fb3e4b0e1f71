/// \file
/// A small pool of persistent worker threads for intra-op parallelism (GEMM, large
/// pointwise ops and fused pointwise runs of the compiled mode).
///
/// Why not OpenMP: libgomp's workers spin at every barrier, so on a shared
/// machine one descheduled thread stalls each parallel region for a scheduler
/// tick, and OMP_WAIT_POLICY can only be set before the process starts. Here
/// chunks are claimed dynamically: the caller takes chunks too and never waits
/// for a worker that has not started one, so a late or busy worker costs
/// parallelism, not a stall. Waiting spins briefly, then blocks (futex).
#ifndef TAPEGRAD_GRAPH_THREAD_POOL_H_
#define TAPEGRAD_GRAPH_THREAD_POOL_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"

namespace tg {

/// Persistent worker threads that run the chunks of one job at a time, together with the
/// caller (base/thread_pool.h says why not OpenMP).
class ThreadPool {
 public:
  /// A pool with no workers yet; ParallelFor starts them as it needs them.
  ThreadPool() = default;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  /// Stops and joins the workers.
  ~ThreadPool();

  /// The process-wide pool (never destroyed; idle workers sleep).
  static ThreadPool& Shared();

  /// Runs task(i) for every i in [0, chunks), each exactly once, on the
  /// calling thread and at most threads - 1 workers (started on first use);
  /// returns when all are done. If another thread is running a job on this
  /// pool, the caller runs every chunk itself, so concurrent callers never
  /// deadlock and results do not depend on who ran a chunk; so does a call made from
  /// inside a chunk (a nested job). chunks <= 4095.
  void ParallelFor(int chunks, int threads, absl::FunctionRef<void(int)> task);

  /// Worker threads started so far (the calling thread not counted).
  int num_workers() const { return static_cast<int>(workers_.size()); }

  /// ParallelFor calls so far, on any thread; lets tests see who uses the pool.
  int64_t calls() const { return calls_.load(std::memory_order_relaxed); }

 private:
  void StartWorkers(int n);
  // `seen` is the wake_ value when the worker was started.
  void WorkerLoop(int index, uint32_t seen);
  // Takes the next unclaimed chunk of job `epoch`, or returns false if that
  // job is over or fully claimed.
  bool Claim(uint32_t epoch, int& chunk);

  // One word so that a claim checks the job and takes a chunk atomically:
  // bits 32..63 job epoch, 24..31 helpers (workers asked to join),
  // 12..23 chunk count, 0..11 next unclaimed chunk.
  std::atomic<uint64_t> state_{0};
  // The epoch again, as 32 bits for std::atomic::wait (a futex on Linux).
  std::atomic<uint32_t> wake_{0};
  std::atomic<int> done_{0};  // chunks finished in the current job
  std::atomic<const absl::FunctionRef<void(int)>*> task_{nullptr};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> calls_{0};
  std::mutex run_mu_;  // one job at a time; others run on their caller
  std::vector<std::thread> workers_;  // only changed under run_mu_
};

}  // namespace tg

#endif  // TAPEGRAD_GRAPH_THREAD_POOL_H_
