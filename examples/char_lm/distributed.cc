#include "examples/char_lm/distributed.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#if TG_HAVE_DIST
#include "dist/dist.h"
#endif

ABSL_FLAG(double, deadline_minutes, 5,
          "under mpirun: the longest any rank waits for the others in one collective before it "
          "names the missing ranks and ends the job (rank 0's validation must fit in it)");

ABSL_FLAG(int64_t, check_ranks_every, 100,
          "under mpirun: every this many updates check that all ranks hold bitwise the same "
          "weights, ending the job with the differing ranks named (0: never)");

namespace tg::examples {
namespace {

// The rank count mpirun announces to its processes; 0 when not started by mpirun.
int MpirunSize() {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  int n = 0;
  return size != nullptr && absl::SimpleAtoi(size, &n) ? n : 0;
}

}  // namespace

#if TG_HAVE_DIST

struct Ranks::Impl {
  std::unique_ptr<Communicator> comm;  // null: a plain run
  double communicating_before_training = 0;
};

absl::StatusOr<std::unique_ptr<Ranks>> Ranks::Start(int* argc, char*** argv) {
  auto impl = std::make_unique<Impl>();
  if (MpirunSize() > 0) {
    const double minutes = absl::GetFlag(FLAGS_deadline_minutes);
    if (!(minutes > 0)) {
      return absl::InvalidArgumentError(absl::StrCat("--deadline_minutes=", minutes, ": must be > 0"));
    }
    TG_ASSIGN_OR_RETURN(impl->comm, Communicator::Init(argc, argv, {.deadline = absl::Seconds(minutes * 60)}));
    impl->comm->AbortOnUncaughtException();
    if (!impl->comm->is_root() && std::freopen("/dev/null", "w", stdout) == nullptr) {
      return absl::InternalError("rank output: cannot send stdout to /dev/null");
    }
  }
  return std::unique_ptr<Ranks>(new Ranks(std::move(impl)));
}

bool Ranks::distributed() const { return impl_->comm != nullptr; }
int Ranks::rank() const { return distributed() ? impl_->comm->rank() : 0; }
int Ranks::size() const { return distributed() ? impl_->comm->size() : 1; }

absl::Status Ranks::OnRoot(const std::function<absl::Status()>& work) {
  absl::Status status = is_root() ? work() : absl::OkStatus();
  if (!distributed()) return status;
  // Rank 0's status travels as "code message"; the others return it as their own.
  std::string wire = status.ok() ? "" : absl::StrCat(static_cast<int>(status.code()), " ", status.message());
  TG_RETURN_IF_ERROR(BroadcastString(*impl_->comm, wire));
  if (wire.empty()) return absl::OkStatus();
  const size_t space = wire.find(' ');
  int code = static_cast<int>(absl::StatusCode::kUnknown);
  (void)absl::SimpleAtoi(wire.substr(0, space), &code);
  return absl::Status(static_cast<absl::StatusCode>(code), wire.substr(space + 1));
}

absl::StatusOr<RunInfo> Ranks::LoadRunInfo(const std::string& checkpoint) {
  if (!distributed()) return examples::LoadRunInfo(checkpoint);
  // Rank 0 reads and checks the file, then sends its bytes; the others parse them from a
  // private copy with the same reader, so every rank ends up with rank 0's RunInfo.
  std::string bytes;
  TG_RETURN_IF_ERROR(OnRoot([&]() -> absl::Status {
    TG_RETURN_IF_ERROR(examples::LoadRunInfo(checkpoint).status());
    std::ifstream in(absl::StrCat(checkpoint, ".json"), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    bytes = text.str();
    return absl::OkStatus();
  }));
  TG_RETURN_IF_ERROR(BroadcastString(*impl_->comm, bytes));
  if (is_root()) return examples::LoadRunInfo(checkpoint);
  const std::filesystem::path copy = std::filesystem::temp_directory_path() /
      absl::StrFormat("char_lm_rank%d_%d.safetensors", rank(), static_cast<int>(getpid()));
  const std::string json = absl::StrCat(copy.string(), ".json");
  {
    std::ofstream out(json, std::ios::binary);
    out << bytes;
    if (!out.flush()) return absl::InternalError(absl::StrCat("rank ", rank(), ": cannot write '", json, "'"));
  }
  absl::StatusOr<RunInfo> info = examples::LoadRunInfo(copy.string());
  std::filesystem::remove(json);
  return info;
}

absl::Status Ranks::ShareModel(ParameterStore& store, Optimizer& optimizer, bool resumed) {
  if (!distributed()) return absl::OkStatus();
  TG_RETURN_IF_ERROR(CheckSameModel(*impl_->comm, store));
  TG_RETURN_IF_ERROR(BroadcastParameters(*impl_->comm, store));
  if (resumed) TG_RETURN_IF_ERROR(BroadcastTensors(*impl_->comm, optimizer.StateTensors()));
  impl_->communicating_before_training = impl_->comm->seconds_communicating();
  return absl::OkStatus();
}

absl::Status Ranks::ReduceGradients(ParameterStore& store) {
  if (!distributed()) return absl::OkStatus();
  return AllReduceGradients(*impl_->comm, store,
                            {.check_parameters_every = absl::GetFlag(FLAGS_check_ranks_every)});
}

absl::StatusOr<bool> Ranks::Agree(double& loss, double& train_seconds, bool interrupted) {
  if (!distributed()) return interrupted;
  double values[3] = {loss, train_seconds, interrupted ? 1.0 : 0.0};
  TG_RETURN_IF_ERROR(AllReduceMean(*impl_->comm, {Tensor(values, DType::kF64, {3})}));
  loss = values[0];
  train_seconds = values[1];
  return values[2] > 0;
}

std::string Ranks::CommunicationSummary(int64_t updates, double train_seconds) const {
  if (!distributed()) return "";
  const double seconds = impl_->comm->seconds_communicating() - impl_->communicating_before_training;
  return absl::StrFormat("%d rank%s: %.1f%% of training in collectives (%.2f ms per update, "
                         "waiting for slower ranks included)",
                         size(), size() == 1 ? "" : "s", 100 * seconds / std::max(train_seconds, 1e-9),
                         1e3 * seconds / static_cast<double>(std::max<int64_t>(updates, 1)));
}

void Ranks::Abort(const absl::Status& status) const {
  if (distributed()) impl_->comm->Abort(status.ToString());
  std::fprintf(stderr, "char_lm: %s\n", std::string(status.message()).c_str());
  std::exit(1);
}

#else  // built without MPI: one rank, and a clear refusal under mpirun

struct Ranks::Impl {};

absl::StatusOr<std::unique_ptr<Ranks>> Ranks::Start(int*, char***) {
  if (const int n = MpirunSize(); n > 1) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "started by mpirun on %d ranks, but this char_lm was built without MPI "
        "(install libopenmpi-dev and rebuild)", n));
  }
  return std::unique_ptr<Ranks>(new Ranks(std::make_unique<Impl>()));
}

