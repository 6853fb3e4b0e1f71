#include "graph/compile/lifetimes.h"

#include "graph/compile/first_writes.h"

namespace tg::compile {

std::vector<Lifetime> ComputeLifetimes(const Program& program, bool written_first) {
  std::vector<Lifetime> life(program.buffers.size());
  auto touch = [&](ValueId v, int at) {
    const BufferId b = program.values[v].buffer;
    if (b < 0) return;
    if (life[b].first < 0) life[b].first = at;
    life[b].last = at;
  };
  for (int k = 0; k < static_cast<int>(program.instructions.size()); ++k) {
    const Instruction& in = program.instructions[k];
    for (ValueId v : in.inputs) touch(v, k);
    touch(in.output, k);
    const BufferId b = program.values[in.output].buffer;
    if (in.accumulate && b >= 0) life[b].accumulated = true;
  }
  auto pin = [&](ValueId v) {
    if (program.values[v].buffer >= 0) life[program.values[v].buffer].pinned = true;
  };
  for (ValueId v : program.feeds) pin(v);
  for (ValueId v : program.outputs) pin(v);
  for (const Constant& c : program.constants) pin(c.value);
  if (!written_first) {
    for (Lifetime& l : life) l.zero_first = l.accumulated;
    return life;
  }
  const SumStarts starts = FindSumStarts(program);
  for (size_t b = 0; b < life.size(); ++b) {
    life[b].zero_first = life[b].accumulated && (!starts.clean[b] || starts.fresh[b]);
  }
  return life;
}

}  // namespace tg::compile
