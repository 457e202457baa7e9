#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "builders.hpp"
#include "core/device_id.hpp"
#include "core/path.hpp"
#include "core/rules.hpp"

using namespace cascade::core;
using test::deleted;
using test::dev;
using test::dir;
using test::file;
using test::symlink;

namespace {

const char* name(verdict v) {
  switch (v) {
  case verdict::ignore:
    return "ignore";
  case verdict::take:
    return "take";
  case verdict::keep_local:
    return "keep_local";
  case verdict::take_conflict:
    return "take_conflict";
  }
  return "?";
}

// The short id whose base32 form starts with `prefix` (7 characters).
short_id sid(const std::string& prefix) {
  const auto bytes = base32_decode(prefix + "AAAAAA");
  REQUIRE(bytes.has_value());
  short_id s = 0;
  for (const char c : *bytes)
    s = (s << 8) | static_cast<std::uint8_t>(c);
  return s;
}

constexpr std::int64_t sec = 1'000'000'000;
constexpr std::int64_t nov25 = 1'795'641'180 * sec; // 2026-11-25 21:13:00 UTC

// The record a node holds after acting on `d` (a conflict copy of the loser aside).
const file_record& kept(const file_record& local, const file_record& remote, decision d) {
  return d.what == verdict::take || d.what == verdict::take_conflict ? remote : local;
}

} // namespace

TEST_CASE("rules: decide without a local record takes everything") {
  CHECK(decide(nullptr, file("A:1")).what == verdict::take);
  // Even a deletion: its tombstone must be stored so an older creation arriving later from a
  // third node compares as lesser instead of resurrecting the file here alone.
  CHECK(decide(nullptr, deleted("A:1,B:1")).what == verdict::take);
  CHECK(decide(nullptr, dir("A:1")).what == verdict::take);
  CHECK_FALSE(decide(nullptr, file("A:1")).reannounce);
}

TEST_CASE("rules: decide on ordered versions") {
  struct row {
    file_record local, remote;
    verdict expected;
  };
  const std::vector<row> rows = {
      {file("A:1"), file("A:1"), verdict::ignore},
      {file("A:1", 100), file("A:1", 999, 'B', "other"), verdict::ignore}, // version decides
      {file("A:1"), file("A:2"), verdict::take},
      {file("A:1"), file("A:1,B:1", 50, 'B'), verdict::take}, // older mtime, newer version
      {file("A:2"), file("A:1"), verdict::ignore},
      {file("A:1,B:1"), file("A:1"), verdict::ignore},
      {file("A:1"), deleted("A:2"), verdict::take},
      {file("A:1"), deleted("A:1,B:1", 1, 'B'), verdict::take},
      {deleted("A:2"), file("A:1"), verdict::ignore},
      {deleted("A:1"), file("A:2"), verdict::take},
      {deleted("A:1"), deleted("A:1"), verdict::ignore},
      {dir("A:1"), dir("A:2", 100, 'A', 0700), verdict::take},
      {file("A:3,B:2"), file("A:2,B:2"), verdict::ignore},
  };
  for (const auto& r : rows) {
    CAPTURE(r.local.version.encode());
    CAPTURE(r.remote.version.encode());
    const decision d = decide(&r.local, r.remote);
    CHECK(std::string(name(d.what)) == name(r.expected));
    CHECK_FALSE(d.reannounce);
  }
}

