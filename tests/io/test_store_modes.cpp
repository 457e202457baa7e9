// The store's folder-mode block (issue 14.3): the mode and receive-only's local changes survive a
// reopen; forget drops a record and its chunks.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "io/store.hpp"

using namespace cascade;

TEST_CASE("store: the folder mode and the local changes are kept; forget drops a record") {
  std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  t += "/cascade-store-modes-XXXXXX";
  REQUIRE(::mkdtemp(t.data()) != nullptr);
  core::file_record r;
  r.path = "a/b.txt";
  r.size = 10;
  r.chunks.push_back({0, 10, {}});
  r.chunks[0].hash.fill(9);
  {
    io::store db(t + "/index.db");
    CHECK(db.folder_mode().empty()); // never given
    db.set_folder_mode("receive-only");
    db.put(r, 1, 0);
    db.mark_local_change("a/b.txt");
    db.mark_local_change("a/b.txt"); // twice: once
    db.mark_local_change("c");
    db.mark_local_change("b");
  }
  {
    io::store db(t + "/index.db");
    CHECK(db.folder_mode() == "receive-only");
    CHECK(db.local_changes() == std::vector<std::string>{"a/b.txt", "b", "c"});
    db.unmark_local_change("b");
    db.unmark_local_change("never");
    CHECK(db.local_changes() == std::vector<std::string>{"a/b.txt", "c"});
    REQUIRE(db.get("a/b.txt"));
    REQUIRE(db.find_chunk(r.chunks[0].hash));
    db.forget("a/b.txt");
    CHECK_FALSE(db.get("a/b.txt"));
    CHECK_FALSE(db.find_chunk(r.chunks[0].hash));
    CHECK(db.live_paths().empty());
    db.forget("never"); // nothing to forget: no error
  }
  std::filesystem::remove_all(t);
}
