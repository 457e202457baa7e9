#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "builders.hpp"
#include "core/fetch_plan.hpp"

using namespace cascade::core;
using test::digest_of;
using test::file;

namespace {

// A lookup over "what we hold": chunk content -> (path, offset).
struct holdings {
  std::map<sha256_digest, local_source> by_hash;
  int calls = 0;
  holdings& add(std::string_view content, std::string path, std::uint64_t offset) {
    by_hash[digest_of(content)] = {std::move(path), offset};
    return *this;
  }
  chunk_lookup lookup() {
    return [this](const sha256_digest& h) -> std::optional<local_source> {
      ++calls;
      auto it = by_hash.find(h);
      if (it == by_hash.end())
        return std::nullopt;
      return it->second;
    };
  }
};

// A file of chunks with the given lengths, each with distinct content.
file_record sized(const std::vector<std::uint32_t>& lengths) {
  file_record r = file("A:1");
  r.chunks.clear();
  std::uint64_t off = 0;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    r.chunks.push_back({off, lengths[i], digest_of("chunk" + std::to_string(i))});
    off += lengths[i];
  }
  r.size = off;
  return r;
}

std::vector<std::size_t> copied_indexes(const fetch_plan& p) {
  std::vector<std::size_t> out;
  for (const auto& c : p.copies)
    out.push_back(c.chunk_index);
  return out;
}

using idx = std::vector<std::size_t>;
using ranges = std::vector<byte_range>;

} // namespace

TEST_CASE("fetch_plan: chunks we hold are copied, the rest fetched") {
  const file_record wanted = file("A:1", 100, 'A', "aa|bbb|cc|dddd|e");
  holdings h;
  h.add("bbb", "old.txt", 40).add("dddd", ".cascade/tmp/7", 8);
  const fetch_plan p = plan_fetch(wanted, h.lookup());
  CHECK(copied_indexes(p) == idx{1, 3});
  CHECK(p.missing == idx{0, 2, 4});
  REQUIRE(p.copies.size() == 2);
  CHECK(p.copies[0].from.path == "old.txt");
  CHECK(p.copies[0].from.offset == 40);
  CHECK(p.copies[1].from.path == ".cascade/tmp/7");
  CHECK(p.copies[1].from.offset == 8);
  CHECK(h.calls == 5);
}

TEST_CASE("fetch_plan: all held, none held, empty file") {
  holdings all;
  all.add("a", "x", 0).add("b", "x", 1).add("c", "y", 0);
  const file_record abc = file("A:1", 100, 'A', "a|b|c");
  CHECK(plan_fetch(abc, all.lookup()).missing.empty());
  CHECK(copied_indexes(plan_fetch(abc, all.lookup())) == idx{0, 1, 2});
  holdings none;
  const fetch_plan p = plan_fetch(abc, none.lookup());
  CHECK(p.copies.empty());
  CHECK(p.missing == idx{0, 1, 2});
  const fetch_plan e = plan_fetch(file("A:1", 100, 'A', ""), none.lookup());
  CHECK(e.copies.empty());
  CHECK(e.missing.empty());
}

TEST_CASE("fetch_plan: repeated chunks inside the wanted file are each looked up") {
  holdings h;
  h.add("r", "other", 3);
  const fetch_plan p = plan_fetch(file("A:1", 100, 'A', "r|x|r|x"), h.lookup());
  CHECK(copied_indexes(p) == idx{0, 2});
  CHECK(p.missing == idx{1, 3});
}

TEST_CASE("fetch_plan: nothing to fetch for dirs, symlinks and deletions") {
  holdings h;
  file_record d = file("A:1", 100, 'A', "a|b");
  d.type = file_type::dir;
  file_record l = file("A:1", 100, 'A', "a|b");
  l.type = file_type::symlink;
  file_record gone = file("A:1", 100, 'A', "a|b");
  gone.deleted = true;
  for (const auto* r : {&d, &l, &gone}) {
    const fetch_plan p = plan_fetch(*r, h.lookup());
    CHECK(p.copies.empty());
    CHECK(p.missing.empty());
  }
  CHECK(h.calls == 0);
}

