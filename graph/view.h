// Whether a node's output is a dense view of its input 0 (OpDef::view), and where it starts.
// The executor, Backward and the compiler all ask this one question the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/functional/function_ref.h"
#include "graph/expr.h"
#include "graph/node.h"

namespace tg {

class Graph;

// The element offset in input 0 at which `n`'s output starts if it is a view of that input
// (the op declares OpDef::view and accepts these input types); nullopt otherwise.
// `input_type(i)` gives the type of n's input i.
std::optional<int64_t> ViewOffset(const Node& n,
                                  absl::FunctionRef<TensorType(size_t i)> input_type);

// ViewOffset for node `id` of `g`, with its inputs' recorded types.
std::optional<int64_t> ViewOffset(const Graph& g, NodeId id);

}  // namespace tg
