#include "dist/communicator.h"

#if defined(__SANITIZE_ADDRESS__)
#define TG_LEAK_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define TG_LEAK_CHECKED 1
#endif
#endif
#if TG_LEAK_CHECKED
#include <dlfcn.h>
#include <link.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "absl/strings/str_join.h"
#include "fmt/format.h"

namespace tg {
namespace {

// Polling: MPI progresses only inside MPI calls, so a waiting rank tests its requests in a
// loop. For kSpin after the last request completed it tests without pause: the round trips
// of a transfer in progress take microseconds. After that it is waiting for a rank that has
// not arrived, and sleeps kNap between tests. A sleeping rank leaves its core to the threads
// still computing -- on a machine with more runnable threads than cores, among them the rank
// it waits for, which spinning or sched_yield (the thread stays runnable) would slow down --
// and the scheduler runs it again promptly when it wakes. After kIdle without progress it
// is waiting on a stalled rank and tests only every kLongNap.
constexpr absl::Duration kSpin = absl::Microseconds(100);
constexpr absl::Duration kNap = absl::Microseconds(50);
constexpr absl::Duration kIdle = absl::Milliseconds(50);
constexpr absl::Duration kLongNap = absl::Milliseconds(1);

// Under LeakSanitizer: MPI_Finalize unloads Open MPI's plugins (dlclose), and the leak check
// at exit can then no longer tell which library made their allocations, so that
// scripts/lsan.supp's suppressions by library name cannot match them. Marking every loaded
// library NODELETE first keeps them mapped. Other builds do nothing.
void KeepLibrariesForLeakReports() {
#if TG_LEAK_CHECKED
  std::vector<std::string> names;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') {
          static_cast<std::vector<std::string>*>(out)->push_back(info->dlpi_name);
        }
        return 0;
      },
      &names);
  for (const std::string& name : names) dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
#endif
}

std::string ThreadLevelName(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
  }
  return fmt::format("thread level {}", level);
}

std::string MpiErrorText(int error) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(error, text, &length) != MPI_SUCCESS) return fmt::format("error {}", error);
  return std::string(text, length);
}

absl::Status CheckThreadLevel(int provided, int requested) {
  if (provided >= requested) return absl::OkStatus();
  return absl::FailedPreconditionError(fmt::format(
      "Communicator: MPI provides {}, but {} is required (CommunicatorOptions::thread_level)",
      ThreadLevelName(provided), ThreadLevelName(requested)));
}

// "ranks 1, 3" / "rank 2" / "the other ranks" (-1: a collective request, peer unknown).
std::string RankList(std::vector<int> ranks) {
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  if (ranks.empty() || ranks.front() < 0) return "the other ranks";
  return fmt::format("{} {}", ranks.size() == 1 ? "rank" : "ranks", absl::StrJoin(ranks, ", "));
}

const Communicator* abort_on_terminate = nullptr;  // AbortOnUncaughtException's communicator

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::Init(int* argc, char*** argv,
                                                                 const CommunicatorOptions& options) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = MPI_THREAD_SINGLE;
  bool finalize = false;
  if (initialized) {
    MPI_Query_thread(&provided);
  } else {
    if (int rc = MPI_Init_thread(argc, argv, options.thread_level, &provided); rc != MPI_SUCCESS) {
      return absl::InternalError(fmt::format("Communicator: MPI_Init_thread failed: {}", MpiErrorText(rc)));
    }
    finalize = true;
  }
  if (absl::Status s = CheckThreadLevel(provided, options.thread_level); !s.ok()) {
    if (finalize) MPI_Finalize();
    return s;
  }
  return Create(MPI_COMM_WORLD, options, finalize);
}

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::Wrap(MPI_Comm comm,
                                                                 const CommunicatorOptions& options) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    return absl::FailedPreconditionError(
        "Communicator::Wrap: MPI is not initialised (call MPI_Init_thread or Communicator::Init)");
  }
  if (comm == MPI_COMM_NULL) return absl::InvalidArgumentError("Communicator::Wrap: MPI_COMM_NULL");
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  if (absl::Status s = CheckThreadLevel(provided, options.thread_level); !s.ok()) return s;
  return Create(comm, options, /*finalize=*/false);
}

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::Create(MPI_Comm comm,
                                                                   const CommunicatorOptions& options,
                                                                   bool finalize) {
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(fmt::format("Communicator: the deadline must be positive, not {}",
                                                  absl::FormatDuration(options.deadline)));
  }
  std::unique_ptr<Communicator> c(new Communicator());
  c->finalize_ = finalize;
  c->deadline_ = options.deadline;
  // A private copy: tapegrad's messages can never match the caller's. Duplicating is itself
  // a collective, so it runs under the deadline like every other.
  c->BeginOperation("Communicator setup");
  MPI_Request request;
  if (int rc = MPI_Comm_idup(comm, &c->comm_, &request); rc != MPI_SUCCESS) c->FailMpi("MPI_Comm_idup", rc);
  std::vector<MPI_Request> requests = {request};
  c->WaitAll(requests, {-1});
  MPI_Comm_set_errhandler(c->comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(c->comm_, &c->rank_);
  MPI_Comm_size(c->comm_, &c->size_);
  MPI_Comm local;
  if (int rc = MPI_Comm_split_type(c->comm_, MPI_COMM_TYPE_SHARED, c->rank_, MPI_INFO_NULL, &local);
      rc != MPI_SUCCESS) {
    c->FailMpi("MPI_Comm_split_type", rc);
  }
  MPI_Comm_rank(local, &c->local_rank_);
  MPI_Comm_size(local, &c->local_size_);
  MPI_Comm_free(&local);
  c->EndOperation();
  return c;
}

