// The store's folder-mode block (issue 14.3), against the SQLite database and its in-memory twin
// (store_kinds.hpp): the mode and receive-only's local changes, rolled back with a transaction;
// forget drops a record and its chunks. The database keeps them across a reopen.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "store_kinds.hpp"

using namespace cascade;
using namespace store_test;

namespace {

core::file_record small_file() {
  core::file_record r;
  r.path = "a/b.txt";
  r.size = 10;
  r.chunks.push_back({0, 10, {}});
  r.chunks[0].hash.fill(9);
  return r;
}

} // namespace

TEST_CASE_TEMPLATE("store: the folder mode and the local changes; forget drops a record", K,
                   sqlite_kind, memory_kind) {
  K k;
  auto& db = k.store();
  auto r = small_file();
  CHECK(db.folder_mode().empty()); // never given
  db.set_folder_mode("receive-only");
  db.put(r, 1, 0);
  db.mark_local_change("a/b.txt");
  db.mark_local_change("a/b.txt"); // twice: once
  db.mark_local_change("c");
  db.mark_local_change("b");
  CHECK(db.folder_mode() == "receive-only");
  CHECK(db.local_changes() == std::vector<std::string>{"a/b.txt", "b", "c"});

  db.begin(); // a rollback undoes the mode block's writes too
  db.set_folder_mode("send-only");
  db.mark_local_change("d");
  db.unmark_local_change("c");
  db.forget("a/b.txt");
  db.rollback();
  CHECK(db.folder_mode() == "receive-only");
  CHECK(db.local_changes() == std::vector<std::string>{"a/b.txt", "b", "c"});
  REQUIRE(db.get("a/b.txt"));

  db.unmark_local_change("b");
  db.unmark_local_change("never");
  CHECK(db.local_changes() == std::vector<std::string>{"a/b.txt", "c"});
  REQUIRE(db.find_chunk(r.chunks[0].hash));
  db.forget("a/b.txt");
  CHECK_FALSE(db.get("a/b.txt"));
  CHECK_FALSE(db.find_chunk(r.chunks[0].hash));
  CHECK(db.live_paths().empty());
  db.forget("never"); // nothing to forget: no error
}

TEST_CASE("store: the folder mode and the local changes survive a reopen of the database") {
  sqlite_kind k;
  std::string path = k.dir + "/index.db";
  k.db->set_folder_mode("send-only");
  k.db->mark_local_change("x");
  k.db.reset();
  io::sqlite_store db(path);
  CHECK(db.folder_mode() == "send-only");
  CHECK(db.local_changes() == std::vector<std::string>{"x"});
}
