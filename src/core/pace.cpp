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
  if (lag() == 0)
    owed_since_ = now_ns;
  in_ += bytes;
  last_input_ = now_ns;
  record(now_ns);
}

void downstream_pace::taken(std::uint64_t bytes, std::int64_t now_ns) {
  if (bytes > 0)
    owed_since_ = now_ns;
  taken_ = std::min(taken_ + bytes, in_);
  record(now_ns);
}

pace_verdict downstream_pace::check(std::int64_t now_ns) {
  if (lag() > limits_.cap_lag)
    return pace_verdict::capped;
  if (samples_.empty())
    return pace_verdict::keep;
  if (stalled(now_ns))
    return pace_verdict::stalled;
  record(now_ns);
  auto& start = samples_.front();
  const auto elapsed = now_ns - start.at;
  if (elapsed < limits_.window_ns || lag() < limits_.drop_min_lag)
    return pace_verdict::keep; // not a full window yet, or close enough behind
  const auto in = static_cast<double>(in_ - start.in);
  const auto took = static_cast<double>(taken_ - start.taken);
  // Rates: the input's over the part of the window it flowed in (a file that ended early in
  // the window came in at its own pace, not spread over the window), the downstream's over
  // the whole window (it had work throughout: it is still far behind).
  if (in > 0) {
    const auto span = std::clamp(last_input_ - start.at, limits_.window_ns / 16, elapsed);
    if (took / static_cast<double>(elapsed) < limits_.min_share * in / static_cast<double>(span))
      return pace_verdict::slow;
  }
  // Stalled or crawling: in a whole window it took less than an eighth of what it owes.
  if (took < limits_.min_share * static_cast<double>(lag()) / 4)
    return pace_verdict::slow;
  return pace_verdict::keep;
}

} // namespace cascade::core
