#include "examples/char_lm/distributed.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "examples/char_lm/flags.h"
#include "nlohmann/json.hpp"
#if TG_HAVE_DIST
#include "dist/dist.h"
#endif

namespace tg::examples {
namespace {

// The first of `names` set in the environment as a whole number; `otherwise` when none is.
int EnvironmentNumber(std::initializer_list<const char*> names, int otherwise) {
  for (const char* name : names) {
    int n = 0;
    if (const char* value = std::getenv(name); value != nullptr && absl::SimpleAtoi(value, &n)) return n;
  }
  return otherwise;
}

}  // namespace

bool StartedByMpirun() { return EnvironmentNumber({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}, 0) > 0; }
int LaunchedRanks() { return std::max(1, EnvironmentNumber({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}, 1)); }
int LaunchedRank() { return EnvironmentNumber({"OMPI_COMM_WORLD_RANK", "PMI_RANK"}, 0); }

std::vector<HostState> Ranks::OwnStreams(const std::vector<HostState>& whole, int64_t batch) const {
  if (size() == 1) return whole;
  const int64_t first = FirstStream(batch), streams = Streams(batch);
  std::vector<HostState> own;
  for (const HostState& s : whole) {
    const int64_t hidden = s.shape.dim(1);
    HostState mine{.shape = {streams, hidden}, .dtype = s.dtype};
    for (auto part : {&HostState::h, &HostState::c}) {
      const std::vector<double>& from = s.*part;
      if (from.empty()) continue;
      (mine.*part).assign(from.begin() + first * hidden, from.begin() + (first + streams) * hidden);
    }
    own.push_back(std::move(mine));
  }
  return own;
}

#if TG_HAVE_DIST

struct Ranks::Impl {
  std::unique_ptr<Communicator> comm;  // null: a plain run
  double communicating_before_training = 0;
};

absl::StatusOr<std::unique_ptr<Ranks>> Ranks::Start(int* argc, char*** argv) {
  auto impl = std::make_unique<Impl>();
  if (StartedByMpirun()) {
    const double minutes = absl::GetFlag(FLAGS_deadline_minutes);  // > 0: CheckFlags
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
  // Rank 0 reads the file and sends the run info as checkpoint metadata (RunInfoMetadata,
  // exact text); the others read that back, so every rank holds rank 0's RunInfo.
  RunInfo info;
  std::string wire;
  TG_RETURN_IF_ERROR(OnRoot([&]() -> absl::Status {
    TG_ASSIGN_OR_RETURN(info, examples::LoadRunInfo(checkpoint));
    wire = nlohmann::json(RunInfoMetadata(info)).dump();
    return absl::OkStatus();
  }));
  TG_RETURN_IF_ERROR(BroadcastString(*impl_->comm, wire));
  if (is_root()) return info;
  return RunInfoFromMetadata(nlohmann::json::parse(wire).get<std::map<std::string, std::string>>(),
                             checkpoint);
}

absl::Status Ranks::ShareModel(ParameterStore& store, Optimizer& optimizer) {
  if (!distributed()) return absl::OkStatus();
  TG_RETURN_IF_ERROR(CheckSameModel(*impl_->comm, store));
  TG_RETURN_IF_ERROR(BroadcastParameters(*impl_->comm, store));
  TG_RETURN_IF_ERROR(BroadcastTensors(*impl_->comm, optimizer.StateTensors()));
  impl_->communicating_before_training = impl_->comm->seconds_communicating();
  return absl::OkStatus();
}

absl::Status Ranks::ShareTrainingState(TrainingState& state, const std::vector<State>& zero) {
  if (!distributed()) return absl::OkStatus();
  // The scalars as JSON (the loss as exact text), then the carried state as tensors.
  std::string wire;
  if (is_root()) {
    nlohmann::json j = {{"dropout_rng", state.dropout_rng},
                        {"last_train_loss", ExactText(state.last_train_loss)},
                        {"carried", !state.carried.empty()}};
    if (state.compiled_runs.has_value()) j["compiled_runs"] = *state.compiled_runs;
    wire = j.dump();
  }
  TG_RETURN_IF_ERROR(BroadcastString(*impl_->comm, wire));
  const nlohmann::json j = nlohmann::json::parse(wire);
  if (!is_root()) {
    state = {.dropout_rng = j["dropout_rng"].get<std::string>()};
    if (j.contains("compiled_runs")) state.compiled_runs = j["compiled_runs"].get<uint64_t>();
    if (!absl::SimpleAtod(j["last_train_loss"].get<std::string>(), &state.last_train_loss)) {
      return absl::InternalError(absl::StrCat("rank ", rank(), ": the training loss rank 0 sent is not a number"));
    }
    if (j["carried"].get<bool>()) {
      for (const State& s : zero) {  // shapes rank 0 checked (CheckResumedState)
        const size_t n = static_cast<size_t>(s.h.shape().num_elements());
        state.carried.push_back({.shape = s.h.shape(), .dtype = DType::kF32,
                                 .h = std::vector<double>(n), .c = std::vector<double>(s.c.valid() ? n : 0)});
      }
    }
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (size_t l = 0; l < state.carried.size(); ++l) {
    HostState& s = state.carried[l];
    tensors.emplace_back(absl::StrCat("carried.l", l, ".h"), Tensor(s.h.data(), DType::kF64, s.shape));
    if (!s.c.empty()) {
      tensors.emplace_back(absl::StrCat("carried.l", l, ".c"), Tensor(s.c.data(), DType::kF64, s.shape));
    }
  }
  return BroadcastTensors(*impl_->comm, tensors);
}

std::vector<HostState> Ranks::GatherStreams(const std::vector<HostState>& own) {
  if (!distributed()) return own;
  // Every rank's values in the same layout (layer by layer, h then c), which rank order
  // puts together: the ranks hold consecutive blocks of streams.
  std::string mine;
  for (const HostState& s : own) {
    for (const std::vector<double>* part : {&s.h, &s.c}) {
      mine.append(reinterpret_cast<const char*>(part->data()), part->size() * sizeof(double));
    }
  }
  const std::vector<std::string> all = AllGatherString(*impl_->comm, mine);
  std::vector<HostState> whole;
  size_t offset = 0;  // bytes into each rank's values
  for (const HostState& s : own) {
    HostState w{.shape = {s.shape.dim(0) * size(), s.shape.dim(1)}, .dtype = s.dtype};
    for (auto part : {&HostState::h, &HostState::c}) {
      const size_t bytes = (s.*part).size() * sizeof(double);
      for (const std::string& theirs : all) {
        const size_t at = (w.*part).size();
        (w.*part).resize(at + (s.*part).size());
        std::memcpy((w.*part).data() + at, theirs.data() + offset, bytes);
      }
      offset += bytes;
    }
    whole.push_back(std::move(w));
  }
  return whole;
}

absl::Status Ranks::ReduceGradients(ParameterStore& store, UpdateSummary& summary) {
  if (!distributed()) return absl::OkStatus();
  double riders[3] = {summary.loss, summary.train_seconds, summary.interrupted ? 1.0 : 0.0};
  TG_RETURN_IF_ERROR(AllReduceGradients(*impl_->comm, store,
                                        {.check_parameters_every = absl::GetFlag(FLAGS_check_ranks_every),
                                         .riders = absl::MakeSpan(riders)}));
  summary = {.loss = riders[0], .train_seconds = riders[1], .interrupted = riders[2] > 0};
  return absl::OkStatus();
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
  if (const int n = LaunchedRanks(); n > 1) {
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
absl::Status Ranks::ShareModel(ParameterStore&, Optimizer&) { return absl::OkStatus(); }
absl::Status Ranks::ShareTrainingState(TrainingState&, const std::vector<State>&) { return absl::OkStatus(); }
std::vector<HostState> Ranks::GatherStreams(const std::vector<HostState>& own) { return own; }
absl::Status Ranks::ReduceGradients(ParameterStore&, UpdateSummary&) { return absl::OkStatus(); }
std::string Ranks::CommunicationSummary(int64_t, double) const { return ""; }
void Ranks::Abort(const absl::Status& status) const {
  std::fprintf(stderr, "char_lm: %s\n", std::string(status.message()).c_str());
  std::exit(1);
}

#endif

Ranks::Ranks(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ranks::~Ranks() = default;

}  // namespace tg::examples
