// The index store's contract (core/index_store.hpp), every case against the SQLite database and
// its in-memory twin (store_kinds.hpp): records and sequence numbers, transactions, since(),
// the chunk delta, GLOB, needed records, peers and the user's pause. Faults are in
// test_store_faults.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../unit/builders.hpp"
#include "store_kinds.hpp"

using namespace cascade;
using namespace store_test;

namespace {

// A file of `n` chunks of 16 KiB whose hashes are `seed`, `seed + 1`, ... (n >= 64: a delta).
core::file_record chunked(const std::string& path, std::string_view version, int n, int seed) {
  core::file_record r;
  r.path = path;
  r.version = test::vv(version);
  r.mode = 0644;
  for (int i = 0; i < n; ++i) {
    core::chunk c;
    c.offset = static_cast<std::uint64_t>(i) << 14;
    c.length = 1 << 14;
    c.hash.fill(0);
    c.hash[0] = static_cast<std::uint8_t>(seed + i);
    c.hash[1] = static_cast<std::uint8_t>((seed + i) >> 8);
    r.chunks.push_back(c);
  }
  r.size = static_cast<std::uint64_t>(n) << 14;
  return r;
}

core::file_record dir(const std::string& path) {
  core::file_record r;
  r.path = path;
  r.type = core::file_type::dir;
  r.version = test::vv("A:1");
  return r;
}

core::file_record deleted(const std::string& path, std::string_view version) {
  core::file_record r;
  r.path = path;
  r.deleted = true;
  r.version = test::vv(version);
  return r;
}

void put(core::index_store& db, core::file_record r, std::uint64_t inode = 0) {
  db.put(r, inode, 0);
}

std::vector<std::string> paths(const std::vector<core::stored_record>& rs) {
  std::vector<std::string> out;
  for (auto& r : rs)
    out.push_back(r.record.path);
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

core::device_id device(std::uint8_t b) {
  core::device_id d{};
  d.fill(b);
  return d;
}

} // namespace

TEST_CASE_TEMPLATE("store: a record comes back as it was put, with the next sequence", K,
                   sqlite_kind, memory_kind) {
  K k;
  auto& db = k.store();
  CHECK(db.last_sequence() == 0);
  CHECK_FALSE(db.get("a.txt"));
  auto r = test::file("A:2,B:1", 1'700'000'000'123'456'789, 'B', "one|two", "a.txt");
  r.size = 6;
  r.mode = 0755;
  r.changed_at_ns = 99;
  db.put(r, 77, 5);
  CHECK(r.sequence == 1);
  CHECK(db.last_sequence() == 1);
  auto s = db.get("a.txt");
  REQUIRE(s);
  CHECK(s->record.path == "a.txt");
  CHECK(s->record.version == test::vv("A:2,B:1"));
  CHECK(s->record.sequence == 1);
  CHECK(s->record.modified_by == test::dev('B'));
  CHECK(s->record.chunks == r.chunks);
  CHECK(s->record.mtime_ns == r.mtime_ns);
  CHECK(s->record.mode == 0755);
  CHECK(s->record.size == 6);
  CHECK(s->record.changed_at_ns == 99);
  CHECK(core::same_content(s->record, r));
  CHECK(s->inode == 77);
  CHECK(s->received_from == 5);
  CHECK_FALSE(s->delta);

  core::file_record link;
  link.path = "l";
  link.type = core::file_type::symlink;
  link.symlink_target = "a.txt";
  db.put(link, 0, 0);
  CHECK(db.get("l")->record.symlink_target == "a.txt");
  CHECK(db.get("l")->record.type == core::file_type::symlink);
  CHECK(db.last_sequence() == 2);
  CHECK_FALSE(db.get("a.tx")); // exact paths only
}

TEST_CASE_TEMPLATE("store: rollback drops every write since begin and gives the numbers back", K,
                   sqlite_kind, memory_kind) {
  K k;
  auto& db = k.store();
  auto peer = device(7);
  db.begin();
  put(db, test::file("A:1", 1, 'A', "x", "kept.txt"));
  db.put_needed(test::file("B:1", 1, 'B', "n", "need.txt"), peer);
  db.set_peer_progress(peer, 3, 4);
  db.commit();
  CHECK(db.last_sequence() == 1);

  db.begin();
  put(db, test::file("A:2", 2, 'A', "y", "kept.txt")); // replaced, then rolled back
  put(db, test::file("A:1", 1, 'A', "z", "new.txt"));
  db.remove_needed("need.txt");
  db.put_needed(test::file("B:1", 1, 'B', "m", "more.txt"), peer);
  db.set_peer_progress(peer, 3, 9);
  db.set_peer_progress(device(8), 1, 1);
  db.set_user_paused(true);
  CHECK(db.last_sequence() == 3);
  CHECK(db.get("new.txt")); // a transaction sees its own writes
  CHECK(db.find_chunk(test::digest_of("z")));
  db.rollback();

  CHECK(db.last_sequence() == 1);
  CHECK(db.get("kept.txt")->record.version == test::vv("A:1"));
  CHECK(db.get("kept.txt")->record.sequence == 1);
  CHECK_FALSE(db.get("new.txt"));
  CHECK(db.get_needed("need.txt"));
  CHECK_FALSE(db.get_needed("more.txt"));
  CHECK(db.peer_progress(peer) == std::pair<std::uint64_t, std::uint64_t>{3, 4});
  CHECK(db.known_peers() == std::vector{peer});
  CHECK_FALSE(db.user_paused());
  CHECK(db.find_chunk(test::digest_of("x")));
  CHECK_FALSE(db.find_chunk(test::digest_of("y")));
  CHECK_FALSE(db.find_chunk(test::digest_of("z")));
  CHECK(paths(db.since(0, 10)) == std::vector<std::string>{"kept.txt"});

  // The numbers come again: no gap, no reuse.
  db.begin();
  auto next = test::file("A:1", 1, 'A', "w", "next.txt");
  db.put(next, 0, 0);
  db.commit();
  CHECK(next.sequence == 2);
}

TEST_CASE_TEMPLATE("store: begin drops a transaction left open; commit needs one", K, sqlite_kind,
                   memory_kind) {
  K k;
  auto& db = k.store();
  db.begin();
  put(db, test::file("A:1", 1, 'A', "x", "lost.txt"));
  db.begin(); // the batch before failed half-way: none of it counts
  put(db, test::file("A:1", 1, 'A', "y", "b.txt"));
  db.commit();
  CHECK_FALSE(db.get("lost.txt"));
  CHECK(db.get("b.txt")->record.sequence == 1);
  CHECK(db.last_sequence() == 1);

  bool healable = true;
  try {
    db.commit();
  } catch (const core::store_error& e) {
    healable = e.may_heal();
    CHECK(std::string(e.what()).find("index database") == 0);
  }
  CHECK_FALSE(healable);
}

TEST_CASE_TEMPLATE("store: a write outside a transaction counts at once", K, sqlite_kind,
                   memory_kind) {
  K k;
  auto& db = k.store();
  put(db, test::file("A:1", 1, 'A', "x", "a.txt"));
  db.set_peer_progress(device(1), 2, 3);
  db.set_user_paused(true);
  db.rollback(); // nothing open: nothing to drop
  CHECK(db.last_sequence() == 1);
  CHECK(db.get("a.txt"));
  CHECK(db.peer_progress(device(1)).second == 3);
  CHECK(db.user_paused());
  db.begin();
  put(db, test::file("A:1", 1, 'A', "y", "b.txt"));
  db.rollback();
  CHECK(db.last_sequence() == 1);
  put(db, test::file("A:1", 1, 'A', "y", "b.txt"));
  CHECK(db.get("b.txt")->record.sequence == 2);
  db.set_user_paused(false);
  CHECK_FALSE(db.user_paused());
}

TEST_CASE_TEMPLATE("store: since() lists by sequence, after a number, at most limit", K,
                   sqlite_kind, memory_kind) {
  K k;
  auto& db = k.store();
  for (auto* p : {"c", "a", "b", "d"})
    put(db, test::file("A:1", 1, 'A', p, p));
  put(db, test::file("A:2", 2, 'A', "a2", "a")); // replaced: moves to the end, once
  CHECK(paths(db.since(0, 100)) == std::vector<std::string>{"c", "b", "d", "a"});
  CHECK(paths(db.since(0, 2)) == std::vector<std::string>{"c", "b"});
  CHECK(paths(db.since(2, 2)) == std::vector<std::string>{"b", "d"});
  CHECK(paths(db.since(4, 100)) == std::vector<std::string>{"a"});
  CHECK(db.since(5, 100).empty());
  CHECK(db.since(0, 0).empty());
  auto all = db.since(0, 100);
  CHECK(all.back().record.sequence == 5);
  CHECK(all.back().record.version == test::vv("A:2"));
}

TEST_CASE_TEMPLATE("store: a big file's chunk list is a delta of the record it replaced", K,
                   sqlite_kind, memory_kind) {
  K k;
  auto& db = k.store();
  auto v1 = chunked("big", "A:1", 100, 0);
  put(db, v1);
  CHECK_FALSE(db.get("big")->delta); // nothing replaced
  auto v2 = chunked("big", "A:2", 100, 0);
  v2.chunks[50].hash[2] = 1; // one chunk changed
  put(db, v2);
  auto s2 = db.get("big");
  REQUIRE(s2->delta);
  CHECK(s2->delta->base == test::vv("A:1"));
  CHECK(core::apply_delta(*s2->delta, v1.chunks, v2.size) == v2.chunks);

  // Against the record replaced, not an earlier one.
  auto v3 = chunked("big", "A:3", 100, 0);
  v3.chunks[50].hash[2] = 1;
  v3.chunks[10].hash[2] = 2;
  put(db, v3);
  auto s3 = db.get("big");
  REQUIRE(s3->delta);
  CHECK(s3->delta->base == test::vv("A:2"));
  CHECK(core::apply_delta(*s3->delta, v2.chunks, v3.size) == v3.chunks);

  put(db, v3); // the same version again (a rescan): no delta
  CHECK_FALSE(db.get("big")->delta);
  // Nothing to edit: a deletion, a small file, a base that was deleted or a directory.
  auto gone = chunked("big", "A:4", 100, 0); // a deletion that kept its chunk list
  gone.deleted = true;
  put(db, gone);
  CHECK_FALSE(db.get("big")->delta);
  put(db, chunked("big", "A:5", 100, 0));
  CHECK_FALSE(db.get("big")->delta);
  auto small = chunked("big", "A:6", 63, 0);
  put(db, small);
  CHECK_FALSE(db.get("big")->delta);
  put(db, dir("d"));
  auto over_dir = chunked("d", "A:2", 100, 0);
  put(db, over_dir);
  CHECK_FALSE(db.get("d")->delta);
  // Every byte new: a delta would not pay.
  put(db, chunked("d", "A:3", 100, 1000));
  CHECK_FALSE(db.get("d")->delta);
}

TEST_CASE_TEMPLATE("store: matching() is SQLite's GLOB, by path, at most limit", K, sqlite_kind,
                   memory_kind) {
  K k;
  auto& db = k.store();
  for (auto* p : {"a", "a/b", "a/b/c.txt", "a/x.txt", "A.txt", "b.txt", "ab", "é.txt", "[x]", "a-b",
                  "a]b", "é/ü"})
    put(db, test::file("A:1", 1, 'A', p, p));
  auto m = [&](const std::string& g, std::size_t limit = 100) {
    return paths(db.matching(g, limit));
  };
  using v = std::vector<std::string>;
  CHECK(m("a/*") == v{"a/b", "a/b/c.txt", "a/x.txt"}); // '*' spans '/'
  CHECK(m("*.txt") == v{"A.txt", "a/b/c.txt", "a/x.txt", "b.txt", "é.txt"});
  CHECK(m("*") == v{"A.txt", "[x]", "a", "a-b", "a/b", "a/b/c.txt", "a/x.txt", "a]b", "ab", "b.txt",
                    "é.txt", "é/ü"}); // bytewise order
  CHECK(m("*", 3) == v{"A.txt", "[x]", "a"});
  CHECK(m("a") == v{"a"});
  CHECK(m("a?b") == v{"a-b", "a/b", "a]b"});
  CHECK(m("?.txt") == v{"A.txt", "b.txt", "é.txt"}); // '?' is a character, not a byte
  CHECK(m("é?ü") == v{"é/ü"});
  CHECK(m("[aA]*.txt") == v{"A.txt", "a/b/c.txt", "a/x.txt"});
  CHECK(m("[^a]*") == v{"A.txt", "[x]", "b.txt", "é.txt", "é/ü"});
  CHECK(m("[a-b].txt") == v{"b.txt"});
  CHECK(m("a[]-]b") == v{"a-b", "a]b"});
  CHECK(m("[[]x]") == v{"[x]"});
  CHECK(m("a[/") == v{});       // an unterminated set matches nothing
  CHECK(m("A*") == v{"A.txt"}); // case-sensitive
  CHECK(m("*b") == v{"a-b", "a/b", "a]b", "ab"});
  CHECK(m("a*[.]txt") == v{"a/b/c.txt", "a/x.txt"});
  CHECK(m("*?*?*?*?*?*?*?*?*?*?") == v{});
  CHECK(m("") == v{});
}

TEST_CASE_TEMPLATE("store: totals, live paths and chunks count live records only", K, sqlite_kind,
                   memory_kind) {
  K k;
  auto& db = k.store();
  auto a = test::file("A:1", 1, 'A', "one|two", "a.txt");
  a.size = 6;
  put(db, a);
  auto b = test::file("A:1", 1, 'A', "two|three", "b.txt");
  b.size = 8;
  put(db, b);
  put(db, dir("d"));
  put(db, deleted("gone.txt", "A:2"));
  core::file_record link;
  link.path = "l";
  link.type = core::file_type::symlink;
  link.size = 5;
  put(db, link);
  auto t = db.totals();
  CHECK(t.files == 2);
  CHECK(t.dirs == 1);
  CHECK(t.bytes == 19);
  CHECK(t.deleted == 1);
  CHECK(sorted(db.live_paths()) == std::vector<std::string>{"a.txt", "b.txt", "d", "l"});

  auto one = db.find_chunk(test::digest_of("one"));
  REQUIRE(one);
  CHECK(one->path == "a.txt");
  CHECK(one->offset == 0);
  auto three = db.find_chunk(test::digest_of("three"));
  REQUIRE(three);
  CHECK(three->path == "b.txt");
  CHECK(three->offset == 3);
  auto two = db.find_chunk(test::digest_of("two"));
  REQUIRE(two); // held by both: either one
  CHECK((two->path == "a.txt" ? two->offset == 3 : two->offset == 0));

  put(db, deleted("a.txt", "A:2"));
  CHECK_FALSE(db.find_chunk(test::digest_of("one")));
  CHECK(db.find_chunk(test::digest_of("two"))->path == "b.txt");
  put(db, test::file("A:2", 1, 'A', "four", "b.txt")); // replaced: its old chunks go
  CHECK_FALSE(db.find_chunk(test::digest_of("two")));
  CHECK(db.find_chunk(test::digest_of("four"))->path == "b.txt");
  t = db.totals();
  CHECK(t.files == 1);
  CHECK(t.deleted == 2);
  CHECK(sorted(db.live_paths()) == std::vector<std::string>{"b.txt", "d", "l"});
}

TEST_CASE_TEMPLATE("store: needed records, their totals, and peers' progress", K, sqlite_kind,
                   memory_kind) {
  K k;
  auto& db = k.store();
  CHECK(db.needed_totals() == std::pair<std::uint64_t, std::uint64_t>{0, 0});
  auto p = device(1), q = device(2);
  auto n = test::file("B:3", 5, 'B', "n|m", "need.txt");
  n.size = 100;
  n.sequence = 17; // the peer's number, kept as it came
  n.changed_at_ns = 1234;
  db.put_needed(n, p);
  auto gone = deleted("gone.txt", "B:4");
  gone.size = 50; // a deletion needs no bytes
  db.put_needed(gone, q);
  auto got = db.get_needed("need.txt");
  REQUIRE(got);
  CHECK(got->from == p);
  CHECK(got->record.version == test::vv("B:3"));
  CHECK(got->record.sequence == 17);
  CHECK(got->record.chunks == n.chunks);
  CHECK(got->record.changed_at_ns == 1234);
  CHECK(got->record.modified_by == test::dev('B'));
  CHECK(db.get_needed("gone.txt")->record.deleted);
  CHECK(db.needed_totals() == std::pair<std::uint64_t, std::uint64_t>{2, 100});
  n.size = 300; // needed again, from another peer
  db.put_needed(n, q);
  CHECK(db.get_needed("need.txt")->from == q);
  CHECK(db.needed_totals() == std::pair<std::uint64_t, std::uint64_t>{2, 300});
  CHECK(db.all_needed().size() == 2);
  db.remove_needed("need.txt");
  db.remove_needed("never.txt");
  CHECK_FALSE(db.get_needed("need.txt"));
  CHECK(db.all_needed().size() == 1);
  CHECK(db.all_needed()[0].record.path == "gone.txt");
  CHECK(db.last_sequence() == 0); // needed records take no numbers of ours

  CHECK(db.known_peers().empty());
  CHECK(db.peer_progress(p) == std::pair<std::uint64_t, std::uint64_t>{0, 0});
  db.set_peer_progress(p, 5, 6);
  db.set_peer_progress(q, 7, 8);
  db.set_peer_progress(p, 9, 10);
  CHECK(db.peer_progress(p) == std::pair<std::uint64_t, std::uint64_t>{9, 10});
  CHECK(db.peer_progress(q) == std::pair<std::uint64_t, std::uint64_t>{7, 8});
  auto peers = db.known_peers();
  std::sort(peers.begin(), peers.end());
  CHECK(peers == std::vector{p, q});
}

TEST_CASE("store: the database keeps everything across a reopen; the epoch is its own") {
  sqlite_kind k;
  auto epoch = k.db->epoch();
  CHECK(epoch != 0);
  put(*k.db, test::file("A:1", 1, 'A', "x", "a.txt"));
  put(*k.db, test::file("A:1", 1, 'A', "y", "b.txt"));
  k.db->set_user_paused(true);
  k.db = std::make_unique<io::sqlite_store>(k.dir + "/index.db");
  CHECK(k.db->epoch() == epoch);
  CHECK(k.db->last_sequence() == 2);
  CHECK(k.db->user_paused());
  CHECK(k.db->get("b.txt")->record.sequence == 2);
  sqlite_kind other;
  CHECK(other.db->epoch() != epoch);
}
