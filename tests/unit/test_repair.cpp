#include <doctest/doctest.h>

#include <thread>

#include "builders.hpp"
#include "core/partials.hpp"
#include "core/repair.hpp"

using namespace cascade::core;
using test::file;
using test::vv;

namespace {

using idx = std::vector<std::size_t>;

// A file of n chunks of `len` bytes each.
file_record chunks_of(std::size_t n, std::uint32_t len = 100, const char* version = "A:1") {
  file_record r = file(version);
  r.chunks.clear();
  for (std::size_t i = 0; i < n; ++i)
    r.chunks.push_back({i * len, len, test::digest_of("c" + std::to_string(i))});
  r.size = n * len;
  return r;
}

chunk_holder complete(std::size_t source) {
  return {source, true, {}};
}

chunk_holder partial(std::size_t source, std::size_t n, idx held) {
  chunk_holder h{source, false, std::vector<bool>(n, false)};
  for (auto i : held)
    h.has[i] = true;
  return h;
}

idx all_of(const repair_plan& p) {
  idx out = p.unheld;
  for (auto& f : p.fetches)
    out.insert(out.end(), f.chunks.begin(), f.chunks.end());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("repair: one complete holder serves everything in one fetch") {
  auto r = chunks_of(10);
  auto p = plan_repair(r, {7, 1, 3, 3}, {complete(4)});
  REQUIRE(p.fetches.size() == 1);
  CHECK(p.fetches[0].source == 4);
  CHECK(p.fetches[0].chunks == idx{1, 3, 7});
  CHECK(p.unheld.empty());
}

TEST_CASE("repair: chunks nobody holds are reported, not assigned") {
  auto r = chunks_of(6);
  auto p = plan_repair(r, {0, 1, 2, 3, 4, 5}, {partial(0, 6, {0, 1, 2})});
  REQUIRE(p.fetches.size() == 1);
  CHECK(p.fetches[0].chunks == idx{0, 1, 2});
  CHECK(p.unheld == idx{3, 4, 5});
  CHECK(plan_repair(r, {2, 4}, {}).unheld == idx{2, 4});
  CHECK(plan_repair(r, {2, 4}, {}).fetches.empty());
}

TEST_CASE("repair: a partial holder serves what only it has (the source is gone)") {
  // Host X got chunks 0-5 before its upstream died; host Y, further down, only 0-1.
  auto r = chunks_of(12);
  auto p = plan_repair(r, {2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {partial(9, 12, {0, 1, 2, 3, 4, 5})});
  REQUIRE(p.fetches.size() == 1);
  CHECK(p.fetches[0].source == 9);
  CHECK(p.fetches[0].chunks == idx{2, 3, 4, 5});
  CHECK(p.unheld == idx{6, 7, 8, 9, 10, 11});
}

TEST_CASE("repair: the load is spread over every holder, in runs") {
  auto r = chunks_of(64);
  idx missing(64);
  for (std::size_t i = 0; i < 64; ++i)
    missing[i] = i;
  auto p = plan_repair(r, missing, {complete(0), complete(1), partial(2, 64, missing)}, 8);
  REQUIRE(p.fetches.size() == 3);
  for (auto& f : p.fetches) {
    CHECK(f.chunks.size() >= 16); // 64 chunks over 3 holders: at least 2 runs of 8 each
    CHECK(std::is_sorted(f.chunks.begin(), f.chunks.end()));
    for (std::size_t k = 0; k < f.chunks.size(); k += 8) // whole runs: few ranges per fetch
      CHECK(f.chunks[k] % 8 == 0);
  }
  CHECK(all_of(p) == missing); // each chunk exactly once
}

TEST_CASE("repair: a run no single holder covers is split chunk by chunk") {
  auto r = chunks_of(4);
  // X has the even chunks, Y the odd ones: no run of 4 is whole anywhere.
  auto p = plan_repair(r, {0, 1, 2, 3}, {partial(0, 4, {0, 2}), partial(1, 4, {1, 3})}, 4);
  REQUIRE(p.fetches.size() == 2);
  CHECK(p.fetches[0].chunks == idx{0, 2});
  CHECK(p.fetches[1].chunks == idx{1, 3});
  CHECK(p.unheld.empty());
}

TEST_CASE("repair: ties go to a complete holder; stale indexes are dropped") {
  auto r = chunks_of(3);
  auto p = plan_repair(r, {0, 1, 2, 99}, {partial(5, 3, {0, 1, 2}), complete(6)}, 8);
  REQUIRE(p.fetches.size() == 1);
  CHECK(p.fetches[0].source == 6);
  CHECK(all_of(p) == idx{0, 1, 2});
}

TEST_CASE("repair: a holder's bitmap of the wrong size holds nothing beyond it") {
  auto r = chunks_of(5);
  auto p = plan_repair(r, {0, 4}, {partial(0, 2, {0, 1})});
  CHECK(p.unheld == idx{4});
}

TEST_CASE("repair tiers: later tiers only get what earlier ones cannot serve") {
  auto r = chunks_of(6);
  // A trusted partial holder of 0-2, a suspect claiming all, the announcer presumed whole.
  std::vector<std::vector<chunk_holder>> tiers{
      {partial(0, 6, {0, 1, 2})}, {complete(1)}, {complete(2)}};
  auto p = plan_repair_tiers(r, {0, 1, 2, 3, 4, 5}, tiers);
  REQUIRE(p.fetches.size() == 2);
  CHECK(p.fetches[0].source == 0);
  CHECK(p.fetches[0].chunks == idx{0, 1, 2});
  CHECK(p.fetches[1].source == 1);
  CHECK(p.fetches[1].chunks == idx{3, 4, 5});
  CHECK(p.unheld.empty());
}

TEST_CASE("repair tiers: one fetch per source across tiers; leftovers stay unheld") {
  auto r = chunks_of(6);
  std::vector<std::vector<chunk_holder>> tiers{
      {partial(7, 6, {4})}, {}, {partial(7, 6, {1, 4, 5})}};
  auto p = plan_repair_tiers(r, {5, 4, 1, 0}, tiers);
  REQUIRE(p.fetches.size() == 1);
  CHECK(p.fetches[0].source == 7);
  CHECK(p.fetches[0].chunks == idx{1, 4, 5});
  CHECK(p.unheld == idx{0});
  CHECK(plan_repair_tiers(r, {3, 3, 9}, {}).unheld == idx{3});
}

TEST_CASE("partial_files: chunks are served only once verified, and only for the version") {
  partial_files pf;
  auto r = chunks_of(4, 100, "A:2");
  pf.put(r, "/s/tmp/1", {});
  CHECK(pf.have(r.path, vv("A:2")) == std::vector<bool>{false, false, false, false});
  CHECK(pf.have(r.path, vv("A:1")).empty());
  CHECK(pf.have("other", vv("A:2")).empty());
  CHECK_FALSE(pf.source_for(r.path, vv("A:2"), {{0, 100}}));
  pf.mark(r.path, vv("A:2"), 0);
  pf.mark(r.path, vv("A:2"), 1);
  pf.mark(r.path, vv("A:1"), 3);  // another version: ignored
  pf.mark(r.path, vv("A:2"), 99); // out of range: ignored
  CHECK(pf.have(r.path, vv("A:2")) == std::vector<bool>{true, true, false, false});
  CHECK(pf.source_for(r.path, vv("A:2"), {{0, 200}}) == "/s/tmp/1");
  CHECK(pf.source_for(r.path, vv("A:2"), {{150, 20}, {10, 5}}) == "/s/tmp/1");
  CHECK(pf.source_for(r.path, vv("A:2"), {{0, 0}}) == "/s/tmp/1");
  CHECK_FALSE(pf.source_for(r.path, vv("A:2"), {{150, 51}})); // reaches chunk 2
  CHECK_FALSE(pf.source_for(r.path, vv("A:2"), {{390, 20}})); // past the end
  CHECK_FALSE(pf.source_for(r.path, vv("A:1"), {{0, 100}}));  // another version
  CHECK_FALSE(pf.source_for(r.path, vv("A:2"), {{0, 100}, {200, 1}}));
}

TEST_CASE("partial_files: resume, replace and erase") {
  partial_files pf;
  auto r = chunks_of(3, 10, "A:1");
  pf.put(r, "/t/1", {true, false, true});
  auto e = pf.find(r.path, vv("A:1"));
  REQUIRE(e);
  CHECK(e->tmp_path == "/t/1");
  CHECK(e->verified == std::vector<bool>{true, false, true});
  CHECK_FALSE(pf.find(r.path, vv("A:2")));
  REQUIRE(pf.find_any(r.path));
  auto newer = chunks_of(2, 10, "A:2");
  pf.put(newer, "/t/2", {});
  CHECK_FALSE(pf.find(r.path, vv("A:1")));
  CHECK(pf.find(r.path, vv("A:2"))->verified == std::vector<bool>{false, false});
  CHECK(pf.erase(r.path) == "/t/2");
  CHECK_FALSE(pf.erase(r.path));
  CHECK(pf.size() == 0);
}

TEST_CASE("partial_files: marks from one thread are seen by readers on another") {
  partial_files pf;
  auto r = chunks_of(2000, 10);
  pf.put(r, "/t/x", {});
  std::thread writer([&] {
    for (std::size_t i = 0; i < 2000; ++i)
      pf.mark(r.path, r.version, i);
  });
  // The writer marks 0, 1, 2, ... in order, so every answer a reader gets while it runs is a
  // prefix of set bits that never shrinks (a lost or torn mark breaks one or the other).
  std::size_t seen = 0, not_prefix = 0, shrank = 0, answers = 0;
  for (int k = 0; k < 100000 && seen < 2000; ++k) {
    auto h = pf.have(r.path, r.version);
    auto n = static_cast<std::size_t>(std::count(h.begin(), h.end(), true));
    if (h.size() != 2000 || std::find(h.begin(), h.end(), false) - h.begin() !=
                                static_cast<std::ptrdiff_t>(n))
      ++not_prefix;
    if (n < seen)
      ++shrank;
    seen = n;
    ++answers;
  }
  writer.join();
  CHECK(answers > 0);
  CHECK(not_prefix == 0);
  CHECK(shrank == 0);
  auto h = pf.have(r.path, r.version);
  CHECK(std::count(h.begin(), h.end(), true) == 2000);
  CHECK(pf.source_for(r.path, r.version, {{0, 20000}}) == "/t/x");
}
