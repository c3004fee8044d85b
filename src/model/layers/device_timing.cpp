#include "model/layers/device_timing.hpp"

#include <algorithm>

#ifdef TALKGEN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace talkgen::model::layers {
namespace {

int index_of(const at::Device& device) { return device.has_index() ? device.index() : 0; }

}  // namespace

void wait_for_device(const at::Device& device) {
  if (device.is_cpu()) return;
  (void)at::zeros({1}, at::TensorOptions().device(device)).item<float>();
}

void reset_peak_memory(const at::Device& device) {
#ifdef TALKGEN_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(index_of(device));
#endif
  (void)device;
}

int64_t peak_memory_bytes(const at::Device& device) {
#ifdef TALKGEN_WITH_CUDA
  if (device.is_cuda()) {
    // Index 0 is StatType::AGGREGATE (whose namespace moved between libtorch versions).
    return c10::cuda::CUDACachingAllocator::getDeviceStats(index_of(device)).allocated_bytes[0].peak;
  }
#endif
  (void)device;
  (void)index_of;
  return -1;
}

double median_of(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace talkgen::model::layers
