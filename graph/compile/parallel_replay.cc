#include "graph/compile/parallel_replay.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/thread_pool.h"

namespace tg::compile {
namespace {

// How long a thread with nothing ready spins before it blocks: a step of a recurrent
// network ends within microseconds, and blocking would cost a wake-up per step.
constexpr std::chrono::microseconds kSpin{50};

// Returns once `word` differs from `old`: spins with _mm_pause until kSpin has passed, then
// blocks (a futex).
void AwaitChange(const std::atomic<uint32_t>& word, uint32_t old) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 1;; ++i) {
    if (word.load(std::memory_order_acquire) != old) return;
    _mm_pause();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline) break;
  }
  while (word.load(std::memory_order_acquire) == old) word.wait(old, std::memory_order_acquire);
}

// The heap's order: the ready step with the longest chain after it on top, then the earliest.
struct ChainOrder {
  const std::vector<int32_t>& chain;
  bool operator()(int32_t a, int32_t b) const {
    return chain[a] != chain[b] ? chain[a] < chain[b] : a > b;
  }
};

}  // namespace

ParallelReplay::ParallelReplay(const Schedule& schedule, int threads)
    : schedule_(schedule), threads_(std::max(threads, 1)) {
  pending_.resize(static_cast<size_t>(schedule.num_steps()));
  ready_.reserve(static_cast<size_t>(schedule.num_steps()));
}

int ParallelReplay::PopReady() {
  const ChainOrder less{schedule_.chain};
  std::pop_heap(ready_.begin(), ready_.end(), less);
  const int k = ready_.back();
  ready_.pop_back();
  return k;
}

void ParallelReplay::Finish(int k, absl::Status status) {
  ++done_;
  if (!status.ok()) {
    if (error_.ok()) error_ = std::move(status);
    return;
  }
  const ChainOrder less{schedule_.chain};
  for (int32_t j : schedule_.after(k)) {
    if (--pending_[j] > 0) continue;
    ready_.push_back(j);  // within the capacity reserved: each step is ready once per run
    std::push_heap(ready_.begin(), ready_.end(), less);
  }
}

void ParallelReplay::Work(int worker, absl::FunctionRef<absl::Status(int, int)> run_step) {
  const int n = schedule_.num_steps();
  std::unique_lock lock(mu_);
  for (;;) {
    if (!error_.ok() || done_ == n) return;
    // A lone ready step with nothing running goes back to the caller, to run on every thread.
    if (!ready_.empty() && (running_ > 0 || ready_.size() >= 2)) {
      const int k = PopReady();
      ++running_;
      lock.unlock();
      absl::Status status = run_step(k, worker);
      lock.lock();
      --running_;
      Finish(k, std::move(status));
      progress_.fetch_add(1, std::memory_order_release);
      progress_.notify_all();  // no system call unless a thread sleeps
      continue;
    }
    if (running_ == 0) return;
    const uint32_t seen = progress_.load(std::memory_order_acquire);
    lock.unlock();
    AwaitChange(progress_, seen);
    lock.lock();
  }
}

absl::Status ParallelReplay::Run(absl::FunctionRef<absl::Status(int, int)> run_step) {
  const int n = schedule_.num_steps();
  const ChainOrder less{schedule_.chain};
  std::unique_lock lock(mu_);
  std::copy(schedule_.predecessors.begin(), schedule_.predecessors.end(), pending_.begin());
  ready_.clear();
  for (int k = 0; k < n; ++k) {
    if (pending_[k] > 0) continue;
    ready_.push_back(k);
    std::push_heap(ready_.begin(), ready_.end(), less);
  }
  running_ = 0;
  done_ = 0;
  error_ = absl::OkStatus();
  while (error_.ok() && done_ < n) {
    if (threads_ > 1 && ready_.size() >= 2) {
      lock.unlock();
      ThreadPool::Shared().ParallelFor(threads_, threads_,
                                       [&](int worker) { Work(worker, run_step); });
      lock.lock();
      continue;
    }
    if (ready_.empty()) {
      return absl::InternalError("ParallelReplay: no step is ready, yet some never ran");
    }
    // One step ready and none running: it runs here, its own split on every thread.
    const int k = PopReady();
    ++running_;
    lock.unlock();
    absl::Status status = run_step(k, 0);
    lock.lock();
    --running_;
    Finish(k, std::move(status));
  }
  return error_;
}

}  // namespace tg::compile