TEST_CASE("rules: decide on concurrent versions") {
  struct row {
    const char* why;
    file_record local, remote;
    verdict expected;
    bool reannounce;
  };
  const std::vector<row> rows = {
      {"remote newer", file("A:2", 100, 'A', "mine"), file("A:1,B:1", 200, 'B', "theirs"),
       verdict::take_conflict, false},
      {"local newer", file("A:2", 300, 'A', "mine"), file("A:1,B:1", 200, 'B', "theirs"),
       verdict::keep_local, false},
      {"same mtime, remote device larger", file("A:2", 100, 'A', "mine"),
       file("A:1,B:1", 100, 'B', "theirs"), verdict::take_conflict, false},
      {"same mtime, local device larger", file("B:2", 100, 'B', "mine"),
       file("A:1", 100, 'A', "theirs"), verdict::keep_local, false},
      {"local deleted, remote modified (older)", deleted("A:2", 900, 'A'),
       file("A:1,B:1", 100, 'B'), verdict::take, false},
      {"local deleted, remote modified (newer)", deleted("A:2", 100, 'A'),
       file("A:1,B:1", 900, 'B'), verdict::take, false},
      {"local modified, remote deleted (newer)", file("A:2", 100, 'A'),
       deleted("A:1,B:1", 900, 'B'), verdict::keep_local, true},
      {"local modified, remote deleted (older)", file("A:2", 900, 'A'),
       deleted("A:1,B:1", 100, 'B'), verdict::keep_local, true},
      {"local dir, remote deleted", dir("A:2"), deleted("B:1", 900, 'B'), verdict::keep_local,
       true},
      {"both deleted, remote newer", deleted("A:2", 100, 'A'), deleted("A:1,B:1", 200, 'B'),
       verdict::take, false},
      {"both deleted, local newer", deleted("A:2", 300, 'A'), deleted("A:1,B:1", 200, 'B'),
       verdict::ignore, false},
      {"same bytes, remote newer", file("A:2", 100, 'A', "same"), file("B:1", 200, 'B', "same"),
       verdict::take, false},
      {"same bytes, local newer", file("A:2", 300, 'A', "same"), file("B:1", 200, 'B', "same"),
       verdict::ignore, false},
      {"identical content, device decides", file("A:1", 100, 'A', "s"), file("B:1", 100, 'B', "s"),
       verdict::take, false},
      {"two empty files", file("A:1", 100, 'A', ""), file("B:1", 200, 'B', ""), verdict::take,
       false},
      {"two dirs, remote newer", dir("A:1", 100, 'A', 0755), dir("B:1", 200, 'B', 0700),
       verdict::take, false},
      {"two dirs, local newer", dir("A:1", 300, 'A'), dir("B:1", 200, 'B'), verdict::ignore, false},
      {"same symlink target", symlink("A:1", "t", 100, 'A'), symlink("B:1", "t", 200, 'B'),
       verdict::take, false},
      {"different symlink target", symlink("A:1", "t", 300, 'A'), symlink("B:1", "u", 200, 'B'),
       verdict::keep_local, false},
      {"file against dir", file("A:1", 100, 'A'), dir("B:1", 200, 'B'), verdict::take_conflict,
       false},
      {"same size, other bytes", file("A:1", 100, 'A', "abc"), file("B:1", 200, 'B', "abd"),
       verdict::take_conflict, false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.why);
    REQUIRE(compare(r.local.version, r.remote.version) == ordering::concurrent);
    const decision d = decide(&r.local, r.remote);
    CHECK(std::string(name(d.what)) == name(r.expected));
    CHECK(d.reannounce == r.reannounce);
  }
}

TEST_CASE("rules: both sides of a concurrent pair end with the same record") {
  const std::vector<file_record> records = {
      file("A:1", 100, 'A', "a"),    file("B:1", 100, 'B', "b"), file("C:1", 200, 'C', "a"),
      file("D:1", 50, 'D', "a|b"),   deleted("E:1", 100, 'E'),   deleted("F:1", 700, 'F'),
      dir("G:1", 100, 'G'),          dir("H:1", 100, 'H', 0700), symlink("I:1", "x", 100, 'I'),
      symlink("J:1", "y", 100, 'J'), file("K:1", 100, 'K', "a"), file("L:1", 999, 'L', ""),
  };
  for (const auto& x : records) {
    for (const auto& y : records) {
      if (&x == &y)
        continue;
      CAPTURE(x.version.encode());
      CAPTURE(y.version.encode());
      const decision on_x = decide(&x, y); // node X holds x and receives y
      const decision on_y = decide(&y, x);
      CHECK(&kept(x, y, on_x) == &kept(y, x, on_y));
      // A conflict copy is made by exactly one side, while the other keeps its record.
      CHECK((on_x.what == verdict::take_conflict) ==
            (on_y.what == verdict::keep_local && !on_y.reannounce));
      // Delete vs modify: the deleting side takes, the modifying side re-announces.
      CHECK((on_x.what == verdict::keep_local && on_x.reannounce) == (!x.deleted && y.deleted));
    }
  }
}

