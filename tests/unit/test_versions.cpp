#include <doctest/doctest.h>

#include <algorithm>

#include "core/utc_stamp.hpp"
#include "core/versions.hpp"

using namespace cascade::core;

namespace {
constexpr std::int64_t t0 = 1796458500; // 2026-12-05 08:15:00 UTC
constexpr std::int64_t day = 86400;

// "name:time:size" rows, the time relative to t0.
std::vector<version_file> files(std::initializer_list<version_file> rows) {
  return rows;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}
} // namespace

TEST_CASE("version stamps: UTC, fixed width, valid dates only") {
  CHECK(utc_stamp(t0) == "20261205-081500");
  CHECK(utc_stamp(0) == "19700101-000000");
  CHECK(utc_stamp(-1) == "19691231-235959");
  CHECK(utc_stamp(951782400) == "20000229-000000"); // a leap day of a year divisible by 400
  CHECK(parse_utc_stamp("20261205-081500") == t0);
  CHECK(parse_utc_stamp("19691231-235959") == -1);
  CHECK(parse_utc_stamp("20000229-000000") == 951782400);
  for (auto bad : {"20261305-081500", "20261200-081500", "20261232-081500", "20190229-000000",
                   "19000229-000000", "20261205-241500", "20261205-086000", "20261205-081560",
                   "20261205_081500", "2026120-0815000", "20261205-08150", "20261205-0815000",
                   "2026a205-081500", "", "+0261205-081500"})
    CHECK_MESSAGE(!parse_utc_stamp(bad), bad);
  for (std::int64_t t :
       {std::int64_t(0), t0, t0 + 59, std::int64_t(4102444799), std::int64_t(-86400 * 365)})
    CHECK(parse_utc_stamp(utc_stamp(t)) == t);
}

TEST_CASE("version names: the stamp goes before the extension") {
  struct row {
    const char* path;
    const char* name;
  };
  for (auto [path, name] : {
           row{"dir/report.txt", "dir/report~20261205-081500.txt"},
           row{"report.txt", "report~20261205-081500.txt"},
           row{"Makefile", "Makefile~20261205-081500"},
           row{".bashrc", ".bashrc~20261205-081500"}, // a leading dot is no extension
           row{"a/.config.json", "a/.config~20261205-081500.json"},
           row{"a.tar.gz", "a.tar~20261205-081500.gz"},   // only the last dot
           row{"notes.", "notes.~20261205-081500"},       // a trailing dot is no extension
           row{"d.ir/file", "d.ir/file~20261205-081500"}, // a dot in a directory is not
           row{"x~y.txt", "x~y~20261205-081500.txt"},
           row{"dir/a b.tx~t", "dir/a b~20261205-081500.tx~t"},
       }) {
    CHECK(version_name(path, t0) == name);
    auto id = parse_version_name(name);
    REQUIRE_MESSAGE(id, name);
    CHECK(id->path == path);
    CHECK(id->time_s == t0);
    CHECK(id->n == 1);
  }
}

TEST_CASE("version names: two replacements within one second are told apart") {
  CHECK(version_name("r.txt", t0, 2) == "r~20261205-081500-2.txt");
  CHECK(version_name("Makefile", t0, 12) == "Makefile~20261205-081500-12");
  CHECK(parse_version_name("r~20261205-081500-2.txt") == version_id{"r.txt", t0, 2});
  CHECK(parse_version_name("Makefile~20261205-081500-12") == version_id{"Makefile", t0, 12});
  CHECK(version_name("r.txt", t0, 1) != version_name("r.txt", t0, 2));
  CHECK(version_name("r.txt", t0, 0) == version_name("r.txt", t0, 1));
}

TEST_CASE("version names: a name that holds a stamp of its own reads back whole") {
  auto once = version_name("log.txt", t0);
  auto twice = version_name(once, t0 + day);
  CHECK(twice == "log~20261205-081500~20261206-081500.txt");
  CHECK(parse_version_name(twice) == version_id{once, t0 + day, 1});
  // The extension itself holds a stamp.
  auto odd = version_name("a.~20261205-081500x", t0 + 1);
  CHECK(odd == "a~20261205-081501.~20261205-081500x");
  CHECK(parse_version_name(odd) == version_id{"a.~20261205-081500x", t0 + 1, 1});
  // The one name two paths can make ("a.~STAMP" and "a~STAMP." each versioned in the other's
  // second) reads as the rightmost stamp: a version of a path with a trailing dot.
  CHECK(parse_version_name("a~20261205-081501.~20261205-081500") ==
        version_id{"a~20261205-081501.", t0, 1});
}

