// Discovery limits: the tracked-services table and the dial limiter, with time passed in.
#include <doctest/doctest.h>

#include <string>

#include "core/discovery.hpp"

using namespace cascade::core;
using namespace std::chrono_literals;

namespace {

const steady_time t0{};

device_id dev(int n) {
  device_id id{};
  id[0] = static_cast<std::uint8_t>(n);
  id[1] = static_cast<std::uint8_t>(n >> 8);
  return id;
}

// Service `n` on host "10.0.0.H", port 1000 + n.
discovery_table::found_result add(discovery_table& t, int n, int host, steady_time now = t0) {
  return t.found("svc" + std::to_string(n),
                 {"10.0.0." + std::to_string(host), static_cast<std::uint16_t>(1000 + n)}, dev(n),
                 now);
}

std::size_t on_host(const discovery_table& t, int host) {
  std::size_t n = 0;
  for (auto& [name, e] : t.services())
    n += e.at.host == "10.0.0." + std::to_string(host);
  return n;
}

} // namespace

TEST_CASE("a service is tracked once; an answer again changes nothing") {
  discovery_table t;
  CHECK(add(t, 1, 1).what == discovery_table::verdict::added);
  CHECK(add(t, 1, 1).what == discovery_table::verdict::same);
  CHECK(t.size() == 1);
  auto moved = add(t, 1, 2);
  CHECK(moved.what == discovery_table::verdict::moved);
  REQUIRE(moved.stop.size() == 1);
  CHECK(moved.stop[0] == service_endpoint{"10.0.0.1", 1001});
  CHECK(t.lost("svc1") == service_endpoint{"10.0.0.2", 1001});
  CHECK_FALSE(t.lost("svc1"));
  CHECK(t.size() == 0);
}

TEST_CASE("one address holds at most max_per_host services") {
  discovery_table t({8, 3, 60s});
  for (int n = 0; n < 3; ++n)
    CHECK(add(t, n, 1).what == discovery_table::verdict::added);
  CHECK(add(t, 3, 1).what == discovery_table::verdict::ignored);
  CHECK(add(t, 4, 2).what == discovery_table::verdict::added); // another host still gets in
  CHECK(t.ignored() == 1);
  t.lost("svc0");
  CHECK(add(t, 5, 1).what == discovery_table::verdict::added);
}

TEST_CASE("a full table ignores services from addresses as crowded as any") {
  discovery_table t({4, 4, 60s});
  for (int n = 0; n < 4; ++n)
    add(t, n, n); // four hosts, one service each
  auto r = add(t, 9, 9);
  CHECK(r.what == discovery_table::verdict::ignored);
  CHECK(r.stop.empty());
  CHECK(t.size() == 4);
  CHECK(t.ignored() == 1);
  CHECK(t.evicted() == 0);
}

TEST_CASE("a full table makes room for a new address at the most crowded one (fair share)") {
  discovery_table t({10, 8, 60s});
  for (int n = 0; n < 8; ++n)
    add(t, n, 1); // a flood from host 1
  add(t, 8, 2);
  add(t, 9, 2);
  // A real peer on host 3 takes the place of host 1's newest service.
  auto r = add(t, 100, 3);
  CHECK(r.what == discovery_table::verdict::added);
  REQUIRE(r.evicted);
  CHECK(*r.evicted == "svc7");
  REQUIRE(r.stop.size() == 1);
  CHECK(r.stop[0] == service_endpoint{"10.0.0.1", 1007});
  CHECK(on_host(t, 1) == 7);
  CHECK(t.size() == 10);
  // Host 2 (2 services) does not evict host 1 (7) ... until the counts come within one.
  for (int n = 10; n < 20; ++n)
    add(t, n, 2 + n % 2 * 2); // hosts 2 and 4 alternately
  CHECK(t.size() == 10);
  CHECK(on_host(t, 3) == 1); // the real peer stays
  CHECK(on_host(t, 1) <= 3);
  // The other way: the flood host does not evict anyone once the shares are even.
  auto again = add(t, 50, 1);
  CHECK(again.what == discovery_table::verdict::ignored);
  CHECK(on_host(t, 3) == 1);
}