TEST_CASE("rules: wins is a strict order, checked both ways") {
  struct row {
    const char* why;
    file_record winner, loser;
  };
  const std::vector<row> rows = {
      {"modification beats deletion", file("A:1", 1, 'A'), deleted("B:1", 999, 'Z')},
      {"dir beats deletion", dir("A:1", 1, 'A'), deleted("B:1", 999, 'Z')},
      {"newer mtime", file("A:1", 200, 'A'), file("B:1", 100, 'Z')},
      {"newer mtime by 1 ns", file("A:1", 101, 'A'), file("B:1", 100, 'B')},
      {"negative mtimes", file("A:1", -1, 'A'), file("B:1", -2, 'B')},
      {"newer deletion", deleted("A:1", 200, 'A'), deleted("B:1", 100, 'B')},
      {"same mtime, larger device", file("A:1", 100, 'B'), file("B:1", 100, 'A')},
      {"same deletion time, larger device", deleted("A:1", 100, 'C'), deleted("B:1", 100, 'A')},
      {"same mtime and device, larger version text", file("B:1", 100, 'A'), file("A:1", 100, 'A')},
      {"same mtime and device, version with more", file("A:2", 100, 'A'), file("A:1", 100, 'A')},
  };
  for (const auto& r : rows) {
    CAPTURE(r.why);
    CHECK(wins(r.winner, r.loser));
    CHECK_FALSE(wins(r.loser, r.winner));
  }
  // Differing only by path: still exactly one winner.
  const file_record p1 = file("A:1", 100, 'A', "x", "a.txt");
  const file_record p2 = file("A:1", 100, 'A', "x", "b.txt");
  CHECK(wins(p2, p1) != wins(p1, p2));
  // Irreflexive.
  const file_record same = file("A:1");
  CHECK_FALSE(wins(same, same));
}

TEST_CASE("rules: wins is transitive over a mixed set") {
  std::vector<file_record> rs;
  for (const char by : {'A', 'B', 'C'})
    for (const std::int64_t m : {100, 200})
      for (const bool del : {false, true}) {
        std::string v = std::string(1, by) + ":" + std::to_string(m / 100);
        rs.push_back(del ? deleted(v, m, by) : file(v, m, by));
      }
  for (const auto& a : rs)
    for (const auto& b : rs)
      for (const auto& c : rs)
        if (wins(a, b) && wins(b, c))
          CHECK(wins(a, c));
  // Sorting by wins gives every modification before every deletion.
  std::sort(rs.begin(), rs.end(), [](const auto& a, const auto& b) { return wins(a, b); });
  CHECK(std::is_partitioned(rs.begin(), rs.end(), [](const auto& r) { return !r.deleted; }));
}

TEST_CASE("rules: conflict_name places the suffix before the extension") {
  const short_id d = sid("ABCDEFG");
  const std::string sfx = ".sync-conflict-20261125-211300-ABCDEFG";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a/b/file.txt", "a/b/file" + sfx + ".txt"},
      {"file.txt", "file" + sfx + ".txt"},
      {".bashrc", ".bashrc" + sfx},
      {"noext", "noext" + sfx},
      {"dir/.hidden", "dir/.hidden" + sfx},
      {"archive.tar.gz", "archive.tar" + sfx + ".gz"},
      {"d.x/noext", "d.x/noext" + sfx},
      {".config/app.conf", ".config/app" + sfx + ".conf"},
      {"..a", "." + sfx + ".a"},
      {"caf\xc3\xa9.m\xc3\xa9", "caf\xc3\xa9" + sfx + ".m\xc3\xa9"},
  };
  for (const auto& c : cases) {
    const auto& [in, out] = c;
    CAPTURE(c.first);
    CHECK(conflict_name(in, nov25, d) == out);
    CHECK(is_conflict_name(out));
    CHECK_FALSE(is_conflict_name(in));
  }
}

