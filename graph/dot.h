/// \file
/// WriteDot / ToDot: a picture of any graph, for finding your way around an unrolled net or its
/// backward pass. Renders the tape as Graphviz DOT: one node per op (leaves as boxes, parameters
/// by their name), edges labelled with the shape they carry, and one nested cluster per name
/// scope ("step_3" > "lstm" > "tanh_backward"). Usage:
/// \code{.cpp}
///   tg::DotOptions opts;
///   opts.only_scope = "step_1";  // or all of it (up to opts.max_nodes nodes)
///   TG_RETURN_IF_ERROR(tg::WriteDot(g, "/tmp/lstm.dot", opts));
///   // then: dot -Tsvg /tmp/lstm.dot -o lstm.svg
/// \endcode
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"

namespace tg {

/// What ToDot and WriteDot draw.
struct DotOptions {
  std::string title;  ///< Drawn above the graph; empty: none.
  /// More nodes to draw than this is an InvalidArgument (naming the count and this option)
  /// rather than an unreadable picture; <= 0: no limit.
  int64_t max_nodes = 5000;
  /// Non-empty: draw only nodes whose scope path is this scope or lies under it, compared by
  /// whole components ("step_1" keeps "step_1/lstm/mul", not "step_10/..."), plus the nodes
  /// they read from outside it as small dashed boxes. No node in the scope: NotFound.
  std::string only_scope;
};

/// The graph as DOT text. Node ids are stable: node #41 is "n41".
absl::StatusOr<std::string> ToDot(const Graph& g, const DotOptions& options = {});

/// ToDot, written to `path` (through a temporary file renamed into place, so a reader never
/// sees half a file). Errors name the path and the system's reason.
absl::Status WriteDot(const Graph& g, const std::string& path, const DotOptions& options = {});

}  // namespace tg
