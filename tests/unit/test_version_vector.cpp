#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "builders.hpp"
#include "core/version_vector.hpp"

using namespace cascade::core;
using test::dev;
using test::vv;

namespace {

ordering mirror(ordering o) {
  switch (o) {
  case ordering::greater:
    return ordering::lesser;
  case ordering::lesser:
    return ordering::greater;
  default:
    return o;
  }
}

const char* name(ordering o) {
  switch (o) {
  case ordering::equal:
    return "equal";
  case ordering::greater:
    return "greater";
  case ordering::lesser:
    return "lesser";
  case ordering::concurrent:
    return "concurrent";
  }
  return "?";
}

} // namespace

TEST_CASE("version_vector: compare, checked both ways") {
  struct row {
    const char* a;
    const char* b;
    ordering a_vs_b;
  };
  const std::vector<row> rows = {
      {"", "", ordering::equal},
      {"A:1", "A:1", ordering::equal},
      {"A:1,B:2", "B:2,A:1", ordering::equal},
      {"A:1", "", ordering::greater},
      {"A:2", "A:1", ordering::greater},
      {"A:1,B:1", "A:1", ordering::greater},
      {"A:1,B:1", "B:1", ordering::greater},
      {"A:3,B:2,C:1", "A:3,B:1", ordering::greater},
      {"A:5,C:1", "A:4", ordering::greater},
      {"A:1", "B:1", ordering::concurrent},
      {"A:2,B:1", "A:1,B:2", ordering::concurrent},
      {"A:1,C:1", "A:1,B:1", ordering::concurrent},
      {"A:9", "A:1,B:1", ordering::concurrent},
      {"A:1,B:1,C:1", "D:1", ordering::concurrent},
      {"A:3,B:1", "A:2,C:1", ordering::concurrent},
  };
  for (const auto& r : rows) {
    CAPTURE(r.a);
    CAPTURE(r.b);
    CHECK(name(compare(vv(r.a), vv(r.b))) == std::string(name(r.a_vs_b)));
    CHECK(name(compare(vv(r.b), vv(r.a))) == std::string(name(mirror(r.a_vs_b))));
  }
}

TEST_CASE("version_vector: constructor sorts, drops zero counters, folds duplicates") {
  const version_vector v({{dev('C'), 3}, {dev('A'), 1}, {dev('B'), 0}, {dev('A'), 4}});
  const std::vector<version_vector::entry> expected = {{dev('A'), 4}, {dev('C'), 3}};
  CHECK(v.entries() == expected);
  CHECK(v.counter(dev('B')) == 0);
  CHECK(v.counter(dev('Z')) == 0);
  CHECK(version_vector({{dev('A'), 0}}).empty());
  CHECK(version_vector().empty());
}

TEST_CASE("version_vector: bump goes above every counter seen") {
  struct row {
    const char* before;
    char who;
    const char* after;
  };
  const std::vector<row> rows = {
      {"", 'A', "A:1"},        {"A:1", 'A', "A:2"},         {"A:1,B:5", 'A', "A:6,B:5"},
      {"B:5", 'A', "A:6,B:5"}, {"A:7,B:5", 'A', "A:8,B:5"}, {"A:2,B:3,C:9", 'B', "A:2,B:10,C:9"},
      {"A:1", 'Z', "A:1,Z:2"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.before);
    CAPTURE(r.who);
    version_vector v = vv(r.before);
    const version_vector old = v;
    v.bump(dev(r.who));
    CHECK(v == vv(r.after));
    // The bumped vector dominates what it came from: a local change is always "newer".
    CHECK(compare(v, old) == ordering::greater);
    CHECK(compare(old, v) == ordering::lesser);
  }
}

TEST_CASE("version_vector: a bump after a merge dominates both sides") {
  version_vector a = vv("A:3,B:1");
  const version_vector b = vv("B:4,C:2");
  REQUIRE(compare(a, b) == ordering::concurrent);
  a.merge(b);
  a.bump(dev('A'));
  CHECK(compare(a, vv("A:3,B:1")) == ordering::greater);
  CHECK(compare(a, b) == ordering::greater);
}

TEST_CASE("version_vector: merge is the element-wise maximum") {
  struct row {
    const char* a;
    const char* b;
    const char* merged;
  };
  const std::vector<row> rows = {
      {"", "", ""},
      {"A:1", "", "A:1"},
      {"", "B:2", "B:2"},
      {"A:1", "A:3", "A:3"},
      {"A:3", "A:1", "A:3"},
      {"A:1,C:5", "B:2", "A:1,B:2,C:5"},
      {"A:4,B:1", "A:2,B:7,D:1", "A:4,B:7,D:1"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.a);
    CAPTURE(r.b);
    version_vector ab = vv(r.a);
    ab.merge(vv(r.b));
    version_vector ba = vv(r.b);
    ba.merge(vv(r.a));
    CHECK(ab == vv(r.merged));
    CHECK(ba == vv(r.merged)); // commutative
    CHECK(compare(ab, vv(r.a)) != ordering::lesser);
    CHECK(compare(ab, vv(r.b)) != ordering::lesser);
  }
}

TEST_CASE("version_vector: encode is sorted hex16:decimal") {
  CHECK(version_vector().encode() == "");
  CHECK(version_vector({{0x1, 1}}).encode() == "0000000000000001:1");
  CHECK(version_vector({{0xffffffffffffffffULL, 18446744073709551615ULL}, {0xab, 42}}).encode() ==
        "00000000000000ab:42,ffffffffffffffff:18446744073709551615");
  CHECK(vv("B:2,A:1").encode() == vv("A:1,B:2").encode());
}

TEST_CASE("version_vector: decode round-trips encode") {
  for (const char* text : {"", "A:1", "A:1,B:2", "A:99,C:3,Z:18446744073709551615"}) {
    CAPTURE(text);
    const version_vector v = vv(text);
    const auto back = version_vector::decode(v.encode());
    REQUIRE(back.has_value());
    CHECK(*back == v);
  }
  // Upper-case hex and any order are accepted; the result is canonical.
  const auto v = version_vector::decode("00000000000000FF:2,0000000000000001:7");
  REQUIRE(v.has_value());
  CHECK(v->encode() == "0000000000000001:7,00000000000000ff:2");
}

TEST_CASE("version_vector: decode rejects garbage") {
  for (const char* text : {
           ",",                                      // empty entries
           "0000000000000001:1,",                    // trailing comma
           ",0000000000000001:1",                    // leading comma
           "0000000000000001:1,,0000000000000002:1", // empty middle entry
           "0000000000000001",                       // no counter
           "0000000000000001:",                      // empty counter
           ":1",                                     // empty id
           "000000000000001:1",                      // 15 hex digits
           "00000000000000001:1",                    // 17 hex digits
           "000000000000000g:1",                     // not hex
           "0000000000000001:0",                     // zero counter
           "0000000000000001:01",                    // not canonical
           "0000000000000001:-1",                    // negative
           "0000000000000001:+1",                    // sign
           "0000000000000001:1x",                    // trailing junk
           "0000000000000001:18446744073709551616",  // overflows 64 bits
           "0000000000000001:1:2",                   // two colons
           "0000000000000001:1 ",                    // trailing space
           " 0000000000000001:1",                    // leading space
           "0000000000000001:1,0000000000000001:2",  // duplicate device
           "0000000000000001:1,0000000000000002:1,0000000000000001:1",
       }) {
    CAPTURE(text);
    CHECK_FALSE(version_vector::decode(text).has_value());
  }
}
