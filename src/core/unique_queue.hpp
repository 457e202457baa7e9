// A FIFO of paths where each path is queued at most once, with O(log n) membership: the index's
// needed paths without a transfer yet (a burst queues tens of thousands of them, and a linear
// search per record made the burst quadratic).
#pragma once

#include <cstddef>
#include <deque>
#include <set>
#include <string>

namespace cascade::core {

class unique_queue {
public:
  // Queues `path` at the back unless it is queued already; true if it was added.
  bool push(const std::string& path) {
    if (!members_.insert(path).second)
      return false;
    order_.push_back(path);
    return true;
  }
  // Takes the front path out (the queue must not be empty).
  std::string pop() {
    std::string p = std::move(order_.front());
    order_.pop_front();
    members_.erase(p);
    return p;
  }
  bool contains(const std::string& path) const { return members_.count(path) != 0; }
  bool empty() const { return order_.empty(); }
  std::size_t size() const { return order_.size(); }

private:
  std::deque<std::string> order_;
  std::set<std::string> members_;
};

} // namespace cascade::core
