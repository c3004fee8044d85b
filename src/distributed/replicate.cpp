#include "distributed/replicate.hpp"

#include <ATen/core/grad_mode.h>

namespace talkgen::distributed {

void copy_from_rank0(const std::vector<at::Tensor>& tensors, Communicator& comm) {
  if (comm.world_size() == 1) return;
  at::NoGradGuard no_grad;
  // One tensor at a time: the temporary is one parameter, not a second copy of the model.
  for (const at::Tensor& t : tensors) {
    at::Tensor received = comm.broadcast(t, 0);
    if (comm.rank() != 0) const_cast<at::Tensor&>(t).copy_(received);
  }
}

}  // namespace talkgen::distributed
