#include "core/coalescer.hpp"

#include <algorithm>
#include <cassert>

namespace cascade::core {

void coalescer::on_event(const std::string& path, fs_event e, std::int64_t now_ns) {
  auto [it, inserted] = pending_.try_emplace(path);
  entry& en = it->second;
  if (inserted) {
    en.first_ns = en.last_ns = now_ns;
  } else {
    en.last_ns = std::max(en.last_ns, now_ns);
    by_due_.erase({en.due_ns, path});
  }
  // The latest event says whether a writer may still hold the file: a write after a create or a
  // close means a (new) writer is at work, so "created, then written for a minute" waits for the
  // close (or quiet / max_hold) instead of publishing a half-written file after `settle`.
  en.closed = e != fs_event::modified;
  en.due_ns = due_at(path, en);
  by_due_.emplace(en.due_ns, path);
  check_invariants(path, en);
}

// Debug builds (asserts on): what on_event just changed is consistent; O(log n).
void coalescer::check_invariants([[maybe_unused]] const std::string& path,
                                 [[maybe_unused]] const entry& e) const {
  assert(by_due_.size() == pending_.size());
  assert(by_due_.count({e.due_ns, path}) == 1);
  assert(e.first_ns <= e.last_ns && e.due_ns <= e.first_ns + p_.max_hold_ns + p_.min_interval_ns);
}

std::int64_t coalescer::due_at(const std::string& path, const entry& e) const {
  // Settle and quiet both count from the last event, so a burst (create, write, close, chmod,
  // utime) folds into one scan. A file rewritten with pauses longer than settle is then published
  // every min_interval (below); one touched more often than that waits like a file held open.
  std::int64_t due = e.last_ns + (e.closed ? p_.settle_ns : p_.quiet_ns);
  // Never hold a path longer than max_hold, whatever keeps touching it (a log held open, or a
  // program that closes and reopens it every millisecond).
  due = std::min(due, e.first_ns + p_.max_hold_ns);
  if (auto it = last_published_.find(path); it != last_published_.end())
    due = std::max(due, it->second + p_.min_interval_ns);
  return due;
}

std::vector<std::string> coalescer::take_due(std::int64_t now_ns) {
  // A publication older than min_interval constrains nothing any more: forget it. (A due time
  // computed with it is then at most now_ns, so it stays due either way.)
  while (!published_order_.empty() &&
         published_order_.front().first + p_.min_interval_ns <= now_ns) {
    auto& [at, path] = published_order_.front();
    if (auto it = last_published_.find(path); it != last_published_.end() && it->second == at)
      last_published_.erase(it);
    published_order_.pop_front();
  }
  std::vector<std::string> due;
  while (!by_due_.empty() && by_due_.begin()->first <= now_ns) {
    auto node = by_due_.extract(by_due_.begin());
    std::string& path = node.value().second;
    pending_.erase(path);
    last_published_[path] = now_ns;
    published_order_.emplace_back(now_ns, path);
    due.push_back(std::move(path));
  }
  std::sort(due.begin(), due.end());
  return due;
}

std::optional<std::int64_t> coalescer::next_due() const {
  if (by_due_.empty())
    return std::nullopt;
  return by_due_.begin()->first;
}

} // namespace cascade::core
