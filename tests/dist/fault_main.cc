// dist_fault: a small training loop in which one rank fails on purpose at a given update, to
// show that the job ends (non-zero, within the deadline) with the operation and rank named.
//   mpirun -np 2 dist_fault --how=stop --rank=1 --at=5 --deadline=3
// --how: stop (SIGSTOP: the rank hangs), kill (SIGKILL), throw (an uncaught exception),
// error (a failed Status, ended with Communicator::Abort), none (trains to the end).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "absl/strings/numbers.h"
#include "base/status_macros.h"
#include "dist/dist.h"
#include "models/optimizers.h"
#include "tests/dist/mpi_test_env.h"

namespace {

struct Args {
  std::string how = "none";
  int rank = 1, at = 5, updates = 30;
  double deadline = 3;
};

bool Parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(0, eq), value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    bool ok = true;
    if (key == "--how") {
      a->how = value;
      ok = value == "stop" || value == "kill" || value == "throw" || value == "error" || value == "none";
    } else if (key == "--rank") {
      ok = absl::SimpleAtoi(value, &a->rank);
    } else if (key == "--at") {
      ok = absl::SimpleAtoi(value, &a->at);
    } else if (key == "--updates") {
      ok = absl::SimpleAtoi(value, &a->updates);
    } else if (key == "--deadline") {
      ok = absl::SimpleAtod(value, &a->deadline) && a->deadline > 0;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "dist_fault: bad argument '%s' (--how=stop|kill|throw|error|none "
                           "--rank=R --at=K --updates=N --deadline=SECONDS)\n", arg.c_str());
      return false;
    }
  }
  return true;
}

absl::Status Train(tg::Communicator& comm, const Args& args) {
  tg::ParameterStore store({.seed = 3});
  TG_ASSIGN_OR_RETURN(tg::testing::TinyLstm model, tg::testing::TinyLstm::Create(store, tg::DType::kF32));
  TG_RETURN_IF_ERROR(tg::CheckSameModel(comm, store));
  TG_RETURN_IF_ERROR(tg::BroadcastParameters(comm, store));
  tg::Sgd sgd(store, {.learning_rate = 0.1});
  const int64_t per = 4, begin = comm.rank() * per;
  for (int update = 1; update <= args.updates; ++update) {
    if (comm.rank() == args.rank && update == args.at) {
      std::fprintf(stderr, "dist_fault: rank %d: %s at update %d\n", comm.rank(), args.how.c_str(), update);
      if (args.how == "stop") std::raise(SIGSTOP);
      if (args.how == "kill") std::raise(SIGKILL);
      if (args.how == "throw") throw std::runtime_error("injected failure");
      if (args.how == "error") return absl::InternalError("injected failure");
    }
    const auto data = tg::testing::RegressionBatch::Random(per * comm.size(), update);
    TG_RETURN_IF_ERROR(model.Backprop(data, begin, begin + per).status());
    TG_RETURN_IF_ERROR(tg::AllReduceGradients(comm, store));
    TG_RETURN_IF_ERROR(sgd.Step());
    store.ZeroGrad();
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!Parse(argc, argv, &args)) return 2;
  auto comm = tg::Communicator::Init(&argc, &argv, {.deadline = absl::Seconds(args.deadline)});
  if (!comm.ok()) {
    std::fprintf(stderr, "dist_fault: %s\n", comm.status().ToString().c_str());
    return 1;
  }
  (*comm)->AbortOnUncaughtException();
  if (absl::Status s = Train(**comm, args); !s.ok()) (*comm)->Abort(s.ToString());
  std::printf("rank %d: trained %d updates\n", (*comm)->rank(), args.updates);
  return 0;
}
