// The index database under a full file system: every write is checked, a failed batch leaves
// nothing behind (the peer's progress above all), and the store works again once space is back.
// "Full" is RLIMIT_FSIZE (the kernel refuses to grow a file past it, as ENOSPC would; SIGXFSZ
// ignored), so the test needs no mount.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "io/store.hpp"

using namespace cascade;
namespace fs = std::filesystem;

namespace {

struct fsize_limit {
  rlimit old{};
  explicit fsize_limit(rlim_t bytes) {
    ::signal(SIGXFSZ, SIG_IGN);
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    rlimit l = old;
    l.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &l) == 0);
  }
  ~fsize_limit() { ::setrlimit(RLIMIT_FSIZE, &old); }
};

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

TEST_CASE("store: a write that fails throws, the batch is dropped, progress is not advanced") {
  std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  t += "/cascade-store-test-XXXXXX";
  REQUIRE(::mkdtemp(t.data()) != nullptr);
  {
    io::store db(t + "/index.db");
    core::device_id peer{};
    peer.fill(7);
    db.begin();
    db.set_peer_progress(peer, 1, 10);
    db.commit();

    // The disk fills during a batch and has room again before its end (another program freed
    // space): the batch must still fail as a whole, never record the peer's progress past
    // records it did not keep.
    bool threw = false;
    auto full = std::make_unique<fsize_limit>(
        static_cast<rlim_t>(fs::file_size(t + "/index.db") + (64 << 10)));
    try {
      db.begin();
      for (int i = 0; i < 20000; ++i) { // far more than the page cache holds: it must spill
        if (i == 15000)
          full.reset();
        db.put_needed(big_record(i), peer);
      }
      db.set_peer_progress(peer, 1, 20010);
      db.commit();
    } catch (const std::runtime_error& e) {
      threw = true;
      CHECK(std::string(e.what()).find("index database") != std::string::npos);
    }
    full.reset();
    CHECK(threw);
    // Space is back: the next batch works, and nothing of the failed one is there.
    db.begin();
    db.put_needed(big_record(1), peer);
    db.commit();
    CHECK(db.peer_progress(peer).second == 10);
    CHECK(db.all_needed().size() == 1);
  }
  fs::remove_all(t);
}

TEST_CASE("store: a full disk is a store_error that may heal; rollback gives back the sequence") {
  std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  t += "/cascade-store-test-XXXXXX";
  REQUIRE(::mkdtemp(t.data()) != nullptr);
  {
    io::store db(t + "/index.db");
    db.begin();
    auto first = big_record(0);
    db.put(first, 1, 0);
    db.commit();
    CHECK(db.last_sequence() == 1);

    bool healable = false;
    auto full = std::make_unique<fsize_limit>(
        static_cast<rlim_t>(fs::file_size(t + "/index.db") + (64 << 10)));
    try {
      db.begin();
      for (int i = 1; i < 20000; ++i) {
        auto r = big_record(i);
        db.put(r, 1, 0);
      }
      db.commit();
    } catch (const io::store_error& e) {
      healable = e.may_heal(); // "disk I/O error" here (EFBIG); "database or disk is full" on a
      CHECK(std::string(e.what()).find("index database") == 0); // full file system
    }
    CHECK(healable);
    db.rollback();
    full.reset();
    // The numbers handed out in the failed batch are given again: no gap, no reuse.
    CHECK(db.last_sequence() == 1);
    db.begin();
    auto next = big_record(1);
    db.put(next, 1, 0);
    db.commit();
    CHECK(next.sequence == 2);
    CHECK(db.since(0, 10).size() == 2);
  }
  fs::remove_all(t);
}

TEST_CASE("store: which faults may heal") {
  CHECK(io::store_error(13 /* SQLITE_FULL */, "x").may_heal());
  CHECK(io::store_error(10 /* SQLITE_IOERR */, "x").may_heal());
  CHECK_FALSE(io::store_error(11 /* SQLITE_CORRUPT */, "x").may_heal());
  CHECK_FALSE(io::store_error(26 /* SQLITE_NOTADB */, "x").may_heal());
}
