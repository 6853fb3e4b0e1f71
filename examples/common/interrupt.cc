#include "examples/common/interrupt.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace tg::examples {
namespace {

std::atomic<bool> interrupted{false};

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// The one thread that takes the signals: the first raises the flag; then this thread alone
// unblocks them, so a second one gets its default action here and ends the process.
void* AwaitStopSignals(void*) {
  const sigset_t stop = StopSignals();
  int signal = 0;
  while (sigwait(&stop, &signal) != 0) {
  }
  interrupted.store(true);
  pthread_sigmask(SIG_UNBLOCK, &stop, nullptr);
  for (;;) pause();
}

void Fail(const char* what, int err) {
  std::fprintf(stderr, "InstallInterruptHandler: %s: %s\n", what, std::strerror(err));
  std::exit(1);
}

}  // namespace

void InstallInterruptHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The default action, also where the launcher left them ignored (a script's background
    // job ignores SIGINT): POSIX leaves an ignored signal to sigwait unspecified, and the
    // second one must end the program.
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    const sigset_t stop = StopSignals();
    if (const int err = pthread_sigmask(SIG_BLOCK, &stop, nullptr); err != 0) {
      Fail("pthread_sigmask", err);
    }
    // Detached: it sleeps until the process ends and touches nothing static destructors free.
    pthread_t waiter;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    const int err = pthread_create(&waiter, &attr, AwaitStopSignals, nullptr);
    pthread_attr_destroy(&attr);
    if (err != 0) Fail("pthread_create", err);
  });
}

bool InterruptRequested() { return interrupted.load(); }

}  // namespace tg::examples
