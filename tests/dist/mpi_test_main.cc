// main() for the gtest binaries that run under mpirun: every rank runs every test, so the
// collectives inside a test meet. Rank 0 prints the usual gtest output; the other ranks print
// only their failures, prefixed with their rank.
#include <cstdio>
#include <memory>

#include "gtest/gtest.h"
#include "tests/dist/mpi_test_env.h"

namespace tg::testing {
namespace {

std::unique_ptr<Communicator> world;

class FailuresOnly : public ::testing::EmptyTestEventListener {
 public:
  explicit FailuresOnly(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::fprintf(stderr, "rank %d: %s:%d: %s\n", rank_, r.file_name() ? r.file_name() : "?",
                 r.line_number(), r.summary());
  }

 private:
  int rank_;
};

}  // namespace

Communicator& World() { return *world; }

}  // namespace tg::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // A test that goes wrong on one rank must not leave the others waiting for minutes.
  auto comm = tg::Communicator::Init(&argc, &argv, {.deadline = absl::Seconds(60)});
  if (!comm.ok()) {
    std::fprintf(stderr, "%s\n", comm.status().ToString().c_str());
    return 1;
  }
  tg::testing::world = std::move(*comm);
  tg::testing::world->AbortOnUncaughtException();
  if (!tg::testing::world->is_root()) {
    ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new tg::testing::FailuresOnly(tg::testing::world->rank()));
  }
  const int result = RUN_ALL_TESTS();
  tg::testing::world.reset();  // finalises MPI
  return result;
}
