// What the benchmarks need from a device to time work on it: waiting for its queued work and reading
// its peak memory. CUDA work is asynchronous, so a timer around a launch measures only the launch;
// a benchmark waits for the device before reading the clock.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

namespace talkgen::model::layers {

/// Returns once the work queued on `device`'s current stream has finished (a scalar read back to the
/// host completes only after it). Nothing to wait for on the CPU.
void wait_for_device(const at::Device& device);

/// Starts a new peak for peak_memory_bytes (CUDA; a no-op elsewhere).
void reset_peak_memory(const at::Device& device);
/// Peak bytes allocated on `device` since the last reset_peak_memory; -1 where not measurable (CPU).
int64_t peak_memory_bytes(const at::Device& device);

/// The median of `values` (the upper one of an even count); 0 for none.
double median_of(std::vector<double> values);

}  // namespace talkgen::model::layers
