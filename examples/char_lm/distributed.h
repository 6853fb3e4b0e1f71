// char_lm on N ranks (docs/distributed.md): started by mpirun, every rank trains the same
// model on its share of each batch's streams, the gradients averaged bit-identically across
// ranks (tapegrad::dist); rank 0 alone validates, samples, prints, reads the checkpoint it
// resumes from and writes checkpoints. A plain run (not started by mpirun) has one rank and
// never touches MPI.
//
//   mpirun -np 2 --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo
//          build/examples/char_lm --batch=32 --threads=1     (one command line)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "examples/char_lm/char_checkpoint.h"
#include "examples/char_lm/run_info.h"
#include "graph/parameter.h"
#include "models/optimizer.h"
#include "models/unroll.h"

namespace tg::examples {

// Whether mpirun started this process (Open MPI's OMPI_COMM_WORLD_SIZE or the PMI_SIZE of
// MPICH's launcher is set); known before MPI starts.
bool StartedByMpirun();
// The number of processes mpirun started this one among; 1 when not started by mpirun.
int LaunchedRanks();
// This process's rank as mpirun announced it (OMPI_COMM_WORLD_RANK or PMI_RANK); 0 when
// not started by mpirun.
int LaunchedRank();

// What every rank contributes after its share of an update, and all of them agree on.
struct UpdateSummary {
  double loss = 0;            // the training loss (nats)
  double train_seconds = 0;   // this run's training time so far
  bool interrupted = false;   // Ctrl-C
};

// This process's place among char_lm's ranks: rank 0 of 1 in a plain run.
class Ranks {
 public:
  // Under mpirun (even of one rank) initialises MPI with --deadline_minutes; otherwise one
  // rank without MPI.
  // Ranks other than 0 send their stdout to /dev/null.
  static absl::StatusOr<std::unique_ptr<Ranks>> Start(int* argc, char*** argv);
  // Finalises MPI if Start initialised it.
  ~Ranks();

  // Whether MPI is in use (started by mpirun).
  bool distributed() const;
  // This process's rank, in [0, size()).
  int rank() const;
  // The number of ranks (1 in a plain run).
  int size() const;
  // Rank 0: the one that validates, samples, prints, reads and writes checkpoints.
  bool is_root() const { return rank() == 0; }
  // The first of this rank's streams of a batch of `batch` streams (CheckFlags made sure
  // the ranks divide it).
  int64_t FirstStream(int64_t batch) const { return rank() * Streams(batch); }
  // How many streams of a batch of `batch` this rank trains.
  int64_t Streams(int64_t batch) const { return batch / size(); }

  // Runs `work` on rank 0 alone; every rank returns its Status.
  absl::Status OnRoot(const std::function<absl::Status()>& work);
  // --resume: rank 0 reads the checkpoint's run info (LoadRunInfo); every rank gets it, or
  // rank 0's error.
  absl::StatusOr<RunInfo> LoadRunInfo(const std::string& checkpoint);
  // Every rank checks it built rank 0's model, then takes rank 0's parameter values and
  // optimizer state (the checkpoint's, when rank 0 loaded one).
  absl::Status ShareModel(ParameterStore& store, Optimizer& optimizer);
  // --resume: rank 0's `state` (read from the checkpoint) on every rank. `zero`: the model's
  // zero state for the whole batch, whose shapes the carried state has.
  absl::Status ShareTrainingState(TrainingState& state, const std::vector<State>& zero);
  // This rank's streams (rows FirstStream(batch) onwards) of the whole batch's carried state.
  std::vector<HostState> OwnStreams(const std::vector<HostState>& whole, int64_t batch) const;
  // The whole batch's carried state on every rank, from every rank's `own` streams' state
  // (OwnStreams's inverse).
  std::vector<HostState> GatherStreams(const std::vector<HostState>& own);
  // The store's gradients replaced by their mean over the ranks (the same bits everywhere),
  // and in the same messages `summary`'s loss and clock replaced by their means (every rank
  // then reads the same clock for the time budget, the cosine schedule and checkpoints) and
  // `interrupted` set when any rank was interrupted (Ctrl-C). Every --check_ranks_every
  // calls, first checks that the ranks hold the same weights.
  absl::Status ReduceGradients(ParameterStore& store, UpdateSummary& summary);
  // "2 ranks: 12.3% of training in collectives (4.1 ms per update, ...)" since ShareModel;
  // empty in a plain run.
  std::string CommunicationSummary(int64_t updates, double train_seconds) const;
  // Prints `status` (on N ranks with the rank and the last collective), then ends every
  // rank of the job with status 1.
  [[noreturn]] void Abort(const absl::Status& status) const;

 private:
  struct Impl;  // MPI's communicator, when built with MPI
  explicit Ranks(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tg::examples
