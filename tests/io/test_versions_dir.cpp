// The versions directory against the real file system: a version is the same inode moved (or
// hard-linked), its mtime and mode kept; a symlink planted in either tree is refused, never
// followed; a clean-up leaves no empty directories behind.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/folder.hpp"
#include "io/versions.hpp"

using namespace cascade;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t t0 = 1796458500; // 2026-12-05 08:15:00 UTC

struct scratch {
  std::string dir, root, vdir;
  scratch() {
    std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    t += "/cascade-versions-test-XXXXXX";
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    dir = t;
    root = dir + "/folder";
    vdir = root + "/.cascade/versions";
    fs::create_directories(root + "/.cascade");
  }
  ~scratch() { fs::remove_all(dir); }
  void write(const std::string& rel, const std::string& text) {
    fs::create_directories(fs::path(root + "/" + rel).parent_path());
    std::ofstream(root + "/" + rel) << text;
  }
};

struct ::stat lstat_of(const std::string& p) {
  struct ::stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st;
}

} // namespace

TEST_CASE("versions dir: a deletion moves the file, an overwrite links it; same inode") {
  scratch s;
  s.write("d/r.txt", "old");
  ::chmod((s.root + "/d/r.txt").c_str(), 0640);
  auto before = lstat_of(s.root + "/d/r.txt");
  io::folder f(s.root);
  io::versions_dir v(s.vdir);
  CHECK((lstat_of(s.vdir).st_mode & 0777) == 0700);

  auto linked = v.keep(f, "d/r.txt", t0, true);
  REQUIRE(linked);
  CHECK(*linked == "d/r~20261205-081500.txt");
  CHECK(fs::exists(s.root + "/d/r.txt")); // still in place: the new file is renamed over it
  CHECK(lstat_of(s.vdir + "/" + *linked).st_ino == before.st_ino);

  auto moved = v.keep(f, "d/r.txt", t0, false); // the same second: a second name
  REQUIRE(moved);
  CHECK(*moved == "d/r~20261205-081500-2.txt");
  CHECK_FALSE(fs::exists(s.root + "/d/r.txt"));
  auto after = lstat_of(s.vdir + "/" + *moved);
  CHECK(after.st_ino == before.st_ino);
  CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
  CHECK((after.st_mode & 0777) == 0640);

  auto all = v.list();
  REQUIRE(all.size() == 2);
  CHECK(all[0].size == 3);
  CHECK(all[0].time_s == t0);

  // Nothing to keep: a missing path, a directory, a symlink.
  fs::create_symlink("d", s.root + "/link");
  for (auto rel : {"missing.txt", "d", "link"}) {
    CHECK_FALSE(v.keep(f, rel, t0, false));
    CHECK(errno == 0);
  }

  REQUIRE(v.restore(*moved, f, "back/r.txt"));
  CHECK(lstat_of(s.root + "/back/r.txt").st_ino == before.st_ino);
  REQUIRE(v.remove(*linked));
  CHECK_FALSE(fs::exists(s.vdir + "/d")); // its directory went with the last version in it
  CHECK(v.list().empty());
}

TEST_CASE("versions dir: symlinks planted in the versions tree or the folder are not followed") {
  scratch s;
  fs::create_directories(s.dir + "/outside");
  s.write("d/r.txt", "old");
  io::folder f(s.root);
  io::versions_dir v(s.vdir);
  fs::create_symlink(s.dir + "/outside", s.vdir + "/d"); // versions/d leads outside
  CHECK_FALSE(v.keep(f, "d/r.txt", t0, false));
  CHECK(errno != 0);
  CHECK(fs::exists(s.root + "/d/r.txt")); // nothing moved
  CHECK(fs::is_empty(s.dir + "/outside"));

  fs::remove(s.vdir + "/d");
  fs::rename(s.root + "/d", s.root + "/e");
  fs::create_symlink(s.root + "/e", s.root + "/d"); // the folder's d/ is now a symlink
  CHECK_FALSE(v.keep(f, "d/r.txt", t0, false));
  CHECK(fs::exists(s.root + "/e/r.txt"));
}

TEST_CASE("versions dir: refused when it is a symlink") {
  scratch s;
  fs::create_directories(s.dir + "/elsewhere");
  fs::create_symlink(s.dir + "/elsewhere", s.vdir);
  CHECK_THROWS_AS(io::versions_dir(s.vdir), std::runtime_error);
}
