#include "examples/common/interrupt.h"

#include <atomic>
#include <csignal>

namespace tg::examples {
namespace {

std::atomic<bool> interrupted{false};

void OnSignal(int signal) {
  interrupted.store(true);
  std::signal(signal, SIG_DFL);  // a second Ctrl-C is not ignored
}

}  // namespace

void InstallInterruptHandler() {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
}

bool InterruptRequested() { return interrupted.load(); }

}  // namespace tg::examples
