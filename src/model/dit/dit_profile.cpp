#include "model/dit/dit_profile.hpp"

#include "talkgen/error.hpp"

namespace talkgen::model::dit {
namespace {

thread_local PhaseProfile* t_profile = nullptr;

// A scalar read back to the host completes only after the device's queued work (device-agnostic sync).
void wait_for(const at::Tensor& t) {
  if (t.defined() && t.numel() > 0) (void)t.reshape({-1})[0].item<double>();
}

}  // namespace

PhaseProfile::PhaseProfile() : last_(std::chrono::steady_clock::now()) {
  if (t_profile) fail(ErrorCode::invalid_argument, "a PhaseProfile is already installed on this thread");
  t_profile = this;
}

PhaseProfile::~PhaseProfile() { t_profile = nullptr; }

void PhaseProfile::start(const at::Tensor& pending) {
  wait_for(pending);
  last_ = std::chrono::steady_clock::now();
}

double PhaseProfile::total_seconds() const {
  double total = 0;
  for (const auto& [name, s] : seconds_) total += s;
  return total;
}

void PhaseProfile::end_phase(const at::Tensor& done, const char* name) {
  wait_for(done);
  const auto now = std::chrono::steady_clock::now();
  const double s = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  for (auto& [n, total] : seconds_) {
    if (n == name) {
      total += s;
      return;
    }
  }
  seconds_.emplace_back(name, s);
}

void profile_phase(const at::Tensor& done, const char* name) {
  if (t_profile) t_profile->end_phase(done, name);
}

}  // namespace talkgen::model::dit
