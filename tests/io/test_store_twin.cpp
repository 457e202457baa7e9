// The twin against the database: the same random operations (writes, transactions, rollbacks,
// faults of the caller's kind such as a commit without begin) on core::memory_store and
// io::sqlite_store, and everything either can be asked compared after each one. A difference
// is a bug in the twin (or a contract the database does not keep).
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "store_kinds.hpp"

using namespace cascade;
using namespace store_test;

namespace {

const std::vector<std::string> names = {"a", "a/b", "a/b/c.txt", "b.txt", "big", "big2", "é/x"};
const std::vector<std::string> globs = {"*", "a/*", "*.txt", "?", "[ab]*", "big?", "é*"};

std::string describe(const core::stored_record& s) {
  auto& r = s.record;
  std::string out = r.path + " t" + std::to_string(int(r.type)) + " s" + std::to_string(r.size) +
                    " m" + std::to_string(r.mtime_ns) + " p" + std::to_string(r.mode) +
                    (r.deleted ? " deleted" : "") + " v" + r.version.encode() + " #" +
                    std::to_string(r.sequence) + " by" + std::to_string(r.modified_by) + " c" +
                    std::to_string(r.changed_at_ns) + " i" + std::to_string(s.inode) + " from" +
                    std::to_string(s.received_from) + " ->" + r.symlink_target + " chunks";
  for (auto& c : r.chunks)
    out += " " + std::to_string(c.offset) + ":" + std::to_string(c.length) + ":" +
           std::to_string(c.hash[0]);
  out += s.delta ? " delta " + std::to_string(core::encode(*s.delta).size()) + "B base " +
                       s.delta->base.encode() + " steps " + std::to_string(s.delta->steps.size())
                 : " no delta";
  return out;
}

std::vector<std::string> describe(const std::vector<core::stored_record>& rs) {
  std::vector<std::string> out;
  for (auto& r : rs)
    out.push_back(describe(r));
  return out;
}

std::vector<std::string> describe(const std::vector<core::needed_record>& ns) {
  std::vector<std::string> out;
  for (auto& n : ns)
    out.push_back(describe(core::stored_record{n.record, 0, n.from[0], {}}));
  std::sort(out.begin(), out.end());
  return out;
}

// A record of one of a few kinds, with chunks from a small pool so that chunks repeat, files
// are big enough for a delta, and versions repeat.
core::file_record random_record(std::mt19937& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  core::file_record r;
  r.path = names[pick(names.size())];
  r.version = core::version_vector({{1, static_cast<std::uint64_t>(1 + pick(4))}});
  r.modified_by = 1 + pick(3);
  r.mtime_ns = pick(1000);
  r.mode = 0600 + pick(2);
  r.changed_at_ns = pick(5);
  switch (pick(5)) {
  case 0:
    r.type = core::file_type::dir;
    r.deleted = pick(4) == 0;
    break;
  case 1:
    r.type = core::file_type::symlink;
    r.symlink_target = "t" + std::to_string(pick(3));
    r.size = r.symlink_target.size();
    break;
  default: {
    int n = pick(3) == 0 ? pick(4) : 60 + pick(20);
    int base = pick(3);
    for (int i = 0; i < n; ++i) {
      core::chunk c;
      c.offset = static_cast<std::uint64_t>(i) * 100;
      c.length = 100;
      c.hash[0] = static_cast<std::uint8_t>(pick(8) == 0 ? 200 + pick(40) : base + i);
      r.chunks.push_back(c);
    }
    r.size = static_cast<std::uint64_t>(n) * 100;
    r.deleted = pick(4) == 0; // a deletion may carry the size and chunks it had
  }
  }
  return r;
}

core::device_id peer(int i) {
  core::device_id d{};
  d.fill(static_cast<std::uint8_t>(i));
  return d;
}

struct pair_of_stores {
  sqlite_kind sql;
  core::memory_store mem;

  // Runs `op` on both: both throw (store_error, the same may_heal) or neither does.
  template <class F> void both(F&& op) {
    std::optional<bool> sql_heals, mem_heals;
    try {
      op(*sql.db);
    } catch (const core::store_error& e) {
      sql_heals = e.may_heal();
    }
    try {
      op(mem);
    } catch (const core::store_error& e) {
      mem_heals = e.may_heal();
    }
    CHECK(sql_heals == mem_heals);
  }

  void compare() {
    core::index_store& a = *sql.db;
    core::index_store& b = mem;
    REQUIRE(a.last_sequence() == b.last_sequence());
    CHECK(describe(a.since(0, 1000)) == describe(b.since(0, 1000)));
    auto la = a.live_paths(), lb = b.live_paths();
    std::sort(la.begin(), la.end());
    std::sort(lb.begin(), lb.end());
    CHECK(la == lb);
    auto ta = a.totals(), tb = b.totals();
    CHECK(ta.files == tb.files);
    CHECK(ta.dirs == tb.dirs);
    CHECK(ta.bytes == tb.bytes);
    CHECK(ta.deleted == tb.deleted);
    for (auto& g : globs)
      CHECK(describe(a.matching(g, 3)) == describe(b.matching(g, 3)));
    CHECK(describe(a.all_needed()) == describe(b.all_needed()));
    CHECK(a.needed_totals() == b.needed_totals());
    auto pa = a.known_peers(), pb = b.known_peers();
    std::sort(pa.begin(), pa.end());
    std::sort(pb.begin(), pb.end());
    CHECK(pa == pb);
    for (int i = 0; i < 3; ++i)
      CHECK(a.peer_progress(peer(i)) == b.peer_progress(peer(i)));
    CHECK(a.user_paused() == b.user_paused());
    for (int h = 0; h < 240; ++h) {
      core::sha256_digest d{};
      d[0] = static_cast<std::uint8_t>(h);
      auto ca = a.find_chunk(d), cb = b.find_chunk(d);
      REQUIRE(ca.has_value() == cb.has_value());
      if (cb) { // any holder will do, but it must hold it
        auto r = b.get(cb->path);
        REQUIRE(r);
        CHECK(std::any_of(r->record.chunks.begin(), r->record.chunks.end(),
                          [&](auto& c) { return c.hash == d && c.offset == cb->offset; }));
      }
    }
  }
};

} // namespace

TEST_CASE("store: the twin answers as the database does over random operations") {
  for (unsigned seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    pair_of_stores s;
    for (int step = 0; step < 400; ++step) {
      CAPTURE(step);
      auto r = random_record(rng);
      auto who = peer(static_cast<int>(rng() % 3));
      switch (rng() % 12) {
      case 0:
        s.both([](core::index_store& db) { db.begin(); });
        break;
      case 1:
        s.both([](core::index_store& db) { db.commit(); }); // throws without begin
        break;
      case 2:
        s.both([](core::index_store& db) { db.rollback(); });
        break;
      case 3:
        s.both([&](core::index_store& db) { db.put_needed(r, who); });
        break;
      case 4:
        s.both([&](core::index_store& db) { db.remove_needed(r.path); });
        break;
      case 5: {
        auto seq = rng() % 100;
        s.both([&](core::index_store& db) { db.set_peer_progress(who, seq % 3, seq); });
        break;
      }
      case 6: {
        bool on = rng() % 2;
        s.both([&](core::index_store& db) { db.set_user_paused(on); });
        break;
      }
      default: {
        std::uint64_t inode = rng() % 10;
        s.both([&](core::index_store& db) {
          auto copy = r;
          db.put(copy, inode, who[0]);
        });
      }
      }
      s.compare();
    }
  }
}