bool Ranks::distributed() const { return false; }
int Ranks::rank() const { return 0; }
int Ranks::size() const { return 1; }
absl::Status Ranks::OnRoot(const std::function<absl::Status()>& work) { return work(); }
absl::StatusOr<RunInfo> Ranks::LoadRunInfo(const std::string& checkpoint) {
  return examples::LoadRunInfo(checkpoint);
}
absl::Status Ranks::ShareModel(ParameterStore&, Optimizer&, bool) { return absl::OkStatus(); }
absl::Status Ranks::ReduceGradients(ParameterStore&) { return absl::OkStatus(); }
absl::StatusOr<bool> Ranks::Agree(double&, double&, bool interrupted) { return interrupted; }
std::string Ranks::CommunicationSummary(int64_t, double) const { return ""; }
void Ranks::Abort(const absl::Status& status) const {
  std::fprintf(stderr, "char_lm: %s\n", std::string(status.message()).c_str());
  std::exit(1);
}

#endif

Ranks::Ranks(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ranks::~Ranks() = default;

absl::Status Ranks::CheckFlags(int64_t batch, bool compile) const {
  if (size() == 1) return absl::OkStatus();
  if (batch % size() != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--batch=%d: %d ranks must share the streams equally (a multiple of %d)", batch, size(), size()));
  }
  if (!compile) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d ranks need compiled training (drop --nocompile)", size()));
  }
  return absl::OkStatus();
}

}  // namespace tg::examples
