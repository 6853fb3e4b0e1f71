// Ctrl-C for long training runs: the first SIGINT (or SIGTERM) only raises a flag, so the
// loop can finish its step and save a checkpoint; a second one ends the program at once.
#pragma once

namespace tg::examples {

void InstallInterruptHandler();
bool InterruptRequested();

}  // namespace tg::examples
