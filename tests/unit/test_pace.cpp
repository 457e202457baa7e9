#include <doctest/doctest.h>

#include <cstdint>

#include "core/pace.hpp"

using namespace cascade::core;

namespace {
constexpr std::int64_t ms = 1'000'000;
constexpr std::uint64_t mib = 1 << 20;

// A relay fed at `in_rate` (bytes/s, only while it does not hold) whose downstream takes up to
// `out_rate` bytes/s of what it owes, stepped every 10 ms from `t` for `dur`; returns the first
// verdict other than keep (checked every step), or keep.
pace_verdict run(downstream_pace& p, std::int64_t& t, std::int64_t dur, double in_rate,
                 double out_rate) {
  const std::int64_t step = 10 * ms;
  for (std::int64_t end = t + dur; t < end;) {
    t += step;
    if (!p.hold() && in_rate > 0)
      p.input(static_cast<std::uint64_t>(in_rate / 100), t);
    auto take = std::min<std::uint64_t>(static_cast<std::uint64_t>(out_rate / 100), p.lag());
    if (take > 0)
      p.taken(take, t);
    if (auto v = p.check(t); v != pace_verdict::keep)
      return v;
  }
  return pace_verdict::keep;
}
} // namespace

TEST_CASE("pace: a downstream as fast as the input keeps its place and is never held") {
  downstream_pace p;
  std::int64_t t = 0;
  CHECK(run(p, t, 10'000 * ms, 200.0 * mib, 200.0 * mib) == pace_verdict::keep);
  CHECK(p.lag() == 0);
  CHECK_FALSE(p.hold());
}

TEST_CASE("pace: a start-up burst does not drop a downstream that then keeps up") {
  // The failure: 8 MiB arrived while the downstream set up its stream (7 ms).
  downstream_pace p;
  std::int64_t t = 0;
  p.input(20 * mib, 0);
  CHECK(p.check(7 * ms) == pace_verdict::keep);
  CHECK(p.check(1000 * ms) == pace_verdict::keep); // no full window yet
  t = 1000 * ms;
  CHECK(run(p, t, 5000 * ms, 100.0 * mib, 150.0 * mib) == pace_verdict::keep);
  CHECK(p.lag() < 2 * mib);
}

TEST_CASE(
    "pace: a downstream nearly as fast is held to, not dropped (the chain runs in lockstep)") {
  downstream_pace p;
  std::int64_t t = 0;
  CHECK(run(p, t, 10'000 * ms, 300.0 * mib, 200.0 * mib) == pace_verdict::keep);
  CHECK(p.lag() > p.limits().hold_lag - 3 * mib); // it reached the hold and stayed near it
  CHECK(p.lag() <= p.limits().hold_lag + 3 * mib);
  CHECK(p.taken_bytes() > 1900 * mib); // the downstream ran at its own speed throughout
}

TEST_CASE("pace: a downstream slower than half the input goes to repair after a window") {
  downstream_pace p;
  std::int64_t t = 0;
  // 200 Mbit/s in, 20 Mbit/s out (the slow scenario of test_cascade)
  CHECK(run(p, t, 10'000 * ms, 25e6, 2.5e6) == pace_verdict::slow);
  CHECK(t >= p.limits().window_ns);
  CHECK(t < p.limits().window_ns + 200 * ms);
  CHECK(p.lag() >= p.limits().drop_min_lag);
}

TEST_CASE("pace: slow but little behind is kept (a small file)") {
  downstream_pace p;
  std::int64_t t = 0;
  p.input(p.limits().drop_min_lag - 1, 0);
  CHECK(run(p, t, 5000 * ms, 0, 0.5 * mib) == pace_verdict::keep); // under drop_min_lag
}

TEST_CASE("pace: a file that came in fast and ended early in the window: its rate counts") {
  // test_cascade's slow scenario: 20 MB at 200 Mbit/s in; the downstream's link is cut to
  // 20 Mbit/s 0.2 s in, and its socket buffers took 4 MiB at once.
  downstream_pace p;
  std::int64_t t = 0;
  CHECK(run(p, t, 200 * ms, 19e6, 19e6) == pace_verdict::keep);
  p.taken(0, t);
  p.input(4 * mib, t);
  p.taken(4 * mib, t);
  auto v = run(p, t, 650 * ms, 19e6, 2.5e6);
  v = v == pace_verdict::keep ? run(p, t, 3000 * ms, 0, 2.5e6) : v;
  CHECK(v == pace_verdict::slow);
  CHECK(t <= p.limits().window_ns + 100 * ms);
  // The same downstream at 60% of the input's rate is kept.
  downstream_pace q;
  t = 0;
  v = run(q, t, 1000 * ms, 19e6, 11.5e6);
  CHECK((v == pace_verdict::keep ? run(q, t, 3000 * ms, 0, 11.5e6) : v) == pace_verdict::keep);
}

TEST_CASE("pace: a downstream at 60% of a slow input is held to once far behind, not dropped") {
  downstream_pace p;
  std::int64_t t = 0;
  CHECK(run(p, t, 30'000 * ms, 4.0 * mib, 2.5 * mib) == pace_verdict::keep);
  CHECK(p.taken_bytes() > 74 * mib); // it ran at its own pace throughout
  CHECK(p.lag() <= p.limits().hold_lag + 4 * mib);
}

TEST_CASE("pace: a stalled downstream far behind goes to repair once the input ended") {
  downstream_pace p;
  std::int64_t t = 0;
  CHECK(run(p, t, 2000 * ms, 100.0 * mib, 100.0 * mib) == pace_verdict::keep);
  p.input(12 * mib, t); // the last frames, then the upstream is done; nothing more is taken
  const auto stalled = t;
  CHECK(run(p, t, 5000 * ms, 0, 0) == pace_verdict::slow);
  CHECK(t - stalled <= p.limits().window_ns + 100 * ms);
  // One that drains what it owes at a good pace is kept.
  downstream_pace q;
  t = 0;
  q.input(12 * mib, 0);
  CHECK(run(q, t, 3000 * ms, 0, 12.0 * mib) == pace_verdict::keep);
  CHECK(q.lag() == 0);
}

TEST_CASE("pace: a downstream that recovers before the window closes is kept") {
  downstream_pace p;
  std::int64_t t = 0;
  CHECK(run(p, t, 500 * ms, 100.0 * mib, 10.0 * mib) == pace_verdict::keep); // a hiccup
  CHECK(p.lag() >= p.limits().drop_min_lag);
  CHECK(run(p, t, 5000 * ms, 100.0 * mib, 300.0 * mib) == pace_verdict::keep);
  CHECK(p.lag() < mib);
}

TEST_CASE("pace: past the cap a downstream goes at once, window or not") {
  downstream_pace p;
  p.input(64 * mib, 0);
  CHECK(p.check(1 * ms) == pace_verdict::keep);
  p.input(1, 2 * ms);
  CHECK(p.hold());
  CHECK(p.check(3 * ms) == pace_verdict::capped);
  p.taken(10 * mib, 4 * ms);
  CHECK(p.check(5 * ms) == pace_verdict::keep);
}

TEST_CASE("pace: taken never exceeds input; lag and hold follow the totals") {
  downstream_pace p;
  p.taken(5, 0);
  CHECK(p.lag() == 0);
  CHECK(p.taken_bytes() == 0);
  p.input(25 * mib, 1);
  CHECK(p.hold());
  p.taken(2 * mib, 2);
  CHECK_FALSE(p.hold()); // 23 MiB behind: at most hold_lag
  CHECK(p.lag() == 23 * mib);
}

TEST_CASE("pace: a downstream a little behind that stops taking is stalled after stall_ns") {
  downstream_pace p; // a source: it keeps the peer within its window, far under drop_min_lag
  p.input(2 * mib, 0);
  p.taken(1 * mib, 100 * ms);
  CHECK(p.check(100 * ms + p.limits().stall_ns - 1) == pace_verdict::keep);
  CHECK(p.check(100 * ms + p.limits().stall_ns) == pace_verdict::stalled);
}

TEST_CASE("pace: the stall clock runs from the last bytes taken, or from when it began to owe") {
  downstream_pace p;
  const auto stall = p.limits().stall_ns;
  p.input(mib, 0);
  p.taken(mib, 10 * ms); // caught up: it owes nothing, however long nothing comes
  CHECK(p.check(10 * stall) == pace_verdict::keep);
  p.input(mib, 10 * stall); // owes again from here
  CHECK(p.check(11 * stall - 1) == pace_verdict::keep);
  p.taken(mib / 2, 11 * stall - 1); // a slow peer that still takes keeps its place
  CHECK(p.check(12 * stall - 2) == pace_verdict::keep);
  CHECK(p.check(12 * stall - 1) == pace_verdict::stalled);
}

TEST_CASE("pace: stalled() alone judges no rate") {
  downstream_pace p;
  p.input(5 * mib, 0);
  CHECK(p.check(2000 * ms) == pace_verdict::slow); // the relay's rules: far behind, took nothing
  CHECK_FALSE(p.stalled(2000 * ms));                // the source's: not yet 30 s
  CHECK(p.stalled(p.limits().stall_ns));
}
