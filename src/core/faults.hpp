// A node's current faults (issue 12): what is wrong now, since when, cleared when it heals.
// Each actor keeps the faults it can see; the console shows them in `errors` and `status`.
// Pure: time is passed in (steady ns for backoffs, wall ns for `since`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cascade::core {

struct fault {
  std::string name;          // stable key: "storage", "installs", "unreadable", "unwatched"
  std::string message;       // one line for a person: what is wrong and what it affects
  std::int64_t since_ns = 0; // wall clock, when it started
  std::uint64_t count = 0;   // occurrences while it lasts (failed installs, unreadable files)
};

// The faults one actor knows of, by name. raise() of a known name keeps its `since`.
class fault_board {
public:
  // True if the fault is new (the caller logs its one line).
  bool raise(std::string_view name, std::string message, std::int64_t now_ns,
             std::uint64_t count = 1);
  // Sets the count of a raised fault (when it counts things that exist, not occurrences).
  void set_count(std::string_view name, std::uint64_t count);
  // True if it was raised (the caller logs that it healed).
  bool clear(std::string_view name);
  bool has(std::string_view name) const;
  const fault* find(std::string_view name) const;
  const std::vector<fault>& list() const { return faults_; }

private:
  std::vector<fault> faults_;
};

// Retries of a fault that may pass (a full disk): the first retry after `first_ns`, each next
// one twice as late, at most `max_ns` apart. succeed() ends the streak.
class retry_backoff {
public:
  explicit retry_backoff(std::int64_t first_ns = 1'000'000'000,
                         std::int64_t max_ns = 30'000'000'000)
      : first_(first_ns), max_(max_ns) {}

  // A failed attempt at `now`: true if it starts a streak (the fault is new).
  bool fail(std::int64_t now_ns);
  // A successful attempt: true if it ends a streak (the fault healed).
  bool succeed();
  bool failing() const { return failures_ > 0; }
  std::uint32_t failures() const { return failures_; }
  // When the next attempt is due (only while failing).
  std::int64_t next_ns() const { return next_; }
  bool due(std::int64_t now_ns) const { return failing() && now_ns >= next_; }
  // The wait after the latest failure.
  std::int64_t wait_ns() const;

private:
  std::int64_t first_, max_;
  std::uint32_t failures_ = 0;
  std::int64_t next_ = 0;
};

} // namespace cascade::core
