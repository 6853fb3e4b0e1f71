// What the MPI test binaries share: the world communicator their main() set up, and a tiny
// LSTM regressor whose loss is a mean over the batch, so that P ranks with 1/P of the batch
// each, their gradients averaged, make the update one process makes with the whole batch.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "dist/dist.h"
#include "graph/parameter.h"
#include "models/layers.h"
#include "models/lstm_cell.h"

namespace tg::testing {

// The communicator over every rank of the test job (set up by mpi_test_main.cc).
Communicator& World();

// Inputs [T, B*I] and targets [T, B], time-major, with fixed seeds.
struct RegressionBatch {
  int64_t batch = 0;
  std::vector<double> xs, ys;
  static RegressionBatch Random(int64_t batch, uint64_t seed);
};

// An LSTM (input 3, hidden `hidden`) with a linear head; loss: sum over T steps of the mean
// over the batch of the squared error.
class TinyLstm {
 public:
  static constexpr int64_t kSteps = 4, kInput = 3;
  static absl::StatusOr<TinyLstm> Create(ParameterStore& store, DType dtype, int64_t hidden = 5);
  // The loss over batch rows [begin, end) of `data`; its gradients accumulate into the store.
  absl::StatusOr<double> Backprop(const RegressionBatch& data, int64_t begin, int64_t end) const;

 private:
  LstmCell cell_;
  Linear head_;
  DType dtype_ = DType::kF32;
};

// The raw bytes of every parameter value, back to back.
std::vector<unsigned char> ParameterBytes(const ParameterStore& store);

}  // namespace tg::testing
