#include <doctest/doctest.h>

#include "core/faults.hpp"

using namespace cascade::core;

namespace {
constexpr std::int64_t s = 1'000'000'000;
} // namespace

TEST_CASE("fault board: a fault is new once, keeps its start, counts, and clears") {
  fault_board b;
  CHECK_FALSE(b.has("storage"));
  CHECK(b.raise("storage", "disk full", 10 * s));
  CHECK_FALSE(b.raise("storage", "disk still full", 20 * s));
  REQUIRE(b.find("storage"));
  CHECK(b.find("storage")->since_ns == 10 * s);
  CHECK(b.find("storage")->message == "disk still full");
  CHECK(b.find("storage")->count == 2);
  CHECK(b.raise("installs", "x", 11 * s, 5));
  b.set_count("installs", 3);
  CHECK(b.find("installs")->count == 3);
  CHECK(b.list().size() == 2);
  CHECK(b.clear("storage"));
  CHECK_FALSE(b.clear("storage"));
  CHECK_FALSE(b.has("storage"));
  CHECK(b.list().size() == 1);
  // Raised again after it healed: a new fault with a new start.
  CHECK(b.raise("storage", "full again", 30 * s));
  CHECK(b.find("storage")->since_ns == 30 * s);
  CHECK(b.find("storage")->count == 1);
}

TEST_CASE("retry backoff: 1 s doubling to 30 s; only the first failure and the heal count") {
  retry_backoff r(1 * s, 30 * s);
  CHECK_FALSE(r.failing());
  CHECK_FALSE(r.due(0));
  CHECK(r.fail(100 * s)); // starts the streak
  CHECK(r.failing());
  CHECK(r.next_ns() == 101 * s);
  CHECK_FALSE(r.due(101 * s - 1));
  CHECK(r.due(101 * s));
  std::int64_t expected[] = {2, 4, 8, 16, 30, 30};
  for (auto e : expected) {
    CHECK_FALSE(r.fail(200 * s)); // not a new fault
    CHECK(r.wait_ns() == e * s);
    CHECK(r.next_ns() == 200 * s + e * s);
  }
  CHECK(r.succeed()); // heals
  CHECK_FALSE(r.succeed());
  CHECK_FALSE(r.failing());
  CHECK(r.fail(300 * s)); // a new streak starts over at 1 s
  CHECK(r.wait_ns() == 1 * s);
}

TEST_CASE("retry backoff: many failures do not overflow the wait") {
  retry_backoff r(1 * s, 30 * s);
  for (int i = 0; i < 1000; ++i)
    r.fail(0);
  CHECK(r.wait_ns() == 30 * s);
}
