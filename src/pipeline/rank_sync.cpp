#include "pipeline/rank_sync.hpp"

#include "distributed/comm_failure.hpp"
#include "talkgen/error.hpp"

namespace talkgen::pipeline {

at::Tensor from_rank0(Communicator* comm, const at::Tensor& tensor, const at::Device& device) {
  const at::Tensor here = tensor.to(device);
  if (!comm || comm->world_size() == 1) return here;
  return comm->broadcast(here, 0);
}

void throw_if_group_failed(Communicator* comm, const char* what) {
  if (!comm) return;
  if (const auto failure = comm->failure()) distributed::throw_aborted(*failure, what, comm->rank());
}

GenerateProgressCallback cancel_aborts_group(GenerateProgressCallback callback, Communicator* comm) {
  if (!callback || !comm || comm->world_size() == 1) return callback;
  return [callback = std::move(callback), comm](const GenerateProgress& p) {
    const bool go_on = callback(p);
    if (!go_on && p.stage != GenerateProgress::Stage::done)
      comm->abort({comm->rank(), ErrorCode::cancelled,
                   fmt::format("the job was cancelled by its progress callback (chunk {} of {}, step {} of {})",
                               p.chunk + 1, p.chunks, p.step, p.steps)});
    return go_on;
  };
}

}  // namespace talkgen::pipeline
