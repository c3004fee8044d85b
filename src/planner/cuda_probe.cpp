// probe_cuda(): device properties through libtorch's CUDA context and the CUDA runtime. Compiled into the
// CPU build too, where it only says that this build has no CUDA.
#include "planner/device_probe.hpp"

#if TALKGEN_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#include <fmt/format.h>
#endif

namespace talkgen::planner {

DeviceInventory probe_cuda() {
  DeviceInventory inventory;
#if TALKGEN_WITH_CUDA
  // device_count() initialises CUDA (the call that can hang); it reports 0 rather than throwing when
  // there is no driver or no device.
  const int count = static_cast<int>(c10::cuda::device_count());
  if (count == 0) {
    int runtime = 0;
    const cudaError_t err = cudaGetDeviceCount(&runtime);
    inventory.note = err == cudaSuccess ? "no CUDA devices visible (CUDA_VISIBLE_DEVICES?)"
                                        : fmt::format("CUDA is not usable: {}", cudaGetErrorString(err));
    return inventory;
  }
  for (int i = 0; i < count; ++i) {
    const cudaDeviceProp* prop = at::cuda::getDeviceProperties(i);
    CudaDeviceInfo d;
    d.index = i;
    d.name = prop->name;
    d.memory_bytes = static_cast<std::int64_t>(prop->totalGlobalMem);
    d.multiprocessors = prop->multiProcessorCount;
    d.compute_major = prop->major;
    d.compute_minor = prop->minor;
    for (int j = 0; j < count; ++j) {
      int can = 0;
      if (j != i && cudaDeviceCanAccessPeer(&can, i, j) == cudaSuccess && can) d.peers.push_back(j);
    }
    inventory.cuda.push_back(std::move(d));
  }
#else
  inventory.note = "this build has no CUDA (libtorch without CUDA); build with the `cuda` preset to use GPUs";
#endif
  return inventory;
}

}  // namespace talkgen::planner
