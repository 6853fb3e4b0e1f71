#include "graph/compile/prune.h"

#include "graph/compile/dependencies.h"

namespace tg::compile {

Program Prune(Program program, int64_t* work) {
  const Dependencies deps(program);
  const int n = static_cast<int>(program.instructions.size());
  std::vector<bool> is_output_buffer(program.buffers.size(), false);
  for (ValueId o : program.outputs) {
    if (program.values[o].buffer >= 0) is_output_buffer[program.values[o].buffer] = true;
  }
  auto writes_output = [&](ValueId v) {
    const BufferId b = program.values[v].buffer;
    if (b < 0 || !is_output_buffer[b]) return false;
    for (ValueId o : program.outputs) {
      if (program.Overlap(v, o)) return true;
    }
    return false;
  };
  std::vector<bool> needed(n, false);
  for (int i = n - 1; i >= 0; --i) {
    const ValueId out = program.instructions[i].output;
    const BufferId b = program.values[out].buffer;
    bool need = b < 0 || program.buffers[b].storage == Storage::kExternal || writes_output(out);
    for (int j : deps.after(i)) need = need || needed[j];
    needed[i] = need;
  }
  if (work != nullptr) *work = deps.work() + static_cast<int64_t>(n);
  std::vector<Instruction> kept;
  kept.reserve(n);
  for (int i = 0; i < n; ++i) {
    if (needed[i]) kept.push_back(std::move(program.instructions[i]));
  }
  program.instructions = std::move(kept);
  return program;
}

}  // namespace tg::compile