TEST_CASE("fetch_plan: to_ranges merges adjacent chunks up to max_range") {
  const file_record f = sized({10, 20, 30, 40, 50});
  // offsets:                   0   10  30  60  100  (end 150)
  struct row {
    idx missing;
    std::uint64_t max_range;
    ranges expected;
  };
  const std::vector<row> rows = {
      {{}, 100, {}},
      {{0}, 100, {{0, 10}}},
      {{0, 1, 2, 3, 4}, 1000, {{0, 150}}},
      {{0, 1, 2, 3, 4}, 60, {{0, 60}, {60, 40}, {100, 50}}},
      {{0, 1, 2, 3, 4}, 59, {{0, 30}, {30, 30}, {60, 40}, {100, 50}}},
      {{0, 2, 4}, 1000, {{0, 10}, {30, 30}, {100, 50}}}, // gaps split ranges
      {{1, 2}, 50, {{10, 50}}},                          // exactly max_range
      {{1, 2}, 49, {{10, 20}, {30, 30}}},
      {{3, 4}, 10, {{60, 40}, {100, 50}}}, // a chunk above max_range alone
      {{0, 1, 3, 4}, 1000, {{0, 30}, {60, 90}}},
      {{4, 0, 1}, 1000, {{0, 30}, {100, 50}}}, // any order
      {{1, 1, 2}, 1000, {{10, 50}}},           // duplicates once
      {{0, 1, 2}, 0, {{0, 10}, {10, 20}, {30, 30}}},
  };
  for (const auto& r : rows) {
    CAPTURE(r.max_range);
    CHECK(to_ranges(f, r.missing, r.max_range) == r.expected);
  }
}

TEST_CASE("fetch_plan: to_ranges over a plan covers exactly the missing bytes") {
  const file_record f = sized({7, 7, 7, 7, 7, 7, 7, 7, 7, 7});
  holdings h;
  h.by_hash[digest_of("chunk3")] = {"p", 0};
  h.by_hash[digest_of("chunk7")] = {"p", 7};
  const fetch_plan p = plan_fetch(f, h.lookup());
  const auto rs = to_ranges(f, p.missing, 21);
  std::uint64_t bytes = 0;
  for (const auto& r : rs) {
    CHECK(r.length <= 21);
    bytes += r.length;
  }
  CHECK(bytes == 8 * 7);
  CHECK(rs == ranges{{0, 21}, {28, 21}, {56, 14}});
}

TEST_CASE("copy_runs: an edit in the middle leaves two runs, each one call") {
  auto r = sized({100, 100, 100, 100, 100});
  // Chunks 0, 1, 3, 4 are in the old version of the same file, at the same offsets; 2 changed.
  std::vector<chunk_copy> copies = {
      {4, {"f", 400}}, {0, {"f", 0}}, {1, {"f", 100}}, {3, {"f", 300}}};
  auto runs = copy_runs(r, copies, "f", 1 << 20);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].from_offset == 0);
  CHECK(runs[0].to_offset == 0);
  CHECK(runs[0].length == 200);
  CHECK(runs[0].chunks == idx{0, 1});
  CHECK(runs[1].from_offset == 300);
  CHECK(runs[1].to_offset == 300);
  CHECK(runs[1].length == 200);
  CHECK(runs[1].chunks == idx{3, 4});
}

TEST_CASE("copy_runs: shifted, reordered and foreign sources break runs; max_run bounds them") {
  auto r = sized({100, 100, 100, 100});
  std::vector<chunk_copy> copies = {
      {0, {"f", 50}},  // an insertion before: shifted, still adjacent in both
      {1, {"f", 150}},
      {2, {"f", 0}},   // moved: not adjacent in the source
      {3, {"g", 250}}, // another file
  };
  auto runs = copy_runs(r, copies, "f", 1 << 20);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].from_offset == 50);
  CHECK(runs[0].chunks == idx{0, 1});
  CHECK(runs[1].from_offset == 0);
  CHECK(runs[1].to_offset == 200);
  CHECK(runs[1].chunks == idx{2});
  CHECK(copy_runs(r, copies, "g", 1 << 20).size() == 1);
  CHECK(copy_runs(r, copies, "h", 1 << 20).empty());
  // At most 150 bytes a run: 0 and 1 stay apart.
  auto small = copy_runs(r, copies, "f", 150);
  CHECK(small.size() == 3);
  // A chunk listed twice and an index out of range are ignored.
  copies.push_back({1, {"f", 150}});
  copies.push_back({9, {"f", 900}});
  CHECK(copy_runs(r, copies, "f", 1 << 20).size() == 2);
}

TEST_CASE("worth_pushing: a new file is pushed, an edit that keeps most chunks is pulled") {
  auto before = sized({100, 100, 100, 100});
  CHECK(worth_pushing(nullptr, before));
  auto edited = before;
  edited.chunks[2].hash = digest_of("changed");
  CHECK(shared_bytes(before, edited) == 300);
  CHECK_FALSE(worth_pushing(&before, edited));
  auto rewritten = sized({100, 100, 100, 100});
  for (auto& c : rewritten.chunks)
    c.hash = digest_of("new" + std::to_string(c.offset));
  rewritten.chunks[0].hash = before.chunks[0].hash; // a quarter shared
  CHECK(shared_bytes(before, rewritten) == 100);
  CHECK(worth_pushing(&before, rewritten));
  auto deleted = before;
  deleted.deleted = true;
  CHECK(worth_pushing(&deleted, edited)); // a tombstone holds nothing
  auto half = edited;
  half.chunks[3].hash = digest_of("changed too");
  CHECK(worth_pushing(&before, half)); // exactly half shared: a push is no slower
}
