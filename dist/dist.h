// tapegrad's data parallelism across processes and machines on MPI (docs/distributed.md):
// the Communicator, keeping the ranks' models equal, and the deterministic gradient mean.
#pragma once

#include "dist/all_reduce.h"
#include "dist/broadcast.h"
#include "dist/communicator.h"
#include "dist/parameters.h"
