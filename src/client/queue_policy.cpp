#include "client/queue_policy.hpp"

namespace talkgen::client {

std::vector<std::size_t> pick_jobs_to_start(std::vector<WaitingJob>& waiting, int free_devices, int max_overtakes) {
  std::vector<std::size_t> start;
  std::vector<std::size_t> passed;  // ready jobs older than the current one that did not fit
  for (std::size_t i = 0; i < waiting.size() && free_devices > 0; ++i) {
    WaitingJob& job = waiting[i];
    if (!job.ready) continue;
    if (job.devices <= free_devices) {
      for (std::size_t p : passed)
        if (waiting[p].overtaken >= max_overtakes) return start;
      start.push_back(i);
      free_devices -= job.devices;
      for (std::size_t p : passed) ++waiting[p].overtaken;
      continue;
    }
    // It waits. Once it has been passed often enough, it holds everyone younger back.
    if (job.overtaken >= max_overtakes) break;
    passed.push_back(i);
  }
  return start;
}

}  // namespace talkgen::client
