#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "builders.hpp"
#include "core/modes.hpp"

using namespace cascade::core;
using test::deleted;
using test::dev;
using test::dir;
using test::file;
using test::vv;

namespace {

// The verdict as a word: "hold" when held, else the decision's verdict (and "+announce").
std::string word(const mode_decision& m) {
  if (m.hold)
    return "hold";
  std::string w;
  switch (m.d.what) {
  case verdict::ignore:
    w = "ignore";
    break;
  case verdict::take:
    w = "take";
    break;
  case verdict::keep_local:
    w = "keep_local";
    break;
  case verdict::take_conflict:
    w = "take_conflict";
    break;
  }
  return m.d.reannounce ? w + "+announce" : w;
}

} // namespace

TEST_CASE("modes: names parse both ways, anything else is refused") {
  for (auto m : {folder_mode::send_receive, folder_mode::send_only, folder_mode::receive_only})
    CHECK(parse_folder_mode(folder_mode_name(m)) == m);
  CHECK_FALSE(parse_folder_mode("sendonly"));
  CHECK_FALSE(parse_folder_mode(""));
  CHECK_FALSE(parse_folder_mode("Send-Only"));
}

TEST_CASE("modes: a peer's record in each mode") {
  struct row {
    const char* what;
    bool has_local;
    file_record local, remote;
    const char *send_receive, *send_only, *receive_only;
  };
  // Concurrent pairs: B's newer mtime wins over A's (rules.hpp), A's newer one loses.
  const std::vector<row> rows = {
      {"new from a peer", false, {}, file("B:1", 100, 'B'), "take", "hold", "take"},
      {"a newer version", true, file("A:1"), file("A:1,B:1", 100, 'B'), "take", "hold", "take"},
      {"a peer's deletion", true, file("A:1"), deleted("A:1,B:1", 100, 'B'), "take", "hold",
       "take"},
      {"what we have", true, file("A:2"), file("A:2"), "ignore", "ignore", "ignore"},
      {"older than ours", true, file("A:2"), file("A:1"), "ignore", "ignore", "ignore"},
      {"concurrent, the peer wins", true, file("A:2", 100), file("A:1,B:1", 200, 'B', "y"),
       "take_conflict", "hold", "take"},
      {"concurrent, ours wins", true, file("A:2", 300), file("A:1,B:1", 200, 'B', "y"),
       "keep_local", "keep_local", "take"},
      {"their deletion vs our edit", true, file("A:2", 100), deleted("A:1,B:1", 200, 'B'),
       "keep_local+announce", "keep_local+announce", "take"},
      {"a deletion of what we never had",
       false,
       {},
       deleted("B:1", 100, 'B'),
       "take",
       "take",
       "take"},
      {"a deletion of what we deleted too", true, deleted("A:2"), deleted("A:2,B:1", 100, 'B'),
       "take", "take", "take"},
      {"their edit vs our deletion", true, deleted("A:2", 300), file("A:1,B:1", 200, 'B', "y"),
       "take", "hold", "take"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.what);
    const file_record* local = r.has_local ? &r.local : nullptr;
    CHECK(word(decide_in_mode(folder_mode::send_receive, local, r.remote)) == r.send_receive);
    CHECK(word(decide_in_mode(folder_mode::send_only, local, r.remote)) == r.send_only);
    CHECK(word(decide_in_mode(folder_mode::receive_only, local, r.remote)) == r.receive_only);
  }
}

TEST_CASE("modes: override makes ours dominate the group's, both ways checked") {
  const auto self = dev('A');
  SUBCASE("our edit over the peer's") {
    auto ours = file("A:2", 100, 'A', "ours");
    auto group = file("A:1,B:3", 200, 'B', "theirs");
    auto r = override_record(&ours, group, self);
    CHECK(compare(r.version, group.version) == ordering::greater);
    CHECK(compare(r.version, ours.version) == ordering::greater);
    CHECK(compare(group.version, r.version) == ordering::lesser);
    CHECK(r.chunks == ours.chunks);
    CHECK(r.modified_by == self);
    // The peer takes it as a plain newer version: no conflict copy on either side.
    CHECK(decide(&group, r).what == verdict::take);
    CHECK(decide(&r, group).what == verdict::ignore);
  }
  SUBCASE("a file we never had: announced deleted") {
    auto group = file("B:1", 200, 'B', "theirs", "new.txt");
    auto r = override_record(nullptr, group, self);
    CHECK(r.deleted);
    CHECK(r.path == "new.txt");
    CHECK(r.type == file_type::file);
    CHECK(decide(&group, r).what == verdict::take);
  }
  SUBCASE("our file over the peer's deletion") {
    auto ours = file("A:1", 100, 'A', "ours");
    auto group = deleted("A:1,B:1", 300, 'B');
    auto r = override_record(&ours, group, self);
    CHECK_FALSE(r.deleted);
    CHECK(decide(&group, r).what == verdict::take);
  }
  SUBCASE("our deletion over the peer's edit") {
    auto ours = deleted("A:2", 100);
    auto group = file("A:1,B:1", 300, 'B', "theirs");
    auto r = override_record(&ours, group, self);
    CHECK(r.deleted);
    CHECK(decide(&group, r).what == verdict::take);
  }
}

TEST_CASE("modes: what differs, in a word") {
  auto ours = file("A:1");
  CHECK(std::string(describe_difference(nullptr, file("B:1"))) == "new");
  CHECK(std::string(describe_difference(&ours, file("A:1,B:1"))) == "modified");
  CHECK(std::string(describe_difference(&ours, deleted("A:1,B:1"))) == "deleted");
  auto gone = deleted("A:2");
  CHECK(std::string(describe_difference(&gone, file("A:1,B:1"))) == "new");
  CHECK(std::string(describe_difference(&ours, dir("A:1,B:1"))) == "type");
}

TEST_CASE("modes: only leaving receive-only announces the recorded local changes") {
  using m = folder_mode;
  CHECK(announces_local_changes(m::receive_only, m::send_receive));
  CHECK(announces_local_changes(m::receive_only, m::send_only));
  CHECK_FALSE(announces_local_changes(m::receive_only, m::receive_only));
  CHECK_FALSE(announces_local_changes(m::send_only, m::send_receive));
  CHECK_FALSE(announces_local_changes(m::send_receive, m::receive_only));
}
