// What the ranks of a sequence-parallel job exchange outside the DiT (see RunHooks::comm).
//
// Every rank computes the job-constant conditioning itself (so every rank knows every shape), then takes
// rank 0's values: the DiT's ranks must see bit-identical conditions, and devices of one kind are not
// guaranteed to round alike. The next chunk's motion latents come from rank 0 alone (only it decodes).
// Without a communicator (or at world size 1) every helper is the identity.
#pragma once

#include <ATen/ATen.h>

#include "distributed/distributed_runner.hpp"
#include "talkgen/generate.hpp"

namespace talkgen::pipeline {

/// Rank 0's `tensor` on every rank, on `device` (the rank's own; NCCL needs it). Every rank passes a tensor of
/// the same shape and dtype; the others' values are ignored. A collective.
at::Tensor from_rank0(Communicator* comm, const at::Tensor& tensor, const at::Device& device);

/// Throws the group's failure (its code, naming the failed rank) if another rank has aborted it; lets a rank
/// doing work outside collectives (rank 0 decoding) stop early.
void throw_if_group_failed(Communicator* comm, const char* what);

/// Wraps rank 0's progress callback so that cancelling also aborts the group with Error(cancelled): the other
/// ranks leave their collectives at once and fail with the same code instead of waiting for a timeout.
GenerateProgressCallback cancel_aborts_group(GenerateProgressCallback callback, Communicator* comm);

}  // namespace talkgen::pipeline
