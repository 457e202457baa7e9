// When a needed file may be pulled. Pure: time is an argument (steady ns).
//
// Grace: a file learnt from an index update is pulled only after `grace`: a push of it (an
// offer along the cascade) usually arrives first and makes the pull unnecessary. An edit of a
// file we hold is not offered (core::worth_pushing), so the caller asks for no grace then.
//
// Backoff: a failed transfer or install is tried again after `backoff_base` doubled for each
// failure in a row before it, at most `max_doublings` times (0.5 s, 1 s, 2 s, 4 s, 8 s, 8 s...),
// so a peer that keeps failing is not hammered. A success or `forget` resets the count; a new
// announcement of the path or a new session cuts a wait short (to at most `grace` from now).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace cascade::core {

struct pull_schedule_params {
  std::int64_t grace_ns = 300'000'000;        // after an announcement: 300 ms
  std::int64_t backoff_base_ns = 500'000'000; // after the first failure: 0.5 s
  int max_doublings = 4;                      // never more than 0.5 s * 2^4 = 8 s
};

class pull_schedule {
public:
  explicit pull_schedule(pull_schedule_params p = {}) : p_(p) {}

  // An announcement of `path` at `now_ns`; due after the grace, or at once without `grace`.
  // `newly_queued`: the path was not waiting before; its due time is set unless it has one.
  // Otherwise a due time it has is brought forward to this one (announced again: maybe by a
  // holder, try soon), and a path without one stays due at once.
  void announced(const std::string& path, std::int64_t now_ns, bool grace, bool newly_queued);

  struct retry {
    std::int64_t wait_ns = 0;
    bool first = false; // the first failure in a row (worth a warning)
  };
  // A failed transfer or install of `path` at `now_ns`: due again after the backoff.
  retry failed(const std::string& path, std::int64_t now_ns);
  // The failures in a row of `path` are over. True if there were any.
  bool succeeded(const std::string& path);
  // `path` is no longer needed: its due time and failures go. True if it had failures.
  bool forget(const std::string& path);

  // When `path` is due if that is after `now_ns`; nothing if it may be pulled now.
  std::optional<std::int64_t> not_before(const std::string& path, std::int64_t now_ns) const;
  // Its pull starts: its due time goes (the failures stay for the next backoff).
  void started(const std::string& path) { due_.erase(path); }
  // A new session may hold what failed: every failed path waits at most `grace` from now.
  void session_up(std::int64_t now_ns);

  // The earliest due time after `now_ns` (nothing: no path waits for its time).
  std::optional<std::int64_t> next_due(std::int64_t now_ns) const;
  // The backoff after `failures` failures in a row (the first: 1).
  std::int64_t backoff_ns(int failures) const;

  std::size_t scheduled() const { return due_.size(); }
  std::size_t failing() const { return failures_.size(); }
  int failures(const std::string& path) const;

private:
  pull_schedule_params p_;
  std::map<std::string, std::int64_t> due_; // path -> not pulled before this (steady ns)
  std::map<std::string, int> failures_;     // path -> failed transfers or installs in a row
};

} // namespace cascade::core
