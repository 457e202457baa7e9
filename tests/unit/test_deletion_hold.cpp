#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/deletion_hold.hpp"

using namespace cascade::core;

namespace {
constexpr std::int64_t ms = 1'000'000;
using paths = std::vector<std::string>;
} // namespace

TEST_CASE("deletion hold: a lone deletion is due after the base quiet time") {
  deletion_hold h;
  CHECK_FALSE(h.due().has_value());
  CHECK(h.take_due(1000 * ms).empty());
  h.add("a", 1000 * ms);
  REQUIRE(h.due().has_value());
  CHECK(*h.due() == 1008 * ms);
  CHECK(h.take_due(1008 * ms - 1).empty());
  CHECK(h.holds("a"));
  CHECK(h.take_due(1008 * ms) == paths{"a"});
  CHECK(h.pending() == 0);
  CHECK_FALSE(h.holds("a"));
}

TEST_CASE("deletion hold: a burst (rm -rf) asks for more quiet, up to the cap") {
  deletion_hold h;
  // An rm -rf: a deletion every 50 us for 10 ms.
  std::int64_t t = 1000 * ms;
  for (int i = 0; i < 200; ++i, t += ms / 20)
    h.add("f" + std::to_string(i), t);
  CHECK(h.quiet_ns() == 100 * ms);
  auto last = t - ms / 20;
  CHECK(*h.due() == last + 100 * ms);
  // Nothing flushes while the burst goes on or shortly after it.
  CHECK(h.take_due(last + 99 * ms).empty());
  CHECK(h.take_due(last + 100 * ms).size() == 200);
}

TEST_CASE("deletion hold: the quiet time grows with every deletion of the burst") {
  deletion_hold h;
  h.add("a", 0);
  CHECK(h.quiet_ns() == 8 * ms);
  h.add("b", 1 * ms);
  CHECK(h.quiet_ns() == 16 * ms);
  CHECK(*h.due() == 17 * ms);
  h.add("b", 2 * ms); // the same path again: still two
  CHECK(h.quiet_ns() == 16 * ms);
  CHECK(*h.due() == 18 * ms);
}

TEST_CASE("deletion hold: an rm -rf that stalls right after its first file") {
  deletion_hold h;
  h.add("first", 0);
  CHECK(h.take_due(8 * ms) == paths{"first"}); // one leaked: the caller checked the marker
  // It goes on 2 ms later: the flushed one still counts for the burst.
  h.add("second", 10 * ms);
  CHECK(h.quiet_ns() == 16 * ms);
  for (int i = 0; i < 20; ++i)
    h.add("f" + std::to_string(i), 10 * ms + i * 10'000);
  CHECK(h.quiet_ns() == 100 * ms);
}

TEST_CASE("deletion hold: separate deletions far apart each get the base time") {
  deletion_hold h;
  std::int64_t t = 0;
  for (int i = 0; i < 20; ++i, t += 100 * ms) {
    h.add("p" + std::to_string(i), t);
    CHECK(*h.due() == t + 8 * ms);
    CHECK(h.take_due(t + 8 * ms).size() == 1);
  }
}

TEST_CASE("deletion hold: custom parameters and the cap hold for huge bursts") {
  deletion_hold_params p;
  p.base_ns = 2 * ms;
  p.per_path_ns = 1 * ms;
  p.max_quiet_ns = 5 * ms;
  deletion_hold h(p);
  h.add("a", 0);
  CHECK(h.quiet_ns() == 2 * ms);
  h.add("b", 0);
  CHECK(h.quiet_ns() == 3 * ms);
  for (int i = 0; i < 100000; ++i)
    h.add("x" + std::to_string(i), 0);
  CHECK(h.quiet_ns() == 5 * ms);
  CHECK(h.take_due(5 * ms).size() == 100002);
  // Flushed entries are remembered only up to what can change the quiet time.
  h.add("c", 6 * ms);
  CHECK(h.quiet_ns() == 5 * ms);
}

TEST_CASE("deletion hold: a rename's deletions wait for pending hashes, at most max_defer") {
  deletion_hold h;
  h.add("big/large.bin", 1000 * ms);
  // Due at 1008 ms, but the new name is still being hashed: not yet, and look again at the cap.
  CHECK(h.take_due(1008 * ms, true).empty());
  CHECK(h.take_due(2000 * ms, true).empty());
  CHECK(*h.next_check(1008 * ms, true) == 1008 * ms + 10000 * ms);
  // Hashing done: due at once (both ways: without pending hashes nothing waits).
  CHECK(*h.next_check(2000 * ms, false) == 2000 * ms);
  CHECK(h.take_due(2000 * ms, false) == paths{"big/large.bin"});
}

TEST_CASE("deletion hold: a hash that never ends delays deletions by max_defer only") {
  deletion_hold h;
  h.add("a", 1000 * ms);
  CHECK(*h.next_check(1000 * ms, true) == 1008 * ms); // not due yet: the quiet time first
  CHECK(h.take_due(1008 * ms + 10000 * ms - 1, true).empty());
  CHECK(h.take_due(1008 * ms + 10000 * ms, true) == paths{"a"});
  CHECK_FALSE(h.next_check(5000 * ms, true).has_value());
}

TEST_CASE("deletion hold: a deletion may be a rename only if a file of its size is hashed") {
  CHECK(may_be_renamed({100, 64 << 20}, {64 << 20}));
  CHECK_FALSE(may_be_renamed({100, 200}, {64 << 20}));
  CHECK_FALSE(may_be_renamed({}, {64 << 20}));
  CHECK_FALSE(may_be_renamed({64 << 20}, {}));
}
