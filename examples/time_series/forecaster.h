// The model: an LSTM reads the window normalised by its level and scale as a sequence (with
// the log of that scale beside each value, as DeepAR feeds its scale, and optionally the
// value standardised for the whole series, clipped to the range seen), and a linear head
// maps its final h to steps 1..horizon at once, times the window's scale; beside it a
// linear skip connection maps the window (shifted by its level) straight to the same
// outputs (the LSTNet / ES-RNN hybrid), so the LSTM learns what a linear AR misses. Outputs
// are in the task's linear units (WindowTask::FromUnits).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "examples/time_series/windows.h"
#include "graph/graph.h"
#include "graph/parameter.h"
#include "models/layers.h"
#include "models/least_squares.h"
#include "models/lstm_cell.h"

namespace tg::examples {

struct ForecasterOptions {
  int64_t input_size = 0;  // values per window (WindowTask::input_size)
  int64_t horizon = 0;
  int64_t hidden = 0;
  bool skip = true;  // the linear skip connection
  bool level_input = true;  // the LSTM also reads WindowTask::Standardized
};

// What the model reads for a batch of windows, as host arrays: the LSTM's sequence,
// time-major [steps, n, channels]; the skip connection's inputs [n, steps]; each window's
// scale in linear units [n, 1].
struct ForecastInputs {
  int64_t n = 0, steps = 0, channels = 0;
  std::vector<double> sequence, linear, scale;
};

class Forecaster {
 public:
  static absl::StatusOr<Forecaster> Create(ParameterStore& store, const ForecasterOptions& options);

  // Predictions [ids.size(), horizon] (linear units) for windows `ids` of `task`.
  Expr Predict(Graph& g, const WindowTask& task, absl::Span<const int64_t> ids) const;

  // The inputs Predict reads for windows `ids`, written into `out` (its buffers reused).
  void FillInputs(const WindowTask& task, absl::Span<const int64_t> ids,
                  ForecastInputs& out) const;

  // Predictions [n, horizon] from inputs shaped as ForecastInputs' (graph leaves, so that
  // a recorded update can feed them; graph/compile).
  Expr PredictFrom(Graph& g, Expr sequence, Expr linear, Expr scale) const;

  // Channels per step of the LSTM's sequence.
  int64_t channels() const { return options_.level_input ? 3 : 2; }

  // Starts the skip connection at `fit` (FitNormalizedAr: a least-squares AR in the same
  // units) and the
  // LSTM's head at zero, so that training starts from the linear AR and the LSTM adds what
  // it can. FailedPrecondition without a skip connection; InvalidArgument when the sizes of
  // `fit` differ from the model's.
  absl::Status StartFromLinear(ParameterStore& store, const LinearFit& fit) const;

 private:
  ForecasterOptions options_;
  LstmCell cell_;
  Linear head_;
  Linear skip_;
};

// Forecasts (original units) of windows [begin, begin + count) of `task`, run on `g` (an
// inference graph; it is cleared first). Reusing one graph for every evaluation reuses its
// memory, where a fresh graph would touch hundreds of MB of new pages each time.
absl::StatusOr<Forecasts> ForecastWindows(const Forecaster& model, const WindowTask& task,
                                          int64_t begin, int64_t count, Graph& g);

}  // namespace tg::examples
