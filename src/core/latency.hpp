// Propagation latency percentiles: the time from a change seen by the source's watcher to the
// file applied here. Pure: samples are passed in; the tracker keeps the most recent ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cascade::core {

struct latency_summary {
  std::uint64_t count = 0;                                     // samples ever recorded
  std::int64_t p50_ns = 0, p95_ns = 0, p99_ns = 0, max_ns = 0; // over the retained window
};

class latency_tracker {
public:
  // Keeps the last `window` samples: percentiles follow the present, memory stays bounded.
  explicit latency_tracker(std::size_t window = 1024) : window_(window ? window : 1) {}

  // A negative sample (clocks apart, or a change stamped by a skewed clock) counts as 0.
  void record(std::int64_t ns);

  // Nearest-rank percentiles over the retained samples; all zero without samples.
  latency_summary summary() const;

  std::uint64_t count() const { return count_; }

private:
  std::size_t window_;
  std::vector<std::int64_t> ring_; // grows to window_, then overwritten at next_
  std::size_t next_ = 0;
  std::uint64_t count_ = 0;
};

// Nearest-rank percentile (0 < p <= 100) of unsorted samples; 0 when empty.
std::int64_t percentile(std::vector<std::int64_t> samples, double p);

} // namespace cascade::core
