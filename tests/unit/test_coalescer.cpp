#include <doctest/doctest.h>

#include <algorithm>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/coalescer.hpp"

using namespace cascade::core;

namespace {

constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t s = 1'000 * ms;
using paths = std::vector<std::string>;

// Defaults, named for readability: settle 2 ms, quiet 2 s, max_hold 10 s, min_interval 0.5 s.
const coalescer_params defaults;

// The first time the path set becomes due, found by asking next_due, plus a check that nothing
// was due a nanosecond earlier.
std::int64_t due_time(coalescer& c) {
  const auto due = c.next_due();
  REQUIRE(due.has_value());
  CHECK(c.take_due(*due - 1).empty());
  return *due;
}

} // namespace

TEST_CASE("coalescer: closing events are due after settle") {
  for (const fs_event e : {fs_event::closed_write, fs_event::created, fs_event::removed,
                           fs_event::moved, fs_event::attrib}) {
    CAPTURE(static_cast<int>(e));
    coalescer c;
    c.on_event("a", e, 10 * s);
    CHECK(c.pending() == 1);
    CHECK(c.next_due() == 10 * s + defaults.settle_ns);
    CHECK(c.take_due(10 * s + defaults.settle_ns - 1).empty());
    CHECK(c.take_due(10 * s + defaults.settle_ns) == paths{"a"});
    CHECK(c.pending() == 0);
    CHECK_FALSE(c.next_due().has_value());
  }
}

