#include "graph/compile/concurrent_lifetimes.h"

#include <algorithm>

#include "graph/compile/dependencies.h"

namespace tg::compile {

std::vector<int> InstructionLevels(const Program& program) {
  const Dependencies deps(program);
  std::vector<int> level(program.instructions.size(), 0);
  for (size_t i = 0; i < level.size(); ++i) {
    for (int p : deps.before(static_cast<int>(i))) level[i] = std::max(level[i], level[p] + 1);
  }
  return level;
}

std::vector<Lifetime> ConcurrentLifetimes(const Program& program,
                                          absl::Span<const Lifetime> lifetimes) {
  const int n = static_cast<int>(program.instructions.size());
  std::vector<Lifetime> out(lifetimes.begin(), lifetimes.end());
  if (n == 0) return out;
  const std::vector<int> level = InstructionLevels(program);
  const int levels = *std::max_element(level.begin(), level.end()) + 1;
  // last_upto[l]: the last instruction of a level <= l; first_from[l]: the first of a level
  // >= l.
  std::vector<int> last_upto(levels, -1), first_from(levels + 1, n);
  std::vector<int> low(program.buffers.size(), levels), high(program.buffers.size(), -1);
  for (int i = 0; i < n; ++i) {
    last_upto[level[i]] = std::max(last_upto[level[i]], i);
    first_from[level[i]] = std::min(first_from[level[i]], i);
    auto touch = [&](ValueId v) {
      const BufferId b = program.values[v].buffer;
      if (b < 0) return;
      low[b] = std::min(low[b], level[i]);
      high[b] = std::max(high[b], level[i]);
    };
    for (ValueId v : program.instructions[i].inputs) touch(v);
    touch(program.instructions[i].output);
  }
  for (int l = 1; l < levels; ++l) last_upto[l] = std::max(last_upto[l], last_upto[l - 1]);
  for (int l = levels - 1; l >= 0; --l) first_from[l] = std::min(first_from[l], first_from[l + 1]);
  for (size_t b = 0; b < out.size(); ++b) {
    Lifetime& life = out[b];
    if (life.first < 0 || high[b] < 0) continue;
    life.first = std::min(life.first, first_from[low[b]]);
    life.last = std::max(life.last, last_upto[high[b]]);
  }
  return out;
}

}  // namespace tg::compile
