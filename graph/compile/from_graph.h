/// \file
/// The first pass: a recorded graph as a Program (graph/compile/program.h). Value i is node
/// i's value, and the instructions are the nodes that run a kernel (not leaves, not views), in
/// node order. Memory the graph already holds -- leaves, the gradient buffers Backward
/// assigned, every value of an eager graph -- is matched by address once, here: tensors that
/// overlap share a buffer, arena memory is planned and other memory (parameters and their
/// gradients) external. A node without memory gets a buffer of its own, or lies in its input's
/// if it is a view (OpDef::view). Nothing is allocated. The graph's checkpoints and where its
/// backward starts come along (graph/compile/recompute.h uses them).
#pragma once

#include "absl/types/span.h"
#include "graph/compile/program.h"
#include "graph/graph.h"

namespace tg::compile {

/// The program `graph` records, reading `outputs` after each run and taking new values of
/// the input leaves `feeds` before it. The graph must be free of errors; the program's
/// Constant::bytes point into it.
Program ProgramFromGraph(Graph& graph, absl::Span<const NodeId> feeds,
                         absl::Span<const NodeId> outputs);

}  // namespace tg::compile
