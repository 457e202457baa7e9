#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>

#include "core/time_split.hpp"

using cascade::core::split_ns;

TEST_CASE("split_ns floors: the fraction is never negative") {
  CHECK(split_ns(0).sec == 0);
  CHECK(split_ns(0).nsec == 0);
  CHECK(split_ns(1'500'000'000).sec == 1);
  CHECK(split_ns(1'500'000'000).nsec == 500'000'000);
  // Half a second before 1970: -1 s + 0.5 s, not 0 s - 0.5 s (utimensat refuses a negative nsec).
  CHECK(split_ns(-500'000'000).sec == -1);
  CHECK(split_ns(-500'000'000).nsec == 500'000'000);
  CHECK(split_ns(-1'000'000'000).sec == -1);
  CHECK(split_ns(-1'000'000'000).nsec == 0);
  CHECK(split_ns(-1).sec == -1);
  CHECK(split_ns(-1).nsec == 999'999'999);
}

TEST_CASE("split_ns round-trips sec * 1e9 + nsec") {
  for (std::int64_t ns : {INT64_C(-3'000'000'001), INT64_C(-7), INT64_C(1), INT64_C(1'700'000'000'123'456'789)}) {
    auto t = split_ns(ns);
    CHECK(t.nsec >= 0);
    CHECK(t.nsec < 1'000'000'000);
    CHECK(t.sec * 1'000'000'000 + t.nsec == ns);
  }
}