Communicator::~Communicator() {
  if (abort_on_terminate == this) abort_on_terminate = nullptr;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  if (finalize_) {
    KeepLibrariesForLeakReports();
    MPI_Finalize();
  }
}

std::string Communicator::LastOperation() const {
  if (operations_ == 0) return "none";
  return fmt::format("{} #{}", operation_name_, operations_);
}

void Communicator::Abort(std::string_view what) const {
  const std::string where =
      operations_ == 0 ? "before any collective"
                       : fmt::format("{} {}", in_operation_ ? "in" : "after", LastOperation());
  AbortWithLine(fmt::format("rank {} failed {}: {}", rank_, where, what));
}

void Communicator::AbortWithLine(const std::string& line) const {
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  MPI_Abort(comm_ != MPI_COMM_NULL ? comm_ : MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

void Communicator::AbortOnUncaughtException() const {
  abort_on_terminate = this;
  std::set_terminate([] {
    std::string what = "terminated (std::terminate without an exception)";
    if (std::exception_ptr e = std::current_exception()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        what = fmt::format("uncaught exception: {}", x.what());
      } catch (...) {
        what = "uncaught exception of a type not derived from std::exception";
      }
    }
    if (abort_on_terminate != nullptr) abort_on_terminate->Abort(what);
    std::fprintf(stderr, "%s\n", what.c_str());
    std::abort();
  });
}

int64_t Communicator::BeginOperation(std::string_view name) {
  operation_name_ = std::string(name);
  in_operation_ = true;
  operation_start_ = absl::Now();
  return ++operations_;
}

void Communicator::EndOperation() {
  in_operation_ = false;
  seconds_communicating_ += absl::ToDoubleSeconds(absl::Now() - operation_start_);
}

void Communicator::FailMpi(std::string_view call, int error) const {
  Abort(fmt::format("{} failed: {}", call, MpiErrorText(error)));
}

std::vector<MPI_Status> Communicator::WaitAll(std::vector<MPI_Request>& requests,
                                              const std::vector<int>& peers) {
  const int n = static_cast<int>(requests.size());
  std::vector<MPI_Status> statuses(n), some(n);
  std::vector<int> done(n);
  int remaining = 0;
  for (int i = 0; i < n; ++i) {
    statuses[i].MPI_ERROR = MPI_SUCCESS;
    if (requests[i] != MPI_REQUEST_NULL) ++remaining;
  }
  const absl::Time start = absl::Now();
  absl::Time last_progress = start;
  while (remaining > 0) {
    int count = 0;
    const int rc = MPI_Testsome(n, requests.data(), &count, done.data(), some.data());
    if (rc != MPI_SUCCESS && rc != MPI_ERR_IN_STATUS) FailMpi("MPI_Testsome", rc);
    if (count == MPI_UNDEFINED) break;
    for (int k = 0; k < count; ++k) {
      MPI_Status& s = statuses[done[k]];
      s = some[k];
      if (rc == MPI_SUCCESS) s.MPI_ERROR = MPI_SUCCESS;  // only set by MPI_ERR_IN_STATUS
      int error_class = MPI_SUCCESS;
      if (s.MPI_ERROR != MPI_SUCCESS) MPI_Error_class(s.MPI_ERROR, &error_class);
      // A truncated receive means the ranks disagree on a length: the caller reports that.
      if (s.MPI_ERROR != MPI_SUCCESS && error_class != MPI_ERR_TRUNCATE) {
        FailMpi(fmt::format("a message with rank {}", peers[done[k]]), s.MPI_ERROR);
      }
    }
    remaining -= count;
    if (remaining == 0) break;
    const absl::Time now = absl::Now();
    if (count > 0) last_progress = now;
    if (now - start > deadline_) {
      std::vector<int> missing;
      for (int i = 0; i < n; ++i) {
        if (requests[i] != MPI_REQUEST_NULL) missing.push_back(peers[i]);
      }
      AbortWithLine(fmt::format("rank {}: {}: no reply from {} after {:g}s", rank_, LastOperation(),
                                RankList(missing), absl::ToDoubleSeconds(deadline_)));
    }
    if (now - last_progress < kSpin) continue;
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(now - last_progress < kIdle ? kNap : kLongNap));
  }
  return statuses;
}

std::byte* Communicator::Workspace(int index, size_t bytes) {
  Buffer& b = workspace_[index];
  if (b.size < bytes) {
    b.data = std::make_unique<std::byte[]>(bytes);
    b.size = bytes;
  }
  return b.data.get();
}

}  // namespace tg
