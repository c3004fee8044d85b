// Which waiting jobs start now, given the free devices: the Client's scheduling rule, kept free of
// threads and models so it can be tested on its own.
//
// Jobs are considered oldest first. A job starts when its device count is free. A job that does not fit
// waits, and younger jobs that fit may start past it (so small jobs keep the pool busy) -- but only
// `max_overtakes` times: after that, nothing younger starts until it has run. Running jobs finish, their
// devices stay free, and the big job gets them: no job waits forever behind a stream of small ones.
#pragma once

#include <cstddef>
#include <vector>

namespace talkgen::client {

struct WaitingJob {
  int devices = 1;        ///< devices its next attempt needs
  bool ready = true;      ///< false while it sits out a retry delay (it neither starts nor blocks)
  int overtaken = 0;      ///< younger jobs that started past it (updated by pick_jobs_to_start)
};

/// Indices into `waiting` (oldest first) of the jobs to start now with `free_devices` idle devices.
/// Increments `overtaken` of every ready job that a younger job passed.
std::vector<std::size_t> pick_jobs_to_start(std::vector<WaitingJob>& waiting, int free_devices, int max_overtakes);

}  // namespace talkgen::client
