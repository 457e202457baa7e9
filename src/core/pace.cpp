#include "core/pace.hpp"

#include <algorithm>

namespace cascade::core {

void downstream_pace::record(std::int64_t now_ns) {
  if (samples_.empty())
    samples_.push_back({now_ns, 0, 0}); // the start: everything counts from here
  if (now_ns - samples_.back().at >= limits_.window_ns / 16)
    samples_.push_back({now_ns, in_, taken_});
  // Keep one sample at or before now - window (the window's start), none older.
  while (samples_.size() > 2 && samples_[1].at <= now_ns - limits_.window_ns)
    samples_.pop_front();
}

void downstream_pace::input(std::uint64_t bytes, std::int64_t now_ns) {
  in_ += bytes;
  record(now_ns);
}

void downstream_pace::taken(std::uint64_t bytes, std::int64_t now_ns) {
  taken_ = std::min(taken_ + bytes, in_);
  record(now_ns);
}

pace_verdict downstream_pace::check(std::int64_t now_ns) {
  if (lag() > limits_.cap_lag)
    return pace_verdict::capped;
  if (samples_.empty())
    return pace_verdict::keep;
  record(now_ns);
  auto& start = samples_.front();
  if (now_ns - start.at < limits_.window_ns || lag() < limits_.drop_min_lag)
    return pace_verdict::keep; // not a full window yet, or close enough behind
  // What it had to take: the input over the window; when little came in (the upstream
  // finished, or the relay held it), a quarter of what it still owes, so a stalled or crawling
  // downstream goes too, while one held to in lockstep at a fair pace stays.
  const auto owed = std::max(in_ - start.in, lag() / 4);
  const auto took = taken_ - start.taken;
  if (static_cast<double>(took) < limits_.min_share * static_cast<double>(owed))
    return pace_verdict::slow;
  return pace_verdict::keep;
}

} // namespace cascade::core
