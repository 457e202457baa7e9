#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "builders.hpp"
#include "core/update_rule.hpp"

using namespace cascade::core;
using test::deleted;
using test::dir;
using test::file;
using test::symlink;

namespace {

// What the index does with a peer's entry, as a word. `local`: our record, if any.
std::string entry(const std::optional<file_record>& local, const file_record& remote,
                  entry_facts f = {}) {
  return entry_action_name(choose_for_entry(local ? &*local : nullptr, remote, f));
}

entry_facts in_mode(folder_mode m) {
  entry_facts f;
  f.mode = m;
  return f;
}

// What the index does with a needed record: the action, and "+grace" when a fetch waits.
std::string needed(const std::optional<file_record>& local, const file_record& n,
                   needed_facts f = {}) {
  auto c = choose_for_needed(local ? &*local : nullptr, n, f);
  std::string w = needed_action_name(c.what);
  return c.grace ? w + "+grace" : w;
}

const std::optional<file_record> none;

// A table row: a situation, our record in it, the peer's, the other facts, and the word expected.
template <class Facts> struct row {
  const char* what;
  std::optional<file_record> local;
  file_record remote;
  Facts f;
  const char* expected;
};

template <class Facts, class Word> void check_rows(const std::vector<row<Facts>>& rows, Word word) {
  for (auto& r : rows) {
    CAPTURE(r.what);
    CHECK(word(r.local, r.remote, r.f) == r.expected);
  }
}

} // namespace

TEST_CASE("update rule: a peer's entry, one action each") {
  const entry_facts with_data{.has_data = true}, on_disk{.disk_as_indexed = true};
  auto ours = file("A:1", 100, 'A', "y");
  auto same = file("A:1,B:1", 100, 'A', "y"); // the same change, made on B too
  // Concurrent with our A:2: it wins over ours at mtime 100, loses to ours at 300.
  auto theirs = file("A:1,B:1", 200, 'B', "y");
  auto gone = deleted("A:1,B:1", 200, 'B');
  check_rows<entry_facts>(
      {
          {"ignored here", none, file("B:1"), {.ignored = true}, "skip_ignored"},
          {"what we have", file("A:2"), file("A:2"), {}, "skip_have"},
          {"older than ours", file("A:2"), file("A:1"), {}, "skip_have"},
          {"concurrent, ours wins", file("A:2", 300), theirs, {}, "keep_ours"},
          {"their deletion, our edit", file("A:2", 100), gone, {}, "reannounce_ours"},
          {"the same, the disk as indexed", ours, same, on_disk, "adopt"},
          {"the same, the disk changed", ours, same, {}, "apply_needed"},
          {"a small file, its bytes", none, file("B:1", 1, 'B', "t"), with_data, "write_inline"},
          {"an empty file", none, file("B:1", 1, 'B', ""), with_data, "write_inline"},
          {"a deletion", file("A:1"), gone, {}, "delete_later"},
          {"a deletion of what we never had", none, deleted("B:1"), {}, "delete_later"},
          {"a deletion with bytes", file("A:1"), gone, with_data, "delete_later"},
          {"a new big file", none, file("B:1", 100, 'B', "a|b"), {}, "apply_needed"},
          {"a newer version", file("A:1"), theirs, {}, "apply_needed"},
          {"a change of time alone", file("A:1"), file("A:1,B:1", 200), {}, "apply_needed"},
          {"concurrent, theirs wins", file("A:2", 100), theirs, {}, "apply_needed"},
          {"a directory", none, dir("B:1"), with_data, "apply_needed"},
          {"a symlink", none, symlink("B:1", "t"), {}, "apply_needed"},
          {"their edit, our deletion", deleted("A:2", 300), theirs, {}, "apply_needed"},
      },
      entry);
}

TEST_CASE("update rule: a peer's entry in each folder mode") {
  auto newer = file("A:1,B:1", 100, 'B', "y");
  auto theirs = file("A:1,B:1", 200, 'B', "y");
  auto gone = deleted("A:1,B:1", 200, 'B');
  const auto send_only = in_mode(folder_mode::send_only);
  const auto receive_only = in_mode(folder_mode::receive_only);
  CHECK(entry(file("A:1"), newer, send_only) == "hold");
  CHECK(entry(file("A:1"), newer, receive_only) == "apply_needed");
  // send-only keeps ours; receive-only takes the group's over anything concurrent of ours.
  CHECK(entry(file("A:2", 300), theirs, send_only) == "keep_ours");
  CHECK(entry(file("A:2", 300), theirs, receive_only) == "apply_needed");
  CHECK(entry(file("A:2", 100), gone, send_only) == "reannounce_ours");
  CHECK(entry(file("A:2", 100), gone, receive_only) == "delete_later");
  // send-only: a deletion of what we do not hold is taken (its tombstone), not held.
  CHECK(entry(none, deleted("B:1", 100, 'B'), send_only) == "delete_later");
  auto small = send_only;
  small.has_data = true;
  CHECK(entry(none, file("B:1", 100, 'B', "tiny"), small) == "hold");
}

