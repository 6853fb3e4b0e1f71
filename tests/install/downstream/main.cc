// A user's program: y = tanh(x) at x = 1, dy/dx = 1 - tanh(1)^2 = 0.41997...
#include <cstdio>
#include <vector>

#include "autodiff/backward.h"
#include "ops/ops.h"

int main() {
  tg::Graph g;
  std::vector<float> one = {1.0f};
  tg::Expr x = g.Input({1}, one, {.requires_grad = true});
  tg::Expr y = tg::Sum(tg::Tanh(x));
  auto grads = tg::Backward(y, {x});
  if (!grads.ok()) {
    std::printf("%s\n", grads.status().ToString().c_str());
    return 1;
  }
  auto dx = (*grads)[0].ToVector<float>();
  if (!dx.ok()) return 1;
  std::printf("dy/dx = %.6f\n", (*dx)[0]);
  return 0;
}
