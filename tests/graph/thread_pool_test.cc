#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace tg {
namespace {

// Every chunk runs exactly once, over many back-to-back small jobs (the
// workers keep up, fall behind, or sleep in between).
void ExpectEachChunkOnce(ThreadPool& pool, int jobs, int threads) {
  std::vector<std::atomic<int>> hits(64);
  for (int job = 0; job < jobs; ++job) {
    const int chunks = 1 + job % 64;
    for (int i = 0; i < chunks; ++i) hits[i].store(0);
    pool.ParallelFor(chunks, threads, [&](int i) { hits[i].fetch_add(1); });
    for (int i = 0; i < chunks; ++i) {
      ASSERT_EQ(hits[i].load(), 1) << "job " << job << " chunk " << i;
    }
  }
}

TEST(ThreadPoolTest, ManySmallJobs) {
  ThreadPool pool;
  ExpectEachChunkOnce(pool, 20000, 2);
  ExpectEachChunkOnce(pool, 2000, 8);  // more threads than cores
  EXPECT_EQ(pool.num_workers(), 7);
}

TEST(ThreadPoolTest, OneThreadOrOneChunkRunsOnTheCaller) {
  ThreadPool pool;
  const std::thread::id caller = std::this_thread::get_id();
  bool elsewhere = false;
  pool.ParallelFor(5, 1, [&](int) { elsewhere |= std::this_thread::get_id() != caller; });
  pool.ParallelFor(1, 4, [&](int) { elsewhere |= std::this_thread::get_id() != caller; });
  EXPECT_FALSE(elsewhere);
  EXPECT_EQ(pool.num_workers(), 0);
}

// A job started inside a chunk (a kernel of a step that parallel replay runs on a pool
// thread) runs all its chunks on that thread, whether the caller or a worker runs the outer
// chunk: no deadlock, each inner chunk once.
TEST(ThreadPoolTest, NestedJobsRunOnTheirCaller) {
  ThreadPool pool;
  for (int round = 0; round < 200; ++round) {
    std::vector<std::atomic<int>> hits(4 * 8);
    std::atomic<bool> moved{false};
    pool.ParallelFor(4, 2, [&](int outer) {
      const std::thread::id here = std::this_thread::get_id();
      pool.ParallelFor(8, 2, [&](int inner) {
        moved = moved || std::this_thread::get_id() != here;
        hits[outer * 8 + inner].fetch_add(1);
      });
    });
    EXPECT_FALSE(moved) << "round " << round;
    for (int i = 0; i < 4 * 8; ++i) ASSERT_EQ(hits[i].load(), 1) << "round " << round;
  }
}

TEST(ThreadPoolTest, WorkersRunChunks) {
  ThreadPool pool;
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> elsewhere = false;
  // Chunk 0 holds the caller until a worker has taken chunk 1.
  std::atomic<bool> other_started = false;
  pool.ParallelFor(2, 2, [&](int) {
    if (std::this_thread::get_id() != caller) {
      elsewhere = true;
      other_started = true;
    } else if (!other_started) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!other_started && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
    }
  });
  EXPECT_TRUE(elsewhere);
}

// Workers that went to sleep wake for the next job.
TEST(ThreadPoolTest, WakesSleepingWorkers) {
  ThreadPool pool;
  for (int round = 0; round < 3; ++round) {
    ExpectEachChunkOnce(pool, 50, 3);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Callers on several threads share one pool: one runs its job there, the
// others run theirs alone; none waits for another.
TEST(ThreadPoolTest, ConcurrentCallersDoNotDeadlock) {
  for (bool shared : {false, true}) {
    ThreadPool local;
    ThreadPool& pool = shared ? ThreadPool::Shared() : local;
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&pool] { ExpectEachChunkOnce(pool, 3000, 2); });
    }
    for (std::thread& t : callers) t.join();
  }
}

TEST(ThreadPoolTest, DestroyedRightAfterAJob) {
  for (int i = 0; i < 50; ++i) {
    ThreadPool pool;
    std::atomic<int> sum = 0;
    pool.ParallelFor(4, 4, [&](int c) { sum += c; });
    EXPECT_EQ(sum.load(), 6);
  }
}

}  // namespace
}  // namespace tg
