#include "core/handshake_backoff.hpp"

#include <algorithm>

namespace cascade::core {

handshake_backoff::duration handshake_backoff::delay(const std::string& address, time now) const {
  auto it = by_address_.find(address);
  if (it == by_address_.end() || it->second.count <= 0 || now - it->second.last >= forget_after)
    return duration::zero();
  auto ms = std::min<long long>(max_delay.count(), 100LL << std::min(it->second.count, 7));
  return duration(ms);
}

void handshake_backoff::failed(const std::string& address, time now) {
  auto it = by_address_.find(address);
  if (it == by_address_.end()) {
    make_room(now);
    it = by_address_.emplace(address, entry{}).first;
  } else if (now - it->second.last >= forget_after) {
    it->second.count = 0; // an old failure counts no more
  }
  it->second.count++;
  it->second.last = now;
}

void handshake_backoff::make_room(time now) {
  if (max_ == 0) {
    by_address_.clear();
    return;
  }
  if (by_address_.size() < max_)
    return;
  for (auto it = by_address_.begin(); it != by_address_.end();)
    it = now - it->second.last >= forget_after ? by_address_.erase(it) : std::next(it);
  while (by_address_.size() >= max_) {
    auto oldest = std::min_element(by_address_.begin(), by_address_.end(),
                                   [](auto& a, auto& b) { return a.second.last < b.second.last; });
    by_address_.erase(oldest);
  }
}

} // namespace cascade::core
