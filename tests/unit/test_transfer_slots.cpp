#include <doctest/doctest.h>

#include <vector>

#include "core/transfer_slots.hpp"

using namespace cascade::core;
using tickets = std::vector<transfer_slots::ticket>;

TEST_CASE("transfer slots: the default size follows the cores, from 8 up to 16") {
  CHECK(transfer_slots::default_size(1) == 8);
  CHECK(transfer_slots::default_size(2) == 8);
  CHECK(transfer_slots::default_size(4) == 8);
  CHECK(transfer_slots::default_size(8) == 16);
  CHECK(transfer_slots::default_size(64) == 16);
  CHECK(transfer_slots(0).size() == 1);
  CHECK(transfer_slots(100).size() == 16);
}

TEST_CASE("transfer slots: at most size are held; the rest wait and are granted in order") {
  transfer_slots s(2);
  auto a = s.issue(), b = s.issue(), c = s.issue(), d = s.issue();
  CHECK(a != 0);
  CHECK(s.request(a, 0));
  CHECK(s.request(b, 0));
  CHECK_FALSE(s.request(c, 10));
  CHECK_FALSE(s.request(d, 20));
  CHECK_FALSE(s.request(c, 30)); // asking again does not queue twice
  CHECK(s.in_use() == 2);
  CHECK(s.waiting() == 2);
  CHECK(s.oldest_wait_ns(110) == 100);
  CHECK(s.grant().empty()); // nothing free
  s.release(b);
  CHECK(s.grant() == tickets{c});
  CHECK(s.holds(c));
  CHECK_FALSE(s.holds(b));
  s.release(a);
  s.release(c);
  CHECK(s.grant() == tickets{d});
  CHECK(s.waiting() == 0);
  CHECK(s.oldest_wait_ns(1000) == 0);
  CHECK(s.free() == 1);
}

TEST_CASE("transfer slots: an offer takes a slot only when one is free and nobody waits") {
  transfer_slots s(2);
  auto a = s.issue(), b = s.issue(), offer = s.issue();
  CHECK(s.request(a, 0));
  CHECK(s.request(b, 0));
  CHECK_FALSE(s.try_take(offer)); // full
  s.release(a);
  s.release(b);
  auto w = s.issue();
  CHECK(s.request(w, 0)); // free again: taken at once, not queued
  auto x = s.issue(), y = s.issue();
  CHECK(s.request(x, 0));
  CHECK_FALSE(s.request(y, 0));
  s.release(w); // one free, but y waits ahead of any offer
  CHECK_FALSE(s.try_take(offer));
  CHECK(s.grant() == tickets{y});
  s.release(y);
  CHECK(s.try_take(offer));
  CHECK(s.in_use() == 2);
}

TEST_CASE("transfer slots: a waiter that gives up leaves the queue; unknown tickets are ignored") {
  transfer_slots s(1);
  auto a = s.issue(), b = s.issue(), c = s.issue();
  CHECK(s.request(a, 0));
  CHECK_FALSE(s.request(b, 0));
  CHECK_FALSE(s.request(c, 0));
  s.release(b); // gave up while waiting
  s.release(999);
  CHECK(s.waiting() == 1);
  s.release(a);
  CHECK(s.grant() == tickets{c});
}
