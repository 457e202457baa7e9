#include <doctest/doctest.h>

#include <string>

#include "core/handshake_backoff.hpp"

using namespace cascade::core;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

namespace {
const handshake_backoff::time t0 = handshake_backoff::time{} + 1000s;
} // namespace

TEST_CASE("handshake backoff: a new address waits for nothing") {
  handshake_backoff b;
  CHECK(b.delay("198.18.0.1", t0) == ms(0));
  CHECK(b.size() == 0);
}

TEST_CASE("handshake backoff: doubles from 0.2 s per failure up to 10 s") {
  handshake_backoff b;
  ms expected[] = {ms(200), ms(400), ms(800), ms(1600), ms(3200), ms(6400), ms(10000), ms(10000)};
  auto t = t0;
  for (auto e : expected) {
    b.failed("198.18.0.1", t);
    CHECK(b.delay("198.18.0.1", t) == e);
    t += 1s;
  }
  CHECK(b.delay("198.18.0.2", t) == ms(0)); // another address is not slowed
}

TEST_CASE("handshake backoff: a minute after the last failure the address starts afresh") {
  handshake_backoff b;
  for (int i = 0; i < 5; ++i)
    b.failed("a", t0);
  CHECK(b.delay("a", t0 + 59999ms) == ms(3200));
  CHECK(b.delay("a", t0 + 60s) == ms(0));
  b.failed("a", t0 + 61s); // the old failures no longer count
  CHECK(b.delay("a", t0 + 61s) == ms(200));
}

TEST_CASE("handshake backoff: a session that comes up forgives the address") {
  handshake_backoff b;
  b.failed("a", t0);
  b.failed("a", t0);
  b.succeeded("a");
  CHECK(b.delay("a", t0) == ms(0));
  CHECK(b.size() == 0);
}

TEST_CASE("handshake backoff: bounded; old failures go first, then the least recent") {
  handshake_backoff b(3);
  b.failed("old", t0);
  b.failed("x", t0 + 50s);
  b.failed("y", t0 + 55s);
  // Full: "old" failed over a minute before, so it goes and the rest stay.
  b.failed("z", t0 + 61s);
  CHECK(b.size() == 3);
  CHECK(b.delay("old", t0 + 61s) == ms(0));
  CHECK(b.delay("x", t0 + 61s) == ms(200));
  // Full of recent failures: the least recent ("x") goes.
  b.failed("w", t0 + 62s);
  CHECK(b.size() == 3);
  CHECK(b.delay("x", t0 + 62s) == ms(0));
  CHECK(b.delay("y", t0 + 62s) == ms(200));
  CHECK(b.delay("z", t0 + 62s) == ms(200));
  CHECK(b.delay("w", t0 + 62s) == ms(200));
  // A flood of addresses never grows the table.
  for (int i = 0; i < 1000; ++i)
    b.failed("flood" + std::to_string(i), t0 + 63s);
  CHECK(b.size() == 3);
}