TEST_CASE("update rule: precedence of a peer's entry") {
  auto ours = file("A:1", 100, 'A', "y");
  auto same = file("A:1,B:1", 100, 'A', "y");
  // Ignored before anything: even a record that would be adopted or re-announced.
  const entry_facts all{.ignored = true, .has_data = true, .disk_as_indexed = true};
  CHECK(entry(ours, same, all) == "skip_ignored");
  CHECK(entry(file("A:2", 100), deleted("A:1,B:1", 200, 'B'), all) == "skip_ignored");
  // Adopted before held: in send-only, what the disk holds already is taken into the index.
  auto so = in_mode(folder_mode::send_only);
  so.disk_as_indexed = true;
  CHECK(entry(ours, same, so) == "adopt");
  so.disk_as_indexed = false;
  CHECK(entry(ours, same, so) == "hold");
  // Adopted before written: a small file whose bytes we hold is not written again.
  entry_facts small{.has_data = true, .disk_as_indexed = true};
  CHECK(entry(ours, same, small) == "adopt");
  small.disk_as_indexed = false;
  CHECK(entry(ours, same, small) == "write_inline");
  // Two deletions: adopted when nothing is there.
  CHECK(entry(deleted("A:1"), deleted("A:1,B:1"), {.disk_as_indexed = true}) == "adopt");
}

TEST_CASE("update rule: adoption needs a plain take and the same content") {
  auto ours = file("A:1", 100, 'A', "y");
  const auto m = folder_mode::send_receive;
  CHECK(adoptable(m, &ours, file("A:1,B:1", 100, 'A', "y")));
  CHECK_FALSE(adoptable(m, nullptr, file("B:1", 100, 'A', "y")));
  // Same bytes, another mtime or mode: metadata differs, so it is applied.
  CHECK_FALSE(adoptable(m, &ours, file("A:1,B:1", 200, 'A', "y")));
  auto other_mode = file("A:1,B:1", 100, 'A', "y");
  other_mode.mode = 0600;
  CHECK_FALSE(adoptable(m, &ours, other_mode));
  // Not a take: what we hold already (the disk is not even looked at).
  CHECK_FALSE(adoptable(m, &ours, file("A:1", 100, 'A', "y")));
  const entry_facts on_disk{.disk_as_indexed = true};
  CHECK(entry(ours, file("A:1", 100, 'A', "y"), on_disk) == "skip_have");
  // A fact the rule does not read changes nothing: the disk of a record that is not adoptable.
  auto newer = file("A:1,B:1", 100, 'B', "z");
  CHECK(entry(ours, newer, on_disk) == entry(ours, newer, {}));
}

TEST_CASE("update rule: a needed record, one action each") {
  const needed_facts pinned{.copied_from = true}, running{.transferring = true};
  auto theirs = file("A:1,B:1", 200, 'B', "y"); // as above
  auto gone = deleted("A:1,B:1", 100, 'B');
  // An edit of a file we hold is pulled at once unless most of it is new (worth_pushing).
  auto abcd = file("A:1", 100, 'A', "a|b|c|d");
  check_rows<needed_facts>(
      {
          {"ignored now", none, file("B:1"), {.ignored = true}, "drop_ignored"},
          {"we hold it now", theirs, theirs, {}, "drop"},
          {"we hold a newer one", file("A:2,B:1"), theirs, {}, "drop"},
          {"ours won meanwhile", file("A:2", 300), theirs, {}, "drop"},
          {"a deletion", file("A:1"), gone, {}, "remove"},
          {"a deletion of a copy source", file("A:1"), gone, pinned, "wait_for_copies"},
          {"a directory", none, dir("B:1"), {}, "make_dir"},
          {"a directory, transferring unread", none, dir("B:1"), running, "make_dir"},
          {"a symlink", none, symlink("B:1", "t"), {}, "make_symlink"},
          {"a file already coming", none, file("B:1"), running, "running"},
          {"a new file", none, file("B:1", 100, 'B', "a|b"), {}, "fetch+grace"},
          {"a small edit", abcd, file("A:1,B:1", 200, 'B', "a|b|c|x"), {}, "fetch"},
          {"half rewritten", abcd, file("A:1,B:1", 200, 'B', "a|b|x|y"), {}, "fetch+grace"},
          {"most rewritten", abcd, file("A:1,B:1", 200, 'B', "a|x|y|z"), {}, "fetch+grace"},
          {"a change of time alone", file("A:1"), file("A:1,B:1", 200), {}, "fetch"},
          {"a file where we deleted ours", deleted("A:2"), file("A:2,B:1"), {}, "fetch+grace"},
          {"a file replacing a directory", dir("A:1"), file("A:1,B:1"), {}, "fetch+grace"},
          {"an empty file over ours", abcd, file("A:1,B:1", 200, 'B', ""), {}, "fetch+grace"},
          {"concurrent, theirs wins", file("A:2", 100), theirs, {}, "fetch+grace"},
      },
      needed);
}

