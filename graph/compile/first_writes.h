/// \file
/// First sums become writes. Backward sums every contribution into a gradient buffer, and a
/// buffer something sums into starts from zero where it is first touched: a zeroing step over
/// all of it. When the first contribution to each part of a buffer is a sum into bytes nothing
/// touched yet — a per-step gradient whose steps fill disjoint rows of one stacked buffer, the
/// first of the column-slice gradients that fill a step's rows — that sum can write instead,
/// and the zeroing goes: this pass finds those sums, in program order over each buffer's bytes.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/compile/program.h"

namespace tg::compile {

/// How the sums into one buffer start, from one walk over the program in order.
struct SumStarts {
  /// Per buffer: every read and every sum of it lands on bytes an earlier instruction wrote
  /// (or summed into), or is a sum into bytes nothing touched before that reads none of them
  /// (a fresh sum). Planned buffers the host does not touch only; false for the others.
  std::vector<bool> clean;
  /// Per buffer: a fresh sum lands in it.
  std::vector<bool> fresh;
  /// Per instruction: its sum is a fresh sum into a clean buffer.
  std::vector<bool> fresh_sum;
};

/// The walk behind WriteFirstSums and Lifetime::zero_first.
SumStarts FindSumStarts(const Program& program);

/// `program` with every fresh sum into a clean buffer (SumStarts) made a write: those
/// buffers then need no zeroing. `converted`, if given, receives how many sums became writes.
Program WriteFirstSums(Program program, int64_t* converted = nullptr);

}  // namespace tg::compile
