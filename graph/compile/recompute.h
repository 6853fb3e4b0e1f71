/// \file
/// Activation checkpointing over time. The checkpoints (Graph::MarkCheckpoint; Unroll marks
/// the carried state every UnrollOptions::checkpoint_every steps) cut the forward work into
/// segments: segment j is the forward instructions after checkpoint j-1 up to checkpoint j, in
/// node order (a checkpoint ends where the last of its values is made:
/// Graph::checkpoint_ends); the forward work after the last checkpoint is no segment. With
/// recompute, the segment is made again just before the backward first reads a value that
/// only the segment makes and reads (not a checkpoint, not read by other forward work): its
/// instructions run once more, whole, into buffers of their own, and from there on the
/// backward reads the copies of such values (others it reads where they are kept, as without
/// recompute). The originals of such values then die inside their segment, so the
/// forward keeps only the checkpoints and what other segments or the work after the last
/// checkpoint read (stacked outputs feeding a head stay, for instance). The copy depends on
/// itself as the original did, so time batching stacks it alike, and ops that draw random
/// numbers draw the same again (a run seeds a copy as it seeds the original): the copy's
/// values are the original's, bit for bit.
///
/// Time batching is cut at the same places: each instruction gets a region -- its segment in
/// the forward, the stretch of backward between two recomputations -- and only instructions
/// of one region are stacked (so no stacked operand spans the whole sequence). The regions do
/// not depend on whether segments are recomputed, so a program cut but not recomputed gives
/// the very bits of one recomputed.
#pragma once

#include "graph/compile/program.h"

namespace tg::compile {

/// What CutAtCheckpoints did.
struct RecomputeStats {
  int segments = 0;  ///< Segments the checkpoints made.
  int recomputed = 0;  ///< Segments made again during the backward.
  int copies = 0;  ///< Instructions added to make them again.
};

/// `program` cut into regions at its checkpoints and, with `recompute`, with each segment's
/// work made again before the backward needs it (graph/compile/recompute.h). A program
/// without checkpoints comes back unchanged.
Program CutAtCheckpoints(Program program, bool recompute, RecomputeStats* stats = nullptr);

}  // namespace tg::compile
