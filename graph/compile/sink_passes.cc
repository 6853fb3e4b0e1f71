#include "graph/compile/sink_passes.h"

#include <algorithm>
#include <numeric>
#include <tuple>
#include <utility>
#include <vector>

#include "graph/compile/dependencies.h"

namespace tg::compile {
namespace {

bool IsPass(const Instruction& in) {
  return in.op != nullptr && in.op->pointwise && !in.accumulate && in.stacked == 1 &&
         in.prepares < 0 && in.prepared < 0;
}

}  // namespace

Program SinkPasses(Program program, int64_t* moved) {
  const int n = static_cast<int>(program.instructions.size());
  const Dependencies deps(program);
  // anchor[i]: the instruction that stays in place which i ends up right before (i itself when
  // it stays). Found from the last instruction up, so a reader's anchor is known first.
  std::vector<int> anchor(n);
  std::vector<bool> sinks(n, false);
  int64_t count = 0;
  for (int i = n - 1; i >= 0; --i) {
    anchor[i] = i;
    const absl::Span<const int> after = deps.after(i);
    if (!IsPass(program.instructions[i]) || after.empty()) continue;
    int first = n;
    for (int j : after) first = std::min(first, anchor[j]);
    if (first <= i + 1) continue;
    anchor[i] = first;
    sinks[i] = true;
    ++count;
  }
  if (moved != nullptr) *moved = count;
  if (count == 0) return program;
  // Sunk instructions go before their anchor, in program order among themselves.
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return std::make_tuple(anchor[a], !sinks[a]) < std::make_tuple(anchor[b], !sinks[b]);
  });
  std::vector<Instruction> sorted;
  sorted.reserve(n);
  for (int i : order) sorted.push_back(std::move(program.instructions[i]));
  program.instructions = std::move(sorted);
  return program;
}

}  // namespace tg::compile
