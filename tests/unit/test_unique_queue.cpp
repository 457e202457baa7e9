#include <doctest/doctest.h>

#include "core/unique_queue.hpp"

using cascade::core::unique_queue;

TEST_CASE("unique_queue: first in, first out, each path once") {
  unique_queue q;
  CHECK(q.empty());
  CHECK(q.push("b"));
  CHECK(q.push("a"));
  CHECK_FALSE(q.push("b")); // queued already: keeps its place
  CHECK(q.size() == 2);
  CHECK(q.contains("a"));
  CHECK(q.pop() == "b");
  CHECK_FALSE(q.contains("b"));
  CHECK(q.push("b")); // taken out: may come again, at the back
  CHECK(q.pop() == "a");
  CHECK(q.pop() == "b");
  CHECK(q.empty());
}
