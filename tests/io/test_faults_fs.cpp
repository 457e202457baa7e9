// The applier and the index database on a file system that fills up or turns read-only: every
// failure is reported (no false success), nothing half-written is left under a final name or in
// the temp directory, files already there keep their content, and everything works again once
// the cause is gone. (The index database is not remounted read-only: a file open for writing
// keeps the remount from happening.) A real 256 KiB tmpfs is mounted for it; meson runs this binary in a mount
// namespace of its own (unshare --mount), so the mount is private to it and goes with it.
#include <doctest/doctest.h>

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "io/apply.hpp"
#include "io/store.hpp"

using namespace cascade;
namespace fs = std::filesystem;

namespace {

std::string read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

core::file_record record(const std::string& path, std::size_t size) {
  core::file_record r;
  r.path = path;
  r.size = size;
  r.mode = 0644;
  r.mtime_ns = 1'700'000'000'123'456'789;
  return r;
}

// A small tmpfs of its own, with `folder/` (synced, holding keep.txt) and `tmp/` (temp files).
struct small_fs {
  std::string dir;
  small_fs() {
    std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    t += "/cascade-fault-fs-XXXXXX";
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    dir = t;
    REQUIRE_MESSAGE(::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=256k") == 0,
                    "mount tmpfs: " << std::strerror(errno));
    fs::create_directories(dir + "/folder");
    std::ofstream(dir + "/folder/keep.txt") << "kept\n";
  }
  ~small_fs() {
    ::umount2(dir.c_str(), MNT_DETACH);
    fs::remove_all(dir);
  }
  void set_read_only(bool ro) {
    unsigned long flags = MS_REMOUNT | (ro ? MS_RDONLY : 0);
    REQUIRE(::mount("tmpfs", dir.c_str(), "tmpfs", flags, "size=256k") == 0);
  }
  // Fills the file system to the last byte with `filler`.
  void fill() {
    std::ofstream out(dir + "/filler", std::ios::binary);
    std::string block(4096, 'x');
    for (int i = 0; i < 1024 && out.write(block.data(), block.size()); ++i) {
    }
  }
  std::size_t tmp_files() const {
    std::size_t n = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(dir + "/tmp"))
      ++n;
    return n;
  }
};

} // namespace

TEST_CASE("applier: a full file system fails the write, leaves nothing, and heals") {
  small_fs s;
  io::folder f(s.dir + "/folder");
  io::tmp_dir tmp(s.dir + "/tmp");
  io::applier a(f, tmp);
  const std::string data(64 << 10, 'd');
  auto r = record("new.bin", data.size());
  s.fill();
  for (bool sync : {true, false}) {
    auto t = tmp.new_path();
    CHECK_FALSE(a.write_tmp(t, r, data, sync));
    CHECK(s.tmp_files() == 0);
  }
  CHECK_FALSE(fs::exists(s.dir + "/folder/new.bin"));
  CHECK(read_all(s.dir + "/folder/keep.txt") == "kept\n");

  fs::remove(s.dir + "/filler"); // space is back
  auto t = tmp.new_path();
  REQUIRE(a.write_tmp(t, r, data, true));
  CHECK(a.install(t, r).has_value());
  a.sync_dirs();
  CHECK(read_all(s.dir + "/folder/new.bin") == data);
  CHECK(fs::last_write_time(s.dir + "/folder/new.bin").time_since_epoch().count() != 0);
}

TEST_CASE("applier: a read-only file system refuses every change and keeps every file") {
  small_fs s;
  io::folder f(s.dir + "/folder");
  io::tmp_dir tmp(s.dir + "/tmp");
  io::applier a(f, tmp);
  auto keep = record("keep.txt", 5);
  auto dir = record("sub", 0);
  dir.type = core::file_type::dir;
  dir.mode = 0755;
  s.set_read_only(true);
  auto t = tmp.new_path();
  CHECK_FALSE(a.write_tmp(t, record("new.txt", 3), "new", true));
  CHECK_FALSE(a.make_dir(dir).has_value());
  keep.deleted = true;
  CHECK_FALSE(a.remove(keep));
  CHECK(read_all(s.dir + "/folder/keep.txt") == "kept\n");
  CHECK_FALSE(fs::exists(s.dir + "/folder/sub"));

  s.set_read_only(false);
  CHECK(a.make_dir(dir).has_value());
  CHECK(fs::is_directory(s.dir + "/folder/sub"));
  CHECK(a.remove(keep));
  CHECK_FALSE(fs::exists(s.dir + "/folder/keep.txt"));
}

TEST_CASE("store: a full file system fails the batch, progress stays, then it works") {
  small_fs s;
  io::sqlite_store db(s.dir + "/index.db");
  core::device_id peer{};
  peer.fill(3);
  db.begin();
  db.set_peer_progress(peer, 1, 10);
  db.commit();
  s.fill();
  bool threw = false;
  try {
    db.begin();
    for (int i = 0; i < 2000; ++i) // more than the space left
      db.put_needed(record("f" + std::to_string(i) + ".txt", 1), peer);
    db.set_peer_progress(peer, 1, 11);
    db.commit();
  } catch (const std::runtime_error& e) {
    threw = true;
    CHECK(std::string(e.what()).find("index database") != std::string::npos);
  }
  CHECK(threw);
  fs::remove(s.dir + "/filler");
  CHECK(db.peer_progress(peer).second == 10);
  db.begin();
  db.put_needed(record("a.txt", 1), peer);
  db.set_peer_progress(peer, 1, 11);
  db.commit();
  CHECK(db.peer_progress(peer).second == 11);
  CHECK(db.all_needed().size() == 1);
}
