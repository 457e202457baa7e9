// The dial budget of a node (issue 10): every dial loop asks for a slot before a connection
// attempt. Over the rate or the pending cap (core::dial_limiter) it waits in core::dial_rank
// order, so a newly found service on a host of its own (a real peer that just appeared) is dialed
// before addresses that failed again and again or serve a flood of fake services. Static --peer
// targets never wait: they are counted and go at once. KJ thread only, but for stats().
#pragma once

#include <kj/async.h>
#include <kj/timer.h>

#include <atomic>
#include <map>

#include "core/discovery.hpp"
#include "rpc/transport.hpp"

namespace cascade::rpc {

class dial_budget {
public:
  // Where the budget's own timer (the rate refill) runs; before any slot().
  void attach(kj::Timer& timer, kj::TaskSet& tasks);

  // Resolves when an attempt may start: at once when `forced` (counted all the same), else in
  // `rank` order within the rate and the pending cap. The caller calls end() once the connect
  // is over, however it ends.
  kj::Promise<void> slot(bool forced, core::dial_rank rank);
  void end();
  // Shutdown, before the tasks go: ends from then on wake no waiter. clear() afterwards drops
  // the waiters (their dial loops went with the tasks).
  void close() { closing_ = true; }
  void clear() { waiters_.clear(); }

  transport::dial_stats stats() const; // any thread

private:
  void pump();
  void publish();

  core::dial_limiter limiter_;
  std::multimap<core::dial_rank, kj::Own<kj::PromiseFulfiller<void>>> waiters_;
  kj::Timer* timer_ = nullptr;
  kj::TaskSet* tasks_ = nullptr;
  bool pump_armed_ = false;
  bool closing_ = false;
  struct {
    std::atomic<std::uint64_t> attempts{0}, waited{0};
    std::atomic<int> pending{0}, peak_pending{0};
    std::atomic<std::size_t> waiting{0};
  } stats_; // read by other threads (network::dial_statistics)
};

} // namespace cascade::rpc
