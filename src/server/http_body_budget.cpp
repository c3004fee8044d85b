#include "server/http_body_budget.hpp"

namespace talkgen::server {

bool BodyMemoryBudget::try_take(std::size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (bytes > capacity_ - in_use_) return false;
  in_use_ += bytes;
  return true;
}

void BodyMemoryBudget::give_back(std::size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  in_use_ -= bytes <= in_use_ ? bytes : in_use_;
}

std::size_t BodyMemoryBudget::in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

bool BodyReservation::grow_to(std::size_t bytes) {
  if (bytes <= held_) return true;
  if (!budget_.try_take(bytes - held_)) return false;
  held_ = bytes;
  return true;
}

void BodyReservation::release() {
  if (held_ == 0) return;
  budget_.give_back(held_);
  held_ = 0;
}

}  // namespace talkgen::server