TEST_CASE("rules: conflict_name uses the loser's mtime in UTC") {
  const short_id d = sid("ZZZZ777");
  const std::vector<std::pair<std::int64_t, std::string>> cases = {
      {nov25, "20261125-211300"},
      {nov25 + sec - 1, "20261125-211300"}, // fractions are floored
      {0, "19700101-000000"},
      {-1, "19691231-235959"},                // before the epoch, floored too
      {951'868'799 * sec, "20000229-235959"}, // a leap day
      {951'868'800 * sec, "20000301-000000"},
      {1'735'646'400 * sec, "20241231-120000"},
      {std::numeric_limits<std::int64_t>::max(), "22620411-234716"},
      {std::numeric_limits<std::int64_t>::min(), "16770921-001243"},
  };
  for (const auto& c : cases) {
    const auto& [ns, stamp] = c;
    CAPTURE(c.first);
    CHECK(conflict_name("f", ns, d) == "f.sync-conflict-" + stamp + "-ZZZZ777");
  }
}

TEST_CASE("rules: conflict_name's device is the device id's first 7 characters") {
  device_id id{};
  for (std::size_t i = 0; i < id.size(); ++i)
    id[i] = static_cast<std::uint8_t>(i * 37 + 11);
  const std::string name = conflict_name("x.txt", 0, short_of(id));
  CHECK(name == "x.sync-conflict-19700101-000000-" + format_device_id(id).substr(0, 7) + ".txt");
}

TEST_CASE("rules: conflict_name keeps a long name within 255 bytes") {
  const short_id d = sid("ABCDEFG");
  const std::string long_stem(250, 's');
  const std::string n1 = conflict_name("dir/" + long_stem + ".txt", nov25, d);
  CHECK(validate_path(n1) == path_error::ok);
  CHECK(base_name(n1).size() == 255);
  CHECK(n1.ends_with("-ABCDEFG.txt"));
  CHECK(is_conflict_name(n1));
  // Multi-byte characters are never split.
  std::string wide;
  for (int i = 0; i < 127; ++i)
    wide += "\xc3\xa9";
  const std::string n2 = conflict_name(wide, nov25, d);
  CHECK(validate_path(n2) == path_error::ok);
  CHECK(is_conflict_name(n2));
  // An absurdly long extension is cut too.
  const std::string n3 = conflict_name("a." + std::string(250, 'e'), nov25, d);
  CHECK(validate_path(n3) == path_error::ok);
  CHECK(is_conflict_name(n3));
}

TEST_CASE("rules: is_conflict_name recognises only the exact pattern") {
  for (const char* p : {
           "file.txt", "file.sync-conflict.txt", "file.sync-conflict-2026.txt",
           "file.sync-conflict-20261125-211300.txt",
           "file.sync-conflict-20261125-211300-ABCDEF.txt",  // 6 device characters
           "file.sync-conflict-20261125-211300-ABCDEFGH",    // 8 device characters
           "file.sync-conflict-20261125-211300-abcdefg.txt", // lower case
           "file.sync-conflict-2026112x-211300-ABCDEFG.txt",
           "file.sync-conflict-20261125_211300-ABCDEFG.txt",
           "file.sync-conflict-20261125-211300-ABCDEF1.txt",   // '1' is not base32
           "file.sync-conflict-20261125-211300-ABCDEFG/x.txt", // a directory of that name
       }) {
    CAPTURE(p);
    CHECK_FALSE(is_conflict_name(p));
  }
  for (const char* p : {
           "file.sync-conflict-20261125-211300-ABCDEFG.txt",
           "a/b/file.sync-conflict-20261125-211300-ABCDEFG",
           "x.sync-conflict-2026.sync-conflict-20261125-211300-ABCDEFG.tar.gz",
           "file.sync-conflict-20261125-211300-ABCDEFG.sync-conflict-20261126-000000-BBBBBBB.txt",
       }) {
    CAPTURE(p);
    CHECK(is_conflict_name(p));
  }
}
