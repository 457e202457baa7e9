#include "core/coalescer.hpp"

#include <algorithm>

namespace cascade::core {

void coalescer::on_event(const std::string& path, fs_event e, std::int64_t now_ns) {
  auto [it, inserted] = pending_.try_emplace(path);
  entry& en = it->second;
  if (inserted)
    en.first_ns = en.last_ns = now_ns;
  else
    en.last_ns = std::max(en.last_ns, now_ns);
  // The latest event says whether a writer may still hold the file: a write after a create or a
  // close means a (new) writer is at work, so "created, then written for a minute" waits for the
  // close (or quiet / max_hold) instead of publishing a half-written file after `settle`.
  en.closed = e != fs_event::modified;
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
  // A publication older than min_interval constrains nothing any more: forget it.
  std::erase_if(last_published_,
                [&](const auto& kv) { return kv.second + p_.min_interval_ns <= now_ns; });
  std::vector<std::string> due;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (due_at(it->first, it->second) <= now_ns) {
      due.push_back(it->first);
      last_published_[it->first] = now_ns;
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  return due; // sorted by path, as pending_ is
}

std::optional<std::int64_t> coalescer::next_due() const {
  // TODO(perf): O(pending); a due-time index would make this O(log n) if profiles ask for it.
  std::optional<std::int64_t> best;
  for (const auto& [path, e] : pending_) {
    const std::int64_t due = due_at(path, e);
    if (!best || due < *best)
      best = due;
  }
  return best;
}

} // namespace cascade::core