TEST_CASE("update rule: precedence of a needed record") {
  auto theirs = file("A:1,B:1", 100, 'B', "y");
  needed_facts f{
      .mode = folder_mode::send_only, .ignored = true, .copied_from = true, .transferring = true};
  // Ignored before held, held before anything else.
  CHECK(needed(file("A:1"), theirs, f) == "drop_ignored");
  f.ignored = false;
  CHECK(needed(file("A:1"), theirs, f) == "hold");
  CHECK(needed(file("A:1"), deleted("A:1,B:1", 100, 'B'), f) == "hold");
  // Dropped before its pins or transfer are looked at.
  f.mode = folder_mode::send_receive;
  CHECK(needed(file("A:2"), deleted("A:1", 100, 'B'), f) == "drop");
  CHECK(needed(file("A:2"), file("A:1", 100, 'B'), f) == "drop");
  // receive-only drops only what we hold already: the group's version wins over ours.
  const needed_facts ro{.mode = folder_mode::receive_only};
  CHECK(needed(file("A:2", 300), file("A:1,B:1", 200, 'B', "y"), ro) == "fetch+grace");
  CHECK(needed(file("A:2"), file("A:1", 100, 'B'), ro) == "drop");
}

TEST_CASE("update rule: the local side must be indexed as it is on disk") {
  auto ours = file("A:1");
  auto gone = deleted("A:1");
  auto d = dir("A:1");
  // Nothing on disk: fine if we hold nothing there either.
  CHECK(indexed_as_on_disk(nullptr, false, false, false));
  CHECK(indexed_as_on_disk(&gone, false, false, false));
  CHECK_FALSE(indexed_as_on_disk(&ours, false, false, false)); // deleted, not recorded yet
  // Something on disk: only as indexed.
  CHECK(indexed_as_on_disk(&ours, true, false, true));
  CHECK_FALSE(indexed_as_on_disk(&ours, true, false, false));
  CHECK_FALSE(indexed_as_on_disk(nullptr, true, false, false)); // new here, not recorded yet
  // A directory that differs (its mode) is not worth a rescan first; a file in its place is.
  CHECK(indexed_as_on_disk(&d, true, true, false));
  CHECK_FALSE(indexed_as_on_disk(&d, true, false, false));
  CHECK_FALSE(indexed_as_on_disk(&ours, true, true, false));
  CHECK_FALSE(indexed_as_on_disk(nullptr, true, true, false));
}

TEST_CASE("update rule: a conflict the peer wins moves our copy aside") {
  auto ours = file("A:2", 100);
  auto theirs = file("A:1,B:1", 200, 'B', "y");
  auto d = decide(&ours, theirs);
  REQUIRE(d.what == verdict::take_conflict);
  CHECK(moves_ours_aside(d, &ours));
  // Both ways: where ours wins, nothing moves (the peer keeps the conflict copy).
  CHECK_FALSE(moves_ours_aside(decide(&theirs, ours), &theirs));
  // No bytes of ours to keep: a deletion, a directory, nothing.
  auto gone = deleted("A:2", 100);
  auto d2 = dir("A:2");
  CHECK_FALSE(moves_ours_aside(d, &gone));
  CHECK_FALSE(moves_ours_aside(d, &d2));
  CHECK_FALSE(moves_ours_aside(d, nullptr));
  // A plain take replaces ours without a copy.
  CHECK_FALSE(moves_ours_aside(decide(&ours, file("A:2,B:1", 200, 'B', "y")), &ours));
}

TEST_CASE("update rule: every action has its own name") {
  auto entries = test::enum_names(entry_action::apply_needed, entry_action_name);
  CHECK(test::distinct_names(entries));
  CHECK(entries.front() == "skip_ignored");
  auto needs = test::enum_names(needed_action::fetch, needed_action_name);
  CHECK(test::distinct_names(needs));
  CHECK(needs.back() == "fetch");
}
