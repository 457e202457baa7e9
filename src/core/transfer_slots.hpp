// One pool of transfer slots per node: uploads, accepted offers and pulls each hold one while
// they run (each is an actor on a thread of its own), so however many files change at once the
// node runs at most `size` of them; the rest wait in FIFO order. Pure: time is an argument.
//
// A waiter gets a slot only through grant(), oldest first. An incoming offer never waits (the
// sender must not hold its upload open for us): try_take() succeeds only when a slot is free
// and nobody waits ahead; otherwise the offer is declined and the file is pulled in turn.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <set>
#include <vector>

namespace cascade::core {

class transfer_slots {
public:
  using ticket = std::uint64_t;
  static constexpr std::size_t min_size = 1;  // what --max-transfers accepts
  static constexpr std::size_t max_size = 16; // and at most
  // max(8, 2 x cores), capped at max_size (8 on 2 cores: tools/bench-load, 10,000 files of
  // 100 KiB, took 0.89x the time of 4 slots, 16 slots 0.81x; peak RSS the same).
  static std::size_t default_size(unsigned cores);

  explicit transfer_slots(std::size_t size);

  // A fresh ticket number (never 0).
  ticket issue() { return next_++; }
  // Asks for a slot: true if `t` holds one now (one is free and nobody waits ahead), else `t`
  // is queued behind the other waiters.
  bool request(ticket t, std::int64_t now_ns);
  // Takes a slot only if one is free and nobody waits; never queues.
  bool try_take(ticket t);
  // Gives back `t`'s slot, or takes `t` out of the queue; unknown tickets are ignored.
  void release(ticket t);
  // The waiters that hold a slot now (as many as are free), oldest first.
  std::vector<ticket> grant();

  bool holds(ticket t) const { return held_.count(t) != 0; }
  std::size_t size() const { return size_; }
  std::size_t in_use() const { return held_.size(); }
  std::size_t waiting() const { return queue_.size(); }
  std::size_t free() const { return size_ - std::min(size_, held_.size()); }
  // How long the oldest waiter has waited (0 if none).
  std::int64_t oldest_wait_ns(std::int64_t now_ns) const;

private:
  struct waiter {
    ticket t;
    std::int64_t since_ns;
  };
  std::size_t size_;
  ticket next_ = 1;
  std::set<ticket> held_;
  std::deque<waiter> queue_;
};

} // namespace cascade::core
