// The console's pure helpers: latency percentiles, byte rates, conflict names.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "core/introspection.hpp"
#include "core/latency.hpp"
#include "core/rate.hpp"

using namespace cascade::core;

namespace {
constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t s = 1'000 * ms;

latency_tracker filled(std::vector<std::int64_t> samples, std::size_t window = 1024) {
  latency_tracker t(window);
  for (auto v : samples)
    t.record(v);
  return t;
}
} // namespace

TEST_CASE("an empty tracker reports zeros") {
  auto s = latency_tracker().summary();
  CHECK(s.count == 0);
  CHECK(s.p50_ns == 0);
  CHECK(s.p95_ns == 0);
  CHECK(s.p99_ns == 0);
  CHECK(s.max_ns == 0);
}

TEST_CASE("one sample is every percentile") {
  auto s = filled({7 * ms}).summary();
  CHECK(s.count == 1);
  CHECK(s.p50_ns == 7 * ms);
  CHECK(s.p95_ns == 7 * ms);
  CHECK(s.p99_ns == 7 * ms);
  CHECK(s.max_ns == 7 * ms);
}

TEST_CASE("nearest rank over 1..100 ms, in any order") {
  std::vector<std::int64_t> v;
  for (int i = 1; i <= 100; ++i)
    v.push_back(i * ms);
  std::shuffle(v.begin(), v.end(), std::mt19937(42));
  auto s = filled(v).summary();
  CHECK(s.count == 100);
  CHECK(s.p50_ns == 50 * ms);
  CHECK(s.p95_ns == 95 * ms);
  CHECK(s.p99_ns == 99 * ms);
  CHECK(s.max_ns == 100 * ms);
}

TEST_CASE("nearest rank rounds up: of four samples p50 is the second, p95 the fourth") {
  auto s = filled({40, 10, 30, 20}).summary();
  CHECK(s.p50_ns == 20);
  CHECK(s.p95_ns == 40);
  CHECK(s.p99_ns == 40);
}

TEST_CASE("one slow outlier moves p99 and max but not p50") {
  std::vector<std::int64_t> v(199, 2 * ms);
  v.push_back(900 * ms);
  auto s = filled(v).summary();
  CHECK(s.p50_ns == 2 * ms);
  CHECK(s.p95_ns == 2 * ms);
  CHECK(s.p99_ns == 2 * ms); // 1 of 200 is above the 99th percentile
  CHECK(s.max_ns == 900 * ms);
  v.push_back(900 * ms);
  v.push_back(900 * ms);
  s = filled(v).summary();
  CHECK(s.p99_ns == 900 * ms); // 3 of 202 are
  CHECK(s.p50_ns == 2 * ms);
}

TEST_CASE("the window keeps the most recent samples; the count keeps them all") {
  latency_tracker t(4);
  for (int i = 0; i < 10; ++i)
    t.record(1000 * s); // old and slow
  for (int i = 0; i < 4; ++i)
    t.record(1 * ms); // recent and fast
  auto sum = t.summary();
  CHECK(sum.count == 14);
  CHECK(sum.p99_ns == 1 * ms);
  CHECK(sum.max_ns == 1 * ms);
  t.record(5 * ms);
  sum = t.summary();
  CHECK(sum.max_ns == 5 * ms);
  CHECK(sum.p50_ns == 1 * ms);
}

TEST_CASE("a negative sample (clocks apart) counts as zero, never below") {
  auto s = filled({-5 * ms, 3 * ms}).summary();
  CHECK(s.p50_ns == 0);
  CHECK(s.max_ns == 3 * ms);
}

TEST_CASE("percentile() agrees with the tracker") {
  std::vector<std::int64_t> v{5, 1, 4, 2, 3};
  CHECK(percentile(v, 50) == 3);
  CHECK(percentile(v, 100) == 5);
  CHECK(percentile(v, 1) == 1);
  CHECK(percentile({}, 50) == 0);
  auto s = filled(v).summary();
  CHECK(s.p50_ns == percentile(v, 50));
  CHECK(s.p95_ns == percentile(v, 95));
}

TEST_CASE("rate: none before two samples, then bytes per second") {
  rate_meter r;
  CHECK(r.rate() == 0);
  r.sample(0, 0);
  CHECK(r.rate() == 0);
  r.sample(1 * s, 1000);
  CHECK(r.rate() == doctest::Approx(1000));
  r.sample(2 * s, 3000);
  CHECK(r.rate() == doctest::Approx(1500));
}

TEST_CASE("rate: follows the last window, not the whole history") {
  rate_meter r(3 * s);
  for (int i = 0; i <= 10; ++i)
    r.sample(i * s, static_cast<std::uint64_t>(i) * 1'000'000); // 1 MB/s
  for (int i = 11; i <= 20; ++i)
    r.sample(i * s, 10'000'000); // then idle
  CHECK(r.rate() == doctest::Approx(0));
  r.sample(21 * s, 13'000'000);                  // 3 MB in the last second
  CHECK(r.rate() == doctest::Approx(1'000'000)); // averaged over the 3 s window
}

TEST_CASE("rate: a counter that restarts starts over instead of going negative") {
  rate_meter r;
  r.sample(0, 5000);
  r.sample(1 * s, 6000);
  r.sample(2 * s, 10);
  CHECK(r.rate() == 0);
  r.sample(3 * s, 110);
  CHECK(r.rate() == doctest::Approx(100));
}

TEST_CASE("conflict names: parsed into their parts, both ways") {
  auto c = parse_conflict_name("doc/notes.sync-conflict-20240102-030405-ABCDEFG.txt");
  REQUIRE(c);
  CHECK(c->original == "doc/notes.txt");
  CHECK(c->time == "20240102-030405");
  CHECK(c->device == "ABCDEFG");
  auto d = parse_conflict_name(".bashrc.sync-conflict-20240102-030405-ABCDEFG");
  REQUIRE(d);
  CHECK(d->original == ".bashrc");
  CHECK_FALSE(parse_conflict_name("doc/notes.txt"));
  CHECK_FALSE(parse_conflict_name("notes.sync-conflict-2024-ABCDEFG.txt"));
  CHECK_FALSE(parse_conflict_name("x.sync-conflict-20240102-030405-ABCDEFG.txt/inside"));
}
