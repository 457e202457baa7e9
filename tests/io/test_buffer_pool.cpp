// io::buffer_pool: blocks are reused, bounded when idle, shared by slices and returned when the
// last holder lets go, from any thread.
#include <doctest/doctest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "io/buffer_pool.hpp"

using cascade::io::buffer;
using cascade::io::buffer_pool;

TEST_CASE("a released block is reused, not allocated again") {
  buffer_pool pool(4, 4096);
  const std::uint8_t* first = nullptr;
  {
    auto b = pool.acquire(100);
    first = b.data();
    CHECK(b.capacity() == 4096);
    CHECK(pool.statistics().live == 1);
  }
  CHECK(pool.statistics().idle == 1);
  CHECK(pool.statistics().live == 0);
  auto again = pool.acquire(4096);
  CHECK(again.data() == first);
  CHECK(pool.statistics().created == 1);
}

TEST_CASE("slices keep their block until the last one goes") {
  buffer_pool pool(4, 4096);
  buffer a, b;
  {
    auto blk = pool.acquire();
    std::memcpy(blk.data(), "hello world", 11);
    a = blk.share(0, 5);
    b = blk.share(6, 5);
  }
  CHECK(pool.statistics().live == 1);
  CHECK(std::string(a.begin(), a.end()) == "hello");
  auto c = b.slice(1, 3);
  CHECK(std::string(c.begin(), c.end()) == "orl");
  CHECK(c.use_count() == 3);
  a = {};
  b = {};
  CHECK(pool.statistics().live == 1);
  c = {};
  CHECK(pool.statistics().live == 0);
  CHECK(pool.statistics().idle == 1);
  CHECK_THROWS(pool.copy({}).slice(1, 1));
}

TEST_CASE("at most max_idle blocks are kept; oversize blocks are freed") {
  buffer_pool pool(2, 1024);
  {
    std::vector<cascade::io::block_ref> held;
    for (int i = 0; i < 5; ++i)
      held.push_back(pool.acquire());
    held.push_back(pool.acquire(10000)); // a block of its own
    CHECK(held.back().capacity() >= 10000);
    CHECK(pool.statistics().live == 6);
  }
  CHECK(pool.statistics().idle == 2);
  CHECK(pool.statistics().live == 0);
}

TEST_CASE("share finds the held block that bytes lie in, and nothing else") {
  buffer_pool pool(2, 4096);
  auto blk = pool.acquire();
  std::memcpy(blk.data() + 100, "abc", 3);
  auto s = pool.share(blk.data() + 100, 3);
  REQUIRE(s);
  CHECK(std::string(s.begin(), s.end()) == "abc");
  CHECK(s.use_count() == 2);
  std::uint8_t outside[8] = {};
  CHECK_FALSE(pool.share(outside, 8));
  CHECK_FALSE(pool.share(blk.data() + 4090, 100)); // runs past the block
  auto copied = pool.share_or_copy({outside, 8});
  CHECK(copied.size() == 8);
  CHECK(copied.data() != outside);
  // An idle block is not revived by a stray pointer into it.
  auto* p = blk.data();
  s = {};
  blk = {};
  CHECK_FALSE(pool.share(p, 1));
}

TEST_CASE("join: adjacent slices of one block become one") {
  buffer_pool pool(2, 4096);
  auto blk = pool.acquire();
  auto a = blk.share(0, 10), b = blk.share(10, 5), c = blk.share(16, 1);
  auto ab = buffer::join(a, b);
  REQUIRE(ab);
  CHECK(ab->size() == 15);
  CHECK(ab->data() == a.data());
  CHECK_FALSE(buffer::join(b, c));
  CHECK_FALSE(buffer::join(a, pool.copy(b.span())));
}

TEST_CASE("blocks go back from other threads") {
  buffer_pool pool(8, 4096);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&pool] {
      for (int i = 0; i < 300; ++i) {
        auto blk = pool.acquire();
        blk.data()[0] = static_cast<std::uint8_t>(i);
        auto shared = blk.share(0, 1);
        std::thread([s = std::move(shared)] { (void)s.data()[0]; }).join();
      }
    });
  for (auto& t : threads)
    t.join();
  auto st = pool.statistics();
  CHECK(st.live == 0);
  CHECK(st.idle <= 8);
  CHECK(st.created <= 8);
}
