// A user's data-parallel program: the ranks average rank + 1 (1.5 on two ranks).
#include <cstdio>
#include <vector>

#include "dist/dist.h"

int main(int argc, char** argv) {
  auto comm = tg::Communicator::Init(&argc, &argv);
  if (!comm.ok()) {
    std::printf("%s\n", comm.status().ToString().c_str());
    return 1;
  }
  std::vector<double> value = {(*comm)->rank() + 1.0};
  absl::Status s = tg::AllReduceMean(**comm, {tg::Tensor(value.data(), tg::DType::kF64, {1})});
  if (!s.ok()) (*comm)->Abort(s.ToString());
  if ((*comm)->is_root()) std::printf("mean over %d ranks = %g\n", (*comm)->size(), value[0]);
  return 0;
}
