#include <doctest/doctest.h>

#include <string>

#include "core/pull_schedule.hpp"

using namespace cascade::core;

namespace {
constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t t0 = 1000 * ms;
} // namespace

TEST_CASE("pull schedule: an announcement waits for the grace, due exactly at its end") {
  pull_schedule s;
  CHECK_FALSE(s.not_before("a", t0).has_value()); // unknown: may be pulled now
  s.announced("a", t0, true, true);
  REQUIRE(s.not_before("a", t0).has_value());
  CHECK(*s.not_before("a", t0) == t0 + 300 * ms);
  CHECK(s.not_before("a", t0 + 300 * ms - 1).has_value());
  CHECK_FALSE(s.not_before("a", t0 + 300 * ms).has_value());
  CHECK(s.next_due(t0) == t0 + 300 * ms);
  CHECK_FALSE(s.next_due(t0 + 300 * ms).has_value());
  s.started("a");
  CHECK(s.scheduled() == 0);
}

TEST_CASE("pull schedule: without the grace (an edit of a file we hold) due at once") {
  pull_schedule s;
  s.announced("a", t0, false, true);
  CHECK_FALSE(s.not_before("a", t0).has_value());
  CHECK(s.scheduled() == 1); // until its pull starts
}

TEST_CASE("pull schedule: a path already waiting keeps its time, or brings it forward") {
  pull_schedule s;
  s.announced("a", t0, true, true);
  s.announced("a", t0 + 100 * ms, true, false); // later: the earlier time stays
  CHECK(*s.not_before("a", t0) == t0 + 300 * ms);
  s.announced("a", t0 + 100 * ms, false, false); // no grace now: at once
  CHECK_FALSE(s.not_before("a", t0 + 100 * ms).has_value());
  // Newly queued with a time left over: that time stays (not moved later or earlier).
  s.announced("b", t0, true, true);
  s.announced("b", t0 + 200 * ms, true, true);
  CHECK(*s.not_before("b", t0) == t0 + 300 * ms);
  // Waiting without a time (due at once): an announcement gives it none.
  s.announced("c", t0, true, false);
  CHECK_FALSE(s.not_before("c", t0).has_value());
  CHECK(s.scheduled() == 2);
}

TEST_CASE("pull schedule: the backoff doubles from 0.5 s and stops at 8 s") {
  pull_schedule s;
  std::int64_t expect[] = {500, 1000, 2000, 4000, 8000, 8000, 8000};
  auto now = t0;
  for (int i = 0; i < 7; ++i) {
    auto r = s.failed("a", now);
    CHECK(r.wait_ns == expect[i] * ms);
    CHECK(r.first == (i == 0));
    CHECK(s.failures("a") == i + 1);
    CHECK(*s.not_before("a", now) == now + expect[i] * ms);
    CHECK(s.not_before("a", now + expect[i] * ms - 1).has_value());
    CHECK_FALSE(s.not_before("a", now + expect[i] * ms).has_value());
    now += expect[i] * ms;
  }
  CHECK(s.backoff_ns(0) == 500 * ms);
  CHECK(s.backoff_ns(1000) == 8000 * ms); // no overflow, however many
}

TEST_CASE("pull schedule: a failure replaces a pending grace, and counts per path") {
  pull_schedule s;
  s.announced("a", t0, true, true);
  s.failed("a", t0);
  CHECK(*s.not_before("a", t0) == t0 + 500 * ms);
  s.failed("b", t0);
  s.failed("b", t0);
  CHECK(s.failures("a") == 1);
  CHECK(s.failures("b") == 2);
  CHECK(s.failing() == 2);
}

TEST_CASE("pull schedule: success resets the count, the backoff starts over") {
  pull_schedule s;
  s.failed("a", t0);
  s.failed("a", t0);
  s.failed("a", t0);
  CHECK(s.succeeded("a"));
  CHECK_FALSE(s.succeeded("a")); // nothing left to reset
  CHECK(s.failures("a") == 0);
  CHECK(s.failing() == 0);
  auto r = s.failed("a", t0);
  CHECK(r.first);
  CHECK(r.wait_ns == 500 * ms);
}

TEST_CASE("pull schedule: starting a pull drops its time, not its failures") {
  pull_schedule s;
  s.failed("a", t0);
  s.failed("a", t0);
  s.started("a");
  CHECK(s.scheduled() == 0);
  CHECK_FALSE(s.not_before("a", t0).has_value());
  CHECK(s.failed("a", t0).wait_ns == 2000 * ms); // the third in a row
}

TEST_CASE("pull schedule: a newer announcement during a backoff cuts it to the grace") {
  pull_schedule s;
  s.failed("a", t0);
  s.failed("a", t0);
  s.failed("a", t0); // 2 s
  s.announced("a", t0 + 100 * ms, true, false);
  CHECK(*s.not_before("a", t0 + 100 * ms) == t0 + 400 * ms);
  CHECK(s.failures("a") == 3); // still failing: the next failure backs off further
  // An announcement after the backoff would end does not delay it.
  s.failed("b", t0); // 0.5 s
  s.announced("b", t0 + 400 * ms, true, false);
  CHECK(*s.not_before("b", t0) == t0 + 500 * ms);
}

TEST_CASE("pull schedule: a new session cuts the backoff of failed paths only") {
  pull_schedule s;
  for (int i = 0; i < 5; ++i)
    s.failed("a", t0);                         // 8 s
  s.failed("b", t0);                           // 0.5 s: sooner than the grace from t0 + 400 ms
  s.announced("c", t0 + 400 * ms, true, true); // a grace, no failure: untouched
  s.session_up(t0 + 400 * ms);
  CHECK(*s.not_before("a", t0) == t0 + 700 * ms);
  CHECK(*s.not_before("b", t0) == t0 + 500 * ms);
  CHECK(*s.not_before("c", t0) == t0 + 700 * ms);
  CHECK(s.next_due(t0) == t0 + 500 * ms);
  CHECK(s.next_due(t0 + 500 * ms) == t0 + 700 * ms);
}

TEST_CASE("pull schedule: forget drops the time and the failures") {
  pull_schedule s;
  s.failed("a", t0);
  s.announced("b", t0, true, true);
  CHECK(s.forget("a"));
  CHECK_FALSE(s.forget("b")); // it had no failures
  CHECK_FALSE(s.forget("x")); // unknown: nothing happens
  CHECK(s.scheduled() == 0);
  CHECK(s.failing() == 0);
  CHECK_FALSE(s.not_before("a", t0).has_value());
  CHECK(s.failed("a", t0).first);
}

TEST_CASE("pull schedule: parameters are taken as given") {
  pull_schedule s({10 * ms, 1 * ms, 2});
  s.announced("a", t0, true, true);
  CHECK(*s.not_before("a", t0) == t0 + 10 * ms);
  CHECK(s.failed("b", t0).wait_ns == 1 * ms);
  CHECK(s.failed("b", t0).wait_ns == 2 * ms);
  CHECK(s.failed("b", t0).wait_ns == 4 * ms);
  CHECK(s.failed("b", t0).wait_ns == 4 * ms);
}