TEST_CASE("coalescer: a burst folds into one publication") {
  coalescer c;
  c.on_event("a", fs_event::created, 0);
  c.on_event("a", fs_event::modified, 100'000);
  c.on_event("a", fs_event::closed_write, 200'000);
  c.on_event("a", fs_event::attrib, 1 * ms);
  CHECK(c.pending() == 1);
  CHECK(due_time(c) == 1 * ms + defaults.settle_ns); // settle counts from the last event
  CHECK(c.take_due(3 * ms) == paths{"a"});
}

TEST_CASE("coalescer: a file only modified waits until it has been quiet") {
  coalescer c;
  c.on_event("log", fs_event::modified, 0);
  CHECK(c.next_due() == defaults.quiet_ns);
  c.on_event("log", fs_event::modified, 1 * s);
  CHECK(due_time(c) == 1 * s + defaults.quiet_ns);
  CHECK(c.take_due(2 * s).empty());
  CHECK(c.take_due(3 * s) == paths{"log"});
}

TEST_CASE("coalescer: continuous writes are published after max_hold") {
  coalescer c;
  std::int64_t t = 5 * s;
  for (; t < 5 * s + 12 * s; t += 100 * ms) {
    c.on_event("log", fs_event::modified, t);
    if (!c.take_due(t).empty())
      break;
  }
  CHECK(t == 5 * s + defaults.max_hold_ns);
}

TEST_CASE("coalescer: a close ends the wait for quiet") {
  coalescer c;
  c.on_event("big", fs_event::modified, 0);
  c.on_event("big", fs_event::modified, 500 * ms);
  c.on_event("big", fs_event::closed_write, 700 * ms);
  CHECK(due_time(c) == 700 * ms + defaults.settle_ns);
}

TEST_CASE("coalescer: writes after a create or a close wait for the writer again") {
  // A long copy: created, then written for a while. Not due at created + settle.
  coalescer c;
  c.on_event("copy", fs_event::created, 0);
  c.on_event("copy", fs_event::modified, 1 * ms);
  CHECK(c.take_due(10 * ms).empty());
  CHECK(c.next_due() == 1 * ms + defaults.quiet_ns);
  c.on_event("copy", fs_event::modified, 900 * ms);
  c.on_event("copy", fs_event::closed_write, 1 * s);
  CHECK(due_time(c) == 1 * s + defaults.settle_ns);
  // Reopened and written again before publication: wait for that writer too.
  coalescer d;
  d.on_event("f", fs_event::closed_write, 0);
  d.on_event("f", fs_event::modified, 1 * ms);
  CHECK(d.next_due() == 1 * ms + defaults.quiet_ns);
}

TEST_CASE("coalescer: max_hold also bounds a path closed again and again") {
  // Closes less than settle apart keep postponing settle; max_hold still publishes it.
  for (const bool with_writes : {false, true}) {
    CAPTURE(with_writes);
    coalescer c;
    std::int64_t t = 0;
    for (; t < 12 * s; t += 1 * ms) {
      const bool write = with_writes && t % (2 * ms) == 0;
      c.on_event("chatty", write ? fs_event::modified : fs_event::closed_write, t);
      if (!c.take_due(t).empty())
        break;
    }
    CHECK(t == defaults.max_hold_ns);
  }
}

TEST_CASE("coalescer: a path published recently waits for min_interval") {
  coalescer c;
  c.on_event("a", fs_event::closed_write, 0);
  CHECK(c.take_due(2 * ms) == paths{"a"});
  c.on_event("a", fs_event::closed_write, 3 * ms);
  CHECK(due_time(c) == 2 * ms + defaults.min_interval_ns);
  CHECK(c.take_due(2 * ms + defaults.min_interval_ns) == paths{"a"});
  // Long after: min_interval no longer applies, settle does.
  c.on_event("a", fs_event::closed_write, 10 * s);
  CHECK(due_time(c) == 10 * s + defaults.settle_ns);
}

TEST_CASE("coalescer: a file rewritten over and over syncs every min_interval") {
  // Rewritten every 10 ms (more than settle apart): published at the first settle, then every
  // min_interval.
  coalescer c;
  std::vector<std::int64_t> published;
  for (std::int64_t t = 0; t <= 3 * s; t += 1 * ms) {
    if (t % (10 * ms) == 0) {
      c.on_event("hot", fs_event::modified, t);
      c.on_event("hot", fs_event::closed_write, t);
    }
    if (!c.take_due(t).empty())
      published.push_back(t);
  }
  REQUIRE(published.size() >= 5);
  CHECK(published.front() == defaults.settle_ns);
  for (std::size_t i = 1; i < published.size(); ++i)
    CHECK(published[i] - published[i - 1] == defaults.min_interval_ns);
}

TEST_CASE("coalescer: min_interval applies per path") {
  coalescer c;
  c.on_event("a", fs_event::closed_write, 0);
  CHECK(c.take_due(2 * ms) == paths{"a"});
  c.on_event("b", fs_event::closed_write, 3 * ms);
  c.on_event("a", fs_event::closed_write, 3 * ms);
  CHECK(due_time(c) == 5 * ms);
  CHECK(c.take_due(5 * ms) == paths{"b"});
  CHECK(c.pending() == 1);
  CHECK(c.next_due() == 502 * ms);
}

TEST_CASE("coalescer: several paths come out together, sorted") {
  coalescer c;
  c.on_event("c", fs_event::created, 0);
  c.on_event("a", fs_event::removed, 0);
  c.on_event("b", fs_event::moved, 1 * ms);
  c.on_event("slow", fs_event::modified, 0);
  CHECK(c.pending() == 4);
  CHECK(c.take_due(3 * ms) == paths{"a", "b", "c"});
  CHECK(c.pending() == 1);
  CHECK(c.next_due() == defaults.quiet_ns);
}

TEST_CASE("coalescer: custom parameters") {
  coalescer c({.settle_ns = 10, .quiet_ns = 100, .max_hold_ns = 1000, .min_interval_ns = 50});
  c.on_event("a", fs_event::attrib, 0);
  CHECK(c.next_due() == 10);
  c.on_event("b", fs_event::modified, 0);
  CHECK(c.take_due(10) == paths{"a"});
  CHECK(c.next_due() == 100);
  c.on_event("a", fs_event::attrib, 20);
  CHECK(c.next_due() == 60);
}

TEST_CASE("coalescer: next_due agrees with take_due under random traffic") {
  std::mt19937_64 rng(1234);
  const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
  const std::vector<fs_event> events = {
      fs_event::created,      fs_event::modified, fs_event::modified, fs_event::modified,
      fs_event::closed_write, fs_event::removed,  fs_event::moved,    fs_event::attrib};
  coalescer c;
  std::int64_t now = 0;
  // Drains everything due up to `until`, one next_due at a time, the way a timer would.
  auto drain = [&](std::int64_t until) {
    while (auto due = c.next_due()) {
      if (*due > until)
        break;
      CHECK(*due >= now); // nothing was left overdue
      CHECK(c.take_due(*due - 1).empty());
      const std::size_t before = c.pending();
      const auto out = c.take_due(*due);
      CHECK_FALSE(out.empty());
      CHECK(c.pending() == before - out.size());
      now = *due;
    }
    now = until;
  };
  for (int step = 0; step < 5000; ++step) {
    drain(now + static_cast<std::int64_t>(rng() % (300 * ms)));
    c.on_event(names[rng() % names.size()], events[rng() % events.size()], now);
    REQUIRE(c.next_due().has_value());
    CHECK(*c.next_due() >= now);
  }
  drain(now + 20 * s);
  CHECK(c.pending() == 0);
}

TEST_CASE("coalescer: a burst of 10,000 new files comes out once each, sorted, as each is due") {
  coalescer c;
  std::vector<std::string> want;
  for (int i = 0; i < 10000; ++i) {
    auto p = "m/" + std::to_string(i % 100) + "/f" + std::to_string(i);
    c.on_event(p, fs_event::created, i * 1000); // one every microsecond
    c.on_event(p, fs_event::closed_write, i * 1000 + 500);
    want.push_back(p);
  }
  std::sort(want.begin(), want.end());
  CHECK(c.pending() == 10000);
  CHECK(c.next_due() == 500 + 2'000'000); // the first file's close + settle
  auto first = c.take_due(5'000'000);     // due: closed before 3 ms
  CHECK(first.size() == 3000);
  CHECK(std::is_sorted(first.begin(), first.end()));
  auto rest = c.take_due(20'000'000);
  CHECK(rest.size() == 7000);
  CHECK(c.pending() == 0);
  CHECK_FALSE(c.next_due());
  first.insert(first.end(), rest.begin(), rest.end());
  std::sort(first.begin(), first.end());
  CHECK(first == want);
  // Published just now: a new event on one of them waits for min_interval.
  c.on_event(want[0], fs_event::closed_write, 21'000'000);
  CHECK(c.next_due() == 5'000'000 + 500'000'000);
}
