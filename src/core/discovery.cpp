#include "core/discovery.hpp"

#include <algorithm>
#include <cassert>

namespace cascade::core {

discovery_table::found_result discovery_table::found(const std::string& name,
                                                     const service_endpoint& at,
                                                     const device_id& device, steady_time now) {
  found_result r;
  auto it = services_.find(name);
  if (it != services_.end()) {
    if (it->second.at == at) {
      it->second.device = device;
      r.what = verdict::same;
      return r;
    }
    // Moved: admitted again like a new service (the new address may be full).
    r.stop.push_back(it->second.at);
    remove(it);
  }
  auto host_count = [&](const std::string& h) {
    auto c = per_host_.find(h);
    return c == per_host_.end() ? std::size_t{0} : c->second;
  };
  std::size_t mine = host_count(at.host);
  bool room = mine < limits_.max_per_host;
  if (room && services_.size() >= limits_.max_services) {
    // Full: take the place of the most crowded address's newest service if that address has
    // at least two more than ours (so the counts even out and never swap back and forth).
    auto crowded =
        std::max_element(per_host_.begin(), per_host_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    room = crowded != per_host_.end() && mine + 1 < crowded->second;
    if (room) {
      auto victim = services_.end();
      for (auto s = services_.begin(); s != services_.end(); ++s)
        if (s->second.at.host == crowded->first &&
            (victim == services_.end() || s->second.order > victim->second.order))
          victim = s;
      r.stop.push_back(victim->second.at);
      r.evicted = victim->first;
      ++evicted_;
      remove(victim);
    }
  }
  if (!room) {
    ++ignored_;
    ++unwarned_;
    if (!last_warning_ || now - *last_warning_ >= limits_.warn_every) {
      r.warn = true;
      last_warning_ = now;
      unwarned_ = 0;
    }
    r.what = verdict::ignored;
    check();
    return r;
  }
  add(name, at, device);
  r.what = r.stop.size() > (r.evicted ? 1u : 0u) ? verdict::moved : verdict::added;
  check();
  return r;
}

std::optional<service_endpoint> discovery_table::lost(const std::string& name) {
  auto it = services_.find(name);
  if (it == services_.end())
    return std::nullopt;
  auto at = it->second.at;
  remove(it);
  check();
  return at;
}

void discovery_table::add(const std::string& name, const service_endpoint& at,
                          const device_id& device) {
  services_[name] = entry{at, device, next_order_++};
  ++per_host_[at.host];
}

void discovery_table::remove(std::map<std::string, entry>::iterator it) {
  auto h = per_host_.find(it->second.at.host);
  if (h != per_host_.end() && --h->second == 0)
    per_host_.erase(h);
  services_.erase(it);
}

void discovery_table::check() const {
#ifndef NDEBUG
  std::size_t sum = 0;
  for (auto& [host, n] : per_host_) {
    assert(n > 0 && n <= limits_.max_per_host);
    sum += n;
  }
  assert(sum == services_.size());
  assert(services_.size() <= limits_.max_services);
#endif
}

void dial_limiter::refill(steady_time now) {
  if (last_ && now > *last_) {
    double secs = std::chrono::duration<double>(now - *last_).count();
    tokens_ = std::min(limits_.burst, tokens_ + secs * limits_.per_second);
  }
  if (!last_ || now > *last_)
    last_ = now;
}

bool dial_limiter::try_start(steady_time now) {
  refill(now);
  if (pending_ >= limits_.max_pending || tokens_ < 1)
    return false;
  tokens_ -= 1;
  ++pending_;
  ++attempts_;
  peak_pending_ = std::max(peak_pending_, pending_);
  return true;
}

void dial_limiter::force_start(steady_time now) {
  refill(now);
  tokens_ = std::max(0.0, tokens_ - 1);
  ++pending_;
  ++attempts_;
  peak_pending_ = std::max(peak_pending_, pending_);
}

void dial_limiter::finish() {
  assert(pending_ > 0);
  if (pending_ > 0)
    --pending_;
}

std::chrono::nanoseconds dial_limiter::wait(steady_time now) {
  refill(now);
  if (tokens_ >= 1)
    return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(
      static_cast<std::int64_t>((1 - tokens_) / limits_.per_second * 1e9) + 1);
}

} // namespace cascade::core
