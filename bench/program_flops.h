// The GEMM FLOPs a compiled program runs, counted from its lowered matmul steps (the
// products it actually executes after pruning and time batching), so that a benchmark can
// show which products a run does -- e.g. that d loss / d x adds its 2*T*B*G*H*I.
#ifndef TAPEGRAD_BENCH_PROGRAM_FLOPS_H_
#define TAPEGRAD_BENCH_PROGRAM_FLOPS_H_

#include <cstdint>

#include "graph/compile/compiled_graph.h"
#include "graph/compile/executable.h"
#include "graph/op_def.h"

namespace tg::bench {

// Sum over the program's matmul steps of 2*M*N*K. A step's operands have the shapes of the
// product it runs (a stacked step's are the stacked ones): C[M,N] from A with M*K elements,
// so K = |A| / M whichever operand is transposed.
inline int64_t ProgramMatmulFlops(const CompiledGraph& program) {
  const compile::Executable& exe = program.program();
  int64_t flops = 0;
  for (const compile::Step& step : exe.steps) {
    // A step preparing B does no product; one reading B prepared has it as a third input.
    if (step.op == nullptr || step.op->name != "matmul" || step.prepares >= 0 ||
        step.inputs.size() != (step.prepared >= 0 ? 3u : 2u)) {
      continue;
    }
    const Shape& c = exe.shape(step.output);
    const Shape& a = exe.shape(step.inputs[0]);
    if (c.rank() != 2 || c[0] == 0) continue;
    flops += 2 * c.num_elements() * (a.num_elements() / c[0]);
  }
  return flops;
}

}  // namespace tg::bench

#endif  // TAPEGRAD_BENCH_PROGRAM_FLOPS_H_
