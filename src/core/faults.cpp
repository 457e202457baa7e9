#include "core/faults.hpp"

#include <algorithm>

namespace cascade::core {

bool fault_board::raise(std::string_view name, std::string message, std::int64_t now_ns,
                        std::uint64_t count) {
  for (auto& f : faults_)
    if (f.name == name) {
      f.message = std::move(message);
      f.count += count;
      return false;
    }
  faults_.push_back({std::string(name), std::move(message), now_ns, count});
  return true;
}

bool fault_board::clear(std::string_view name) {
  auto it = std::find_if(faults_.begin(), faults_.end(), [&](auto& f) { return f.name == name; });
  if (it == faults_.end())
    return false;
  faults_.erase(it);
  return true;
}

void fault_board::set_count(std::string_view name, std::uint64_t count) {
  for (auto& f : faults_)
    if (f.name == name)
      f.count = count;
}

const fault* fault_board::find(std::string_view name) const {
  for (auto& f : faults_)
    if (f.name == name)
      return &f;
  return nullptr;
}

bool fault_board::has(std::string_view name) const {
  return find(name) != nullptr;
}

std::int64_t retry_backoff::wait_ns() const {
  if (failures_ == 0)
    return 0;
  std::int64_t w = first_;
  for (std::uint32_t i = 1; i < failures_ && w < max_; ++i)
    w *= 2;
  return std::min(w, max_);
}

bool retry_backoff::fail(std::int64_t now_ns) {
  ++failures_;
  next_ = now_ns + wait_ns();
  return failures_ == 1;
}

bool retry_backoff::succeed() {
  bool was = failures_ > 0;
  failures_ = 0;
  next_ = 0;
  return was;
}

} // namespace cascade::core
