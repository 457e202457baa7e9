#include "core/rate.hpp"

namespace cascade::core {

void rate_meter::sample(std::int64_t now_ns, std::uint64_t total) {
  if (!samples_.empty() && now_ns < samples_.back().first)
    now_ns = samples_.back().first;
  if (!samples_.empty() && total < samples_.back().second)
    samples_.clear(); // the counter restarted (a new connection): start over
  // Samples closer than window/32 to the one before the last replace the last: a caller may
  // sample on every frame, memory stays at a few dozen samples.
  auto n = samples_.size();
  if ((n >= 1 && samples_.back().first == now_ns) ||
      (n >= 2 && now_ns - samples_[n - 2].first < window_ / 32)) {
    samples_.back() = {now_ns, total};
    return;
  }
  samples_.emplace_back(now_ns, total);
  // Keep one sample at or before the window's start as the base, drop older ones.
  while (samples_.size() > 2 && samples_[1].first <= now_ns - window_)
    samples_.pop_front();
}

double rate_meter::rate() const {
  if (samples_.size() < 2)
    return 0;
  auto& [t0, b0] = samples_.front();
  auto& [t1, b1] = samples_.back();
  if (t1 <= t0)
    return 0;
  return static_cast<double>(b1 - b0) * 1e9 / static_cast<double>(t1 - t0);
}

} // namespace cascade::core
