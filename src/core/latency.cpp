#include "core/latency.hpp"

#include <algorithm>
#include <cmath>

namespace cascade::core {

namespace {
// Nearest rank: the smallest sample with at least p% of the samples at or below it.
std::int64_t rank_sorted(const std::vector<std::int64_t>& sorted, double p) {
  auto n = sorted.size();
  auto k = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
  return sorted[std::clamp<std::size_t>(k, 1, n) - 1];
}
} // namespace

void latency_tracker::record(std::int64_t ns) {
  ns = std::max<std::int64_t>(ns, 0);
  if (ring_.size() < window_)
    ring_.push_back(ns);
  else
    ring_[next_] = ns;
  next_ = (next_ + 1) % window_;
  ++count_;
}

latency_summary latency_tracker::summary() const {
  latency_summary s;
  s.count = count_;
  if (ring_.empty())
    return s;
  std::vector<std::int64_t> sorted = ring_;
  std::sort(sorted.begin(), sorted.end());
  s.p50_ns = rank_sorted(sorted, 50);
  s.p95_ns = rank_sorted(sorted, 95);
  s.p99_ns = rank_sorted(sorted, 99);
  s.max_ns = sorted.back();
  return s;
}

std::int64_t percentile(std::vector<std::int64_t> samples, double p) {
  if (samples.empty())
    return 0;
  std::sort(samples.begin(), samples.end());
  return rank_sorted(samples, p);
}

} // namespace cascade::core
