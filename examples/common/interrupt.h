// Ctrl-C for long training runs: the first SIGINT (or SIGTERM) only raises a flag, so the
// loop can finish its step and save a checkpoint; a second one ends the program at once.
//
// No signal handler ever runs on a thread that trains: oneDNN 2.x's JIT f32 GEMM kernels
// point the stack pointer into a heap workspace while they run (uxlfoundation/oneDNN#4845),
// so a signal delivered to a thread inside one writes its frame over the heap. Instead the
// two signals are blocked in the program's threads and taken by one thread that waits for
// them. Child processes (gnuplot through popen) inherit the blocked signals.
#pragma once

namespace tg::examples {

// Takes SIGINT and SIGTERM on a thread of its own from now on: blocks them in the calling
// thread (and so in every thread it starts later) and starts the thread that waits for them.
// Call it once, early in main, before the program starts any thread: a thread started
// earlier would still receive the signals, with their default action.
void InstallInterruptHandler();

// Whether a SIGINT or SIGTERM has arrived since InstallInterruptHandler.
bool InterruptRequested();

}  // namespace tg::examples
