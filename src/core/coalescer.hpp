// Turns a stream of file system events into "scan this path now" decisions. Pure: time is an
// argument. Rules (chosen to publish fast but never a file half-written by a long copy):
//  - a path whose writer closed it (close_write), or that was created, removed, renamed or had
//    its attributes changed, is due after `settle` (a few ms, to fold bursts into one scan);
//  - a path only modified (a writer still holds it open) is due once it has been quiet for
//    `quiet`, or after `max_hold` of continuous writes (a log held open still syncs);
//  - a path published less than `min_interval` ago is due no earlier than that interval after
//    its last publication (a file rewritten without pause syncs every min_interval).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cascade::core {

enum class fs_event { created, modified, closed_write, removed, moved, attrib };

struct coalescer_params {
  std::int64_t settle_ns = 2'000'000;         // 2 ms
  std::int64_t quiet_ns = 2'000'000'000;      // 2 s
  std::int64_t max_hold_ns = 10'000'000'000;  // 10 s
  std::int64_t min_interval_ns = 500'000'000; // 0.5 s
};

class coalescer {
public:
  explicit coalescer(coalescer_params p = {}) : p_(p) {}

  void on_event(const std::string& path, fs_event e, std::int64_t now_ns);

  // Paths due at `now_ns` (sorted), removed from the pending set and marked published at
  // now_ns. O(k log n) for k due paths: a burst of 10,000 new files costs no rescans of the rest.
  std::vector<std::string> take_due(std::int64_t now_ns);

  // The earliest time a pending path becomes due, if any path is pending. O(1).
  std::optional<std::int64_t> next_due() const;

  std::size_t pending() const { return pending_.size(); }

private:
  struct entry {
    std::int64_t first_ns = 0; // first event since the last publication
    std::int64_t last_ns = 0;  // last event
    bool closed = false;       // a close/create/remove/move/attrib was seen since
    std::int64_t due_ns = 0;   // due_at() when last computed; its key in by_due_
  };
  std::int64_t due_at(const std::string& path, const entry& e) const;
  void check_invariants(const std::string& path, const entry& e) const;

  coalescer_params p_;
  std::map<std::string, entry> pending_;
  std::set<std::pair<std::int64_t, std::string>> by_due_; // (due_ns, path) of every pending path
  std::map<std::string, std::int64_t> last_published_;    // pruned once older than min_interval
  std::deque<std::pair<std::int64_t, std::string>> published_order_; // for the pruning
};

} // namespace cascade::core
