// A byte rate over the last few seconds, from samples of a running total. Pure: the caller
// passes the time, so the network thread, a transfer actor and a test all use it alike.
#pragma once

#include <cstdint>
#include <deque>
#include <utility>

namespace cascade::core {

class rate_meter {
public:
  explicit rate_meter(std::int64_t window_ns = 3'000'000'000) : window_(window_ns) {}

  // `total` is the running count (bytes so far) at `now_ns`; times never go backwards.
  void sample(std::int64_t now_ns, std::uint64_t total);

  // Units per second between the oldest retained sample (at least one window back when there
  // is one) and the newest; 0 with fewer than two samples.
  double rate() const;

private:
  std::int64_t window_;
  // Oldest first; at most about 34 (see sample()).
  std::deque<std::pair<std::int64_t, std::uint64_t>> samples_;
};

} // namespace cascade::core