TEST_CASE("version names: what version_name cannot make is refused") {
  for (auto bad : {"report.txt", "report~2026.txt", "report~20261305-081500.txt",
                   "~20261205-081500", "~20261205-081500.txt", "r~20261205-081500-1.txt",
                   "r~20261205-081500-02.txt", "r~20261205-081500-.txt", "r~20261205-081500x.txt",
                   "a~20261205-081500/b", "r~20261205-081500.tar.gz", ""})
    CHECK_MESSAGE(!parse_version_name(bad), bad);
}

TEST_CASE("retention: older than keep-days goes, the rest stays") {
  auto v = files({{"a~old", t0 - 31 * day, 10}, {"b~edge", t0 - 30 * day, 10}, {"c~new", t0, 10}});
  CHECK(versions_to_remove(v, t0, {30 * day, 0}) == std::vector<std::string>{"a~old"});
  CHECK(versions_to_remove(v, t0, {0, 0}).empty()); // no limits: nothing goes
  CHECK(versions_to_remove(v, t0, {day, 0}) == std::vector<std::string>{"a~old", "b~edge"});
  CHECK(versions_to_remove({}, t0, {day, 1}).empty());
}

TEST_CASE("retention: over the cap the oldest go first, until the rest fit") {
  auto v = files({{"new", t0 - 1, 40}, {"old", t0 - 300, 40}, {"mid", t0 - 200, 40}});
  CHECK(versions_to_remove(v, t0, {0, 120}).empty()); // exactly at the cap
  CHECK(versions_to_remove(v, t0, {0, 119}) == std::vector<std::string>{"old"});
  CHECK(versions_to_remove(v, t0, {0, 80}) == std::vector<std::string>{"old"});
  CHECK(versions_to_remove(v, t0, {0, 79}) == std::vector<std::string>{"old", "mid"});
  CHECK(sorted(versions_to_remove(v, t0, {0, 1})) == sorted({"old", "mid", "new"}));
  // A big old one going is enough; the newer small ones stay.
  auto w = files({{"big", t0 - 10, 1000}, {"s1", t0 - 5, 1}, {"s2", t0 - 4, 1}});
  CHECK(versions_to_remove(w, t0, {0, 500}) == std::vector<std::string>{"big"});
  // Age first, then the cap over what is left.
  auto x = files({{"ancient", t0 - 90 * day, 1}, {"a", t0 - 2, 50}, {"b", t0 - 1, 50}});
  CHECK(versions_to_remove(x, t0, {30 * day, 60}) == std::vector<std::string>{"ancient", "a"});
  // The same second: the earlier replacement first ("-2" sorts before "." as text), then by
  // name, so the order is stable.
  auto y = files({{"r~20261205-081500-2.txt", t0, 10, 2},
                  {"r~20261205-081500.txt", t0, 10, 1},
                  {"q~20261205-081500.txt", t0, 10, 1}});
  CHECK(versions_to_remove(y, t0, {0, 20}) == std::vector<std::string>{"q~20261205-081500.txt"});
  CHECK(versions_to_remove(y, t0, {0, 10}) ==
        std::vector<std::string>{"q~20261205-081500.txt", "r~20261205-081500.txt"});
  // A stamp in the future (the clock went back) counts as new.
  auto z = files({{"future", t0 + day, 10}, {"now", t0, 10}});
  CHECK(versions_to_remove(z, t0, {day, 10}) == std::vector<std::string>{"now"});
}

TEST_CASE("picking a version to restore: newest, or the one of a given second") {
  auto v = files({{version_name("r.txt", t0), t0, 1},
                  {version_name("r.txt", t0 + 5), t0 + 5, 2},
                  {version_name("r.txt", t0 + 5, 2), t0 + 5, 3},
                  {version_name("other.txt", t0 + 9), t0 + 9, 4},
                  {"junk", t0 + 99, 5}});
  CHECK(pick_version(v, "r.txt")->size == 3);
  CHECK(pick_version(v, "r.txt", t0)->size == 1);
  CHECK(pick_version(v, "r.txt", t0 + 5)->size == 3);
  CHECK_FALSE(pick_version(v, "r.txt", t0 + 1));
  CHECK_FALSE(pick_version(v, "missing.txt"));
  CHECK(pick_version(v, "other.txt")->size == 4);
}
