#include <doctest/doctest.h>

#include "core/chunk_delta.hpp"

using namespace cascade::core;

namespace {

// A list of `n` chunks of 1000 + i bytes with hashes named by `tag` and i.
std::vector<chunk> chunks(std::size_t n, std::uint8_t tag = 1) {
  std::vector<chunk> out;
  std::uint64_t off = 0;
  for (std::size_t i = 0; i < n; ++i) {
    chunk c;
    c.offset = off;
    c.length = static_cast<std::uint32_t>(1000 + i);
    c.hash[0] = tag;
    c.hash[1] = static_cast<std::uint8_t>(i & 0xff);
    c.hash[2] = static_cast<std::uint8_t>(i >> 8);
    off += c.length;
    out.push_back(c);
  }
  return out;
}

std::uint64_t total(const std::vector<chunk>& v) {
  return v.empty() ? 0 : v.back().offset + v.back().length;
}

std::optional<std::vector<chunk>> apply(const chunk_delta& d, const std::vector<chunk>& base,
                                        const std::vector<chunk>& next) {
  return apply_delta(d, base, total(next));
}

void reoffset(std::vector<chunk>& v) {
  std::uint64_t off = 0;
  for (auto& c : v) {
    c.offset = off;
    off += c.length;
  }
}

const version_vector v1({{7, 1}});

} // namespace

TEST_CASE("delta: an edit in the middle keeps two base runs and adds only the new chunks") {
  auto base = chunks(200);
  auto next = base;
  next.erase(next.begin() + 100, next.begin() + 103);
  auto fresh = chunks(4, 9);
  next.insert(next.begin() + 100, fresh.begin(), fresh.end());
  reoffset(next);
  auto d = make_delta(v1, base, next);
  REQUIRE(d);
  CHECK(d->base == v1);
  REQUIRE(d->steps.size() == 2);
  CHECK(d->steps[0].base_first == 0);
  CHECK(d->steps[0].base_count == 100);
  CHECK(d->steps[0].added.size() == 4);
  CHECK(d->steps[1].base_first == 103);
  CHECK(d->steps[1].base_count == 97);
  CHECK(d->steps[1].added.empty());
  CHECK(added_chunks(*d) == 4);
  auto back = apply(*d, base, next);
  REQUIRE(back);
  CHECK(*back == next);
}

TEST_CASE("delta: appended, prepended, moved and repeated chunks round-trip") {
  auto base = chunks(100);
  SUBCASE("append") {
    auto next = base;
    auto tail = chunks(3, 5);
    next.insert(next.end(), tail.begin(), tail.end());
    reoffset(next);
    auto d = make_delta(v1, base, next);
    REQUIRE(d);
    CHECK(d->steps.size() == 1);
    CHECK(*apply(*d, base, next) == next);
  }
  SUBCASE("prepend: the first step adds before any base run") {
    auto next = chunks(2, 5);
    next.insert(next.end(), base.begin(), base.end());
    reoffset(next);
    auto d = make_delta(v1, base, next);
    REQUIRE(d);
    CHECK(d->steps[0].base_count == 0);
    CHECK(d->steps[0].added.size() == 2);
    CHECK(*apply(*d, base, next) == next);
  }
  SUBCASE("halves swapped and a chunk repeated") {
    std::vector<chunk> next(base.begin() + 50, base.end());
    next.insert(next.end(), base.begin(), base.begin() + 50);
    next.push_back(base[3]);
    reoffset(next);
    auto d = make_delta(v1, base, next);
    REQUIRE(d);
    CHECK(added_chunks(*d) == 0);
    CHECK(*apply(*d, base, next) == next);
  }
  SUBCASE("truncated to its first 70 chunks") {
    std::vector<chunk> next(base.begin(), base.begin() + 70);
    auto d = make_delta(v1, base, next);
    REQUIRE(d);
    CHECK(*apply(*d, base, next) == next);
  }
}

TEST_CASE("delta: not made when it would not pay") {
  auto base = chunks(200);
  CHECK_FALSE(make_delta(v1, base, chunks(200, 2)));               // all new
  CHECK_FALSE(make_delta(v1, base, chunks(min_delta_chunks - 1))); // short
  CHECK_FALSE(make_delta(version_vector{}, base, base));           // no base version
  CHECK_FALSE(make_delta(v1, {}, chunks(100)));                    // no base chunks
  // A chunk with the same hash but another length is not the base's chunk.
  auto next = base;
  for (auto& c : next)
    c.length += 1;
  reoffset(next);
  CHECK_FALSE(make_delta(v1, base, next));
  // Two thirds new: the delta is over half the full list.
  auto mixed = base;
  for (std::size_t i = 0; i < mixed.size(); ++i)
    if (i % 3 != 0)
      mixed[i].hash[5] = 0xee;
  CHECK_FALSE(make_delta(v1, base, mixed));
}

TEST_CASE("delta: a delta that does not fit its base is refused") {
  auto base = chunks(100);
  auto next = base;
  next[50].hash[9] = 1;
  auto d = make_delta(v1, base, next);
  REQUIRE(d);
  auto size = total(next);
  CHECK(apply_delta(*d, base, size));
  CHECK_FALSE(apply_delta(*d, base, size - 1)); // more than the record's size
  CHECK_FALSE(apply_delta(*d, base, size + 1)); // less
  std::vector<chunk> shorter(base.begin(), base.begin() + 60);
  CHECK_FALSE(apply_delta(*d, shorter, size)); // a step reaches past the end
  auto bad = *d;
  bad.steps[0].added[0].offset += 1; // does not follow on
  CHECK_FALSE(apply_delta(bad, base, size));
  bad = *d;
  bad.steps[0].added[0].length = 0;
  CHECK_FALSE(apply_delta(bad, base, size));
  bad = *d;
  bad.steps[1].base_first = 0xffffffff;
  CHECK_FALSE(apply_delta(bad, base, size)); // no overflow into a small index
  bad.steps[1].base_first = 99;
  bad.steps[1].base_count = 0xffffffff;
  CHECK_FALSE(apply_delta(bad, base, size));
  // A delta repeating its whole base stops at the cap, not at the memory's end.
  chunk_delta blowup{v1, std::vector<delta_step>(20000, delta_step{0, 100, {}})};
  CHECK_FALSE(apply_delta(blowup, base, ~std::uint64_t{0}));
}

TEST_CASE("delta: the database form round-trips and rejects damage") {
  auto base = chunks(100);
  auto next = base;
  next[10].hash[9] = 1;
  next[80].hash[9] = 1;
  auto d = make_delta(version_vector({{7, 3}, {9, 1}}), base, next);
  REQUIRE(d);
  auto blob = encode(*d);
  auto back = decode_delta(blob);
  REQUIRE(back);
  CHECK(*back == *d);
  CHECK_FALSE(decode_delta(blob.substr(0, blob.size() - 1)));
  CHECK_FALSE(decode_delta(blob + "x"));
  CHECK_FALSE(decode_delta(""));
  std::string huge(4, '\xff');
  CHECK_FALSE(decode_delta(huge));
}