TEST_CASE("thousands of services from many addresses stay within the caps") {
  discovery_table t; // 256 in all, 16 per address
  for (int n = 0; n < 3000; ++n)
    add(t, n, n % 40);
  CHECK(t.size() == 256);
  for (int h = 0; h < 40; ++h) {
    CHECK(on_host(t, h) <= 16);
    CHECK(on_host(t, h) >= 6); // shares even out: 256 / 40 = 6.4
  }
  CHECK(t.ignored() + t.size() + t.evicted() == 3000);
  // A real peer on a new address still gets in, and stays while the flood goes on.
  CHECK(add(t, 5000, 200).what == discovery_table::verdict::added);
  for (int n = 3000; n < 4000; ++n)
    add(t, n, n % 40);
  CHECK(on_host(t, 200) == 1);
}

TEST_CASE("ignored services warn at most once a minute, counting the ones in between") {
  discovery_table t({1, 1, 60s});
  add(t, 0, 0);
  CHECK(add(t, 1, 0, t0 + 1s).warn);
  CHECK_FALSE(add(t, 2, 0, t0 + 2s).warn);
  CHECK_FALSE(add(t, 3, 0, t0 + 60s).warn);
  CHECK(t.ignored_since_warning() == 2);
  auto r = add(t, 4, 0, t0 + 61s);
  CHECK(r.warn);
  CHECK(t.ignored_since_warning() == 0);
  CHECK(t.ignored() == 4);
}

TEST_CASE("the dial limiter allows a burst, then the rate") {
  dial_limiter d({10, 5, 100});
  int started = 0;
  while (d.try_start(t0))
    ++started;
  CHECK(started == 5);
  CHECK(d.wait(t0) > 0ns);
  CHECK(d.wait(t0) <= 101ms);
  CHECK_FALSE(d.try_start(t0 + 50ms));
  CHECK(d.try_start(t0 + 100ms));
  // Over ten seconds, at most burst + rate * 10 attempts.
  int more = 0;
  for (auto t = t0 + 100ms; t < t0 + 10s; t += 1ms)
    while (d.try_start(t)) {
      ++more;
      d.finish();
    }
  CHECK(more <= 100);
  CHECK(more >= 98);
  CHECK(d.attempts() == static_cast<std::uint64_t>(6 + more));
}

TEST_CASE("the dial limiter holds at most max_pending connects at once") {
  dial_limiter d({1000, 1000, 3});
  CHECK(d.try_start(t0));
  CHECK(d.try_start(t0));
  CHECK(d.try_start(t0));
  CHECK(d.pending_full());
  CHECK_FALSE(d.try_start(t0 + 1s)); // tokens are there, the sockets are not
  d.finish();
  CHECK(d.try_start(t0 + 1s));
  CHECK(d.peak_pending() == 3);
}

TEST_CASE("forced attempts (static peers) always start and use up the budget") {
  dial_limiter d({1, 2, 1});
  d.force_start(t0);
  CHECK(d.pending() == 1);
  CHECK_FALSE(d.try_start(t0)); // pending cap reached by the forced one
  d.force_start(t0);            // a second static peer is not starved either
  CHECK(d.pending() == 2);
  d.finish();
  d.finish();
  CHECK_FALSE(d.try_start(t0)); // both tokens went to the forced attempts
  CHECK(d.try_start(t0 + 1s));
}

TEST_CASE("waiting dials go by failures, then by how crowded their address is") {
  CHECK(dial_rank{0, 12} < dial_rank{1, 1}); // fresh before failing, however crowded
  CHECK_FALSE(dial_rank{1, 1} < dial_rank{0, 12});
  CHECK(dial_rank{0, 1} < dial_rank{0, 12}); // a lone host before a flooded address
  CHECK_FALSE(dial_rank{0, 12} < dial_rank{0, 1});
  CHECK_FALSE(dial_rank{2, 3} < dial_rank{2, 3}); // equal: first come, first served
}
