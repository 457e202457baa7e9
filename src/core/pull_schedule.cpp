#include "core/pull_schedule.hpp"

#include <algorithm>

namespace cascade::core {

void pull_schedule::announced(const std::string& path, std::int64_t now_ns, bool grace,
                              bool newly_queued) {
  auto soon = now_ns + (grace ? p_.grace_ns : 0);
  if (newly_queued)
    due_.emplace(path, soon);
  else if (auto it = due_.find(path); it != due_.end())
    it->second = std::min(it->second, soon);
}

std::int64_t pull_schedule::backoff_ns(int failures) const {
  auto doublings = std::clamp(failures - 1, 0, std::max(p_.max_doublings, 0));
  return p_.backoff_base_ns << doublings;
}

pull_schedule::retry pull_schedule::failed(const std::string& path, std::int64_t now_ns) {
  auto n = ++failures_[path];
  retry r{backoff_ns(n), n == 1};
  due_[path] = now_ns + r.wait_ns;
  return r;
}

bool pull_schedule::succeeded(const std::string& path) {
  return failures_.erase(path) != 0;
}

bool pull_schedule::forget(const std::string& path) {
  due_.erase(path);
  return failures_.erase(path) != 0;
}

std::optional<std::int64_t> pull_schedule::not_before(const std::string& path,
                                                      std::int64_t now_ns) const {
  if (auto it = due_.find(path); it != due_.end() && it->second > now_ns)
    return it->second;
  return std::nullopt;
}

void pull_schedule::session_up(std::int64_t now_ns) {
  auto soon = now_ns + p_.grace_ns;
  for (auto& [path, when] : due_)
    if (failures_.count(path))
      when = std::min(when, soon);
}

std::optional<std::int64_t> pull_schedule::next_due(std::int64_t now_ns) const {
  std::optional<std::int64_t> next;
  for (auto& [path, when] : due_)
    if (when > now_ns && (!next || when < *next))
      next = when;
  return next;
}

int pull_schedule::failures(const std::string& path) const {
  auto it = failures_.find(path);
  return it == failures_.end() ? 0 : it->second;
}

} // namespace cascade::core
