#include "core/transfer_slots.hpp"

#include <algorithm>

namespace cascade::core {

std::size_t transfer_slots::default_size(unsigned cores) {
  return std::min<std::size_t>(max_size, std::max<std::size_t>(8, 2 * std::size_t{cores}));
}

transfer_slots::transfer_slots(std::size_t size)
    : size_(std::clamp(size, min_size, max_size)) {}

bool transfer_slots::request(ticket t, std::int64_t now_ns) {
  if (held_.count(t))
    return true;
  if (try_take(t))
    return true;
  if (std::none_of(queue_.begin(), queue_.end(), [t](const waiter& w) { return w.t == t; }))
    queue_.push_back({t, now_ns});
  return false;
}

bool transfer_slots::try_take(ticket t) {
  if (held_.count(t))
    return true;
  if (!queue_.empty() || held_.size() >= size_)
    return false;
  held_.insert(t);
  return true;
}

void transfer_slots::release(ticket t) {
  if (held_.erase(t))
    return;
  auto it = std::find_if(queue_.begin(), queue_.end(), [t](const waiter& w) { return w.t == t; });
  if (it != queue_.end())
    queue_.erase(it);
}

std::vector<transfer_slots::ticket> transfer_slots::grant() {
  std::vector<ticket> out;
  while (!queue_.empty() && held_.size() < size_) {
    out.push_back(queue_.front().t);
    held_.insert(queue_.front().t);
    queue_.pop_front();
  }
  return out;
}

std::int64_t transfer_slots::oldest_wait_ns(std::int64_t now_ns) const {
  return queue_.empty() ? 0 : std::max<std::int64_t>(0, now_ns - queue_.front().since_ns);
}

} // namespace cascade::core
