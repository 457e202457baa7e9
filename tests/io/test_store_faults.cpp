// The index store under a full disk, against the SQLite database and its in-memory twin
// (store_kinds.hpp): every write is checked, a failed batch leaves nothing behind (the peer's
// progress above all), and the store works again once space is back. For the database "full" is
// RLIMIT_FSIZE; for the twin, its fault hooks.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "store_kinds.hpp"

using namespace cascade;
using namespace store_test;

namespace {

core::file_record big_record(int i) {
  core::file_record r;
  r.path = "dir/file-" + std::to_string(i) + ".bin";
  r.size = 1 << 20;
  for (std::uint64_t off = 0; off < 64; ++off) { // 64 chunks: a record of a few KiB
    core::chunk c;
    c.offset = off << 14;
    c.length = 1 << 14;
    c.hash.fill(static_cast<std::uint8_t>(i + off));
    r.chunks.push_back(c);
  }
  return r;
}

} // namespace

TEST_CASE_TEMPLATE("store: a write that fails throws, the batch is dropped, progress is not "
                   "advanced",
                   K, sqlite_kind, memory_kind) {
  K k;
  auto& db = k.store();
  core::device_id peer{};
  peer.fill(7);
  db.begin();
  db.set_peer_progress(peer, 1, 10);
  db.commit();

  // The disk fills during a batch and has room again before its end (another program freed
  // space): the batch must still fail as a whole, never record the peer's progress past
  // records it did not keep.
  bool threw = false;
  k.fill();
  try {
    db.begin();
    for (int i = 0; i < 20000; ++i) { // far more than the page cache holds: it must spill
      if (i == 15000)
        k.free_space();
      db.put_needed(big_record(i), peer);
    }
    db.set_peer_progress(peer, 1, 20010);
    db.commit();
  } catch (const core::store_error& e) {
    threw = true;
    CHECK(e.may_heal());
    CHECK(std::string(e.what()).find("index database") == 0);
  }
  k.free_space();
  CHECK(threw);
  // Space is back: the next batch works, and nothing of the failed one is there.
  db.begin();
  db.put_needed(big_record(1), peer);
  db.commit();
  CHECK(db.peer_progress(peer).second == 10);
  CHECK(db.all_needed().size() == 1);
}

TEST_CASE_TEMPLATE("store: a full disk is a store_error that may heal; rollback gives back the "
                   "sequence",
                   K, sqlite_kind, memory_kind) {
  K k;
  auto& db = k.store();
  db.begin();
  auto first = big_record(0);
  db.put(first, 1, 0);
  db.commit();
  CHECK(db.last_sequence() == 1);

  bool healable = false;
  k.fill();
  try {
    db.begin();
    for (int i = 1; i < 20000; ++i) {
      auto r = big_record(i);
      db.put(r, 1, 0);
    }
    db.commit();
  } catch (const core::store_error& e) {
    healable = e.may_heal(); // "disk I/O error" here (EFBIG); "database or disk is full" on a
    CHECK(std::string(e.what()).find("index database") == 0); // full file system
  }
  CHECK(healable);
  db.rollback();
  k.free_space();
  // The numbers handed out in the failed batch are given again: no gap, no reuse.
  CHECK(db.last_sequence() == 1);
  db.begin();
  auto next = big_record(1);
  db.put(next, 1, 0);
  db.commit();
  CHECK(next.sequence == 2);
  CHECK(db.since(0, 10).size() == 2);
  CHECK_FALSE(db.find_chunk(big_record(2).chunks[63].hash)); // only big_record(2) had it
}

TEST_CASE("store: which SQLite faults may heal") {
  CHECK(io::sqlite_error(13 /* SQLITE_FULL */, "x").may_heal());
  CHECK(io::sqlite_error(10 /* SQLITE_IOERR */, "x").may_heal());
  CHECK(io::sqlite_error(10 | (13 << 8) /* SQLITE_IOERR_FSYNC */, "x").may_heal());
  CHECK_FALSE(io::sqlite_error(11 /* SQLITE_CORRUPT */, "x").may_heal());
  CHECK_FALSE(io::sqlite_error(26 /* SQLITE_NOTADB */, "x").may_heal());
  CHECK(core::store_error::no_space("received files").may_heal());
}

TEST_CASE("memory_store: a failing commit keeps nothing, the caller rolls back; faults that "
          "will not heal say so") {
  core::memory_store db;
  core::device_id peer{};
  peer.fill(1);
  db.begin();
  auto r = big_record(1);
  db.put(r, 0, 0);
  db.set_peer_progress(peer, 1, 5);
  db.fail_next_commit();
  bool healable = false;
  try {
    db.commit();
  } catch (const core::store_error& e) {
    healable = e.may_heal();
  }
  CHECK(healable);
  db.rollback();
  CHECK(db.last_sequence() == 0);
  CHECK_FALSE(db.get(r.path));
  CHECK(db.peer_progress(peer).second == 0);
  db.begin();
  db.put(r, 0, 0);
  db.commit(); // once only
  CHECK(db.get(r.path)->record.sequence == 1);

  db.fail_after(1, false); // a corrupt database: one more write works, then none
  db.set_peer_progress(peer, 1, 6);
  bool threw = false;
  try {
    db.set_user_paused(true);
  } catch (const core::store_error& e) {
    threw = true;
    CHECK_FALSE(e.may_heal());
  }
  CHECK(threw);
  CHECK_FALSE(db.user_paused());
  CHECK_THROWS_AS(db.remove_needed("x"), core::store_error);
  CHECK(db.peer_progress(peer).second == 6);
  db.heal();
  db.set_user_paused(true);
  CHECK(db.user_paused());
}
