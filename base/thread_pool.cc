#include "base/thread_pool.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>

namespace tg {
namespace {

// How long a thread spins before it blocks. A worker that just finished a
// chunk spins through the caller's pointwise work between two GEMMs, so the
// next GEMM finds it awake; past that it sleeps and costs nothing. The caller
// waits only for chunks already running, which end soon unless their worker
// was descheduled; then blocking frees the core. See bench/gemm_bench.cc.
constexpr std::chrono::microseconds kWorkerSpin{100};
constexpr std::chrono::microseconds kCallerSpin{50};

constexpr uint64_t Pack(uint32_t epoch, int helpers, int chunks, int next) {
  return uint64_t{epoch} << 32 | uint64_t(helpers) << 24 |
         uint64_t(chunks) << 12 | uint64_t(next);
}
constexpr uint32_t Epoch(uint64_t s) { return static_cast<uint32_t>(s >> 32); }
constexpr int Helpers(uint64_t s) { return static_cast<int>(s >> 24 & 0xff); }
constexpr int Chunks(uint64_t s) { return static_cast<int>(s >> 12 & 0xfff); }
constexpr int Next(uint64_t s) { return static_cast<int>(s & 0xfff); }

// Whether this thread is running a chunk of a job: a job started from inside one runs on
// its caller (the caller may hold run_mu_ already, and locking it again is undefined).
thread_local bool in_chunk = false;

// Runs task(chunk) with in_chunk set.
void RunChunk(absl::FunctionRef<void(int)> task, int chunk) {
  const bool outer = in_chunk;
  in_chunk = true;
  task(chunk);
  in_chunk = outer;
}

// Returns word's value once it differs from old: spins with _mm_pause until
// `spin` has passed (the clock is read every 64 pauses), then blocks.
template <class T>
T AwaitChange(const std::atomic<T>& word, T old, std::chrono::microseconds spin) {
  const auto deadline = std::chrono::steady_clock::now() + spin;
  for (int i = 1;; ++i) {
    const T v = word.load(std::memory_order_acquire);
    if (v != old) return v;
    _mm_pause();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline) break;
  }
  for (;;) {
    word.wait(old, std::memory_order_acquire);
    const T v = word.load(std::memory_order_acquire);
    if (v != old) return v;
  }
}

}  // namespace

ThreadPool& ThreadPool::Shared() {
  // Leaked: workers outlive static destruction, asleep, and die with the process.
  static ThreadPool* pool = new ThreadPool;
  return *pool;
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::StartWorkers(int n) {
  for (int i = num_workers(); i < n; ++i) {
    workers_.emplace_back([this, i, seen = wake_.load()] { WorkerLoop(i, seen); });
  }
}

bool ThreadPool::Claim(uint32_t epoch, int& chunk) {
  uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if (Epoch(s) != epoch || Next(s) >= Chunks(s)) return false;
    if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      chunk = Next(s);
      return true;
    }
  }
}

void ThreadPool::WorkerLoop(int index, uint32_t seen) {
  for (;;) {
    seen = AwaitChange(wake_, seen, kWorkerSpin);
    if (stop_.load()) return;
    const uint64_t s = state_.load(std::memory_order_acquire);
    if (index >= Helpers(s)) continue;
    // A successful claim means the job is still running, so task_ is its task.
    int chunk = 0;
    while (Claim(Epoch(s), chunk)) {
      RunChunk(*task_.load(std::memory_order_acquire), chunk);
      const int chunks = Chunks(s);
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
        done_.notify_one();
      }
    }
  }
}

void ThreadPool::ParallelFor(int chunks, int threads,
                             absl::FunctionRef<void(int)> task) {
  calls_.fetch_add(1, std::memory_order_relaxed);
  const int helpers = std::min({threads - 1, chunks - 1, 255});
  if (in_chunk) {  // nested: this thread may hold run_mu_
    for (int i = 0; i < chunks; ++i) task(i);
    return;
  }
  std::unique_lock lock(run_mu_, std::try_to_lock);
  if (helpers <= 0 || !lock.owns_lock()) {
    for (int i = 0; i < chunks; ++i) task(i);
    return;
  }
  if (num_workers() < helpers) StartWorkers(helpers);
  task_.store(&task, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  const uint32_t epoch = Epoch(state_.load(std::memory_order_relaxed)) + 1;
  state_.store(Pack(epoch, helpers, chunks, 0), std::memory_order_release);
  wake_.store(epoch, std::memory_order_release);
  wake_.notify_all();  // no system call unless a worker sleeps

  int chunk = 0, mine = 0;
  while (Claim(epoch, chunk)) {
    RunChunk(task, chunk);
    ++mine;
  }
  int done = done_.fetch_add(mine, std::memory_order_acq_rel) + mine;
  while (done != chunks) done = AwaitChange(done_, done, kCallerSpin);
}

}  // namespace tg
