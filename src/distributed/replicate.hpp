// Making every rank hold the same tensors: rank 0's values copied into every other rank's (in place).
// For weights that were not loaded from one file, e.g. a benchmark's random weights, which each device
// draws differently: a sequence-parallel forward is only the one-device forward when every rank's
// weights are equal.
#pragma once

#include <vector>

#include <ATen/ATen.h>

#include "distributed/distributed_runner.hpp"

namespace talkgen::distributed {

/// Overwrites each tensor with rank 0's tensor at the same position. A collective: every rank passes its
/// tensors in the same order with the same shapes and dtypes. Parameters are written without autograd.
void copy_from_rank0(const std::vector<at::Tensor>& tensors, Communicator& comm);

}  // namespace talkgen::distributed
