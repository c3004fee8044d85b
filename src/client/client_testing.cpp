#include "client/client_testing.hpp"

#include <atomic>
#include <map>
#include <mutex>

namespace talkgen::client::testing {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::pair<std::string, int>, ErrorCode> faults;
  std::map<std::string, std::vector<AttemptRecord>> attempts;
};

Registry& registry() {
  static Registry r;
  return r;
}

std::atomic<bool> g_armed{false};  // any fault or watch registered: the fast path skips the lock otherwise

}  // namespace

void inject_fault(const std::string& job_id, int attempt, ErrorCode code) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.faults[{job_id, attempt}] = code;
  r.attempts[job_id];
  g_armed = true;
}

void watch(const std::string& job_id) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.attempts[job_id];
  g_armed = true;
}

std::vector<AttemptRecord> attempts_of(const std::string& job_id) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.attempts.find(job_id);
  return it == r.attempts.end() ? std::vector<AttemptRecord>{} : it->second;
}

void clear() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.faults.clear();
  r.attempts.clear();
  g_armed = false;
}

void on_attempt(const std::string& job_id, const AttemptRecord& record) {
  if (!g_armed) return;
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.attempts.find(job_id);
  if (it != r.attempts.end()) it->second.push_back(record);
}

bool fault_due(const std::string& job_id, int attempt, ErrorCode* code) {
  if (!g_armed) return false;
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.faults.find({job_id, attempt});
  if (it == r.faults.end()) return false;
  *code = it->second;
  return true;
}

}  // namespace talkgen::client::testing
