// Names a local user swaps for symlinks: the folder and the temp directory refuse to follow them,
// and nothing outside is touched.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/folder.hpp"

using namespace cascade;
namespace fs = std::filesystem;

namespace {

// A scratch directory with `folder/` (synced) and `outside/` holding a 0700 directory (with a
// 0700 `inner/`) and a 0600 file with known mtimes: the targets an attacker's symlinks point to.
struct swap_scratch {
  std::string dir, root, out_dir, out_file;
  swap_scratch() {
    std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    t += "/cascade-swap-test-XXXXXX";
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    dir = t;
    root = dir + "/folder";
    out_dir = dir + "/outside/secret";
    out_file = dir + "/outside/secret.txt";
    fs::create_directories(root);
    fs::create_directories(out_dir + "/inner");
    std::ofstream(out_file) << "secret";
    ::chmod(out_dir.c_str(), 0700);
    ::chmod((out_dir + "/inner").c_str(), 0700);
    ::chmod(out_file.c_str(), 0600);
    timespec ts[2] = {{1000, 0}, {1000, 0}};
    ::utimensat(AT_FDCWD, out_dir.c_str(), ts, 0);
    ::utimensat(AT_FDCWD, out_file.c_str(), ts, 0);
  }
  ~swap_scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec); // never follows symlinks
  }
  void link(const std::string& target, const std::string& rel) {
    REQUIRE(::symlink(target.c_str(), (root + "/" + rel).c_str()) == 0);
  }
  // The targets are as they were made.
  void check_outside() {
    struct stat d {
    }, f{};
    REQUIRE(::stat(out_dir.c_str(), &d) == 0);
    REQUIRE(::stat(out_file.c_str(), &f) == 0);
    CHECK((d.st_mode & 07777) == 0700);
    CHECK((f.st_mode & 07777) == 0600);
    CHECK(d.st_mtim.tv_sec == 1000);
    CHECK(f.st_mtim.tv_sec == 1000);
    std::string content;
    std::ifstream(out_file) >> content;
    CHECK(content == "secret");
  }
};

} // namespace

TEST_CASE("set_mode and set_times refuse a symlink at the name or above it") {
  swap_scratch s;
  io::folder f(s.root);
  s.link(s.out_dir, "d");
  s.link(s.out_file, "f");
  for (auto* rel : {"d", "f", "d/inner"}) {
    CAPTURE(rel);
    errno = 0;
    CHECK_FALSE(f.set_mode(rel, 0777));
    CHECK(errno == ELOOP);
    CHECK_FALSE(f.set_times(rel, 5'000'000'000));
    CHECK(errno == ELOOP);
  }
  struct stat inner {};
  REQUIRE(::stat((s.out_dir + "/inner").c_str(), &inner) == 0);
  CHECK((inner.st_mode & 07777) == 0700);
  CHECK_FALSE(f.make_dirs("d/new", 0777)); // a parent swapped for a symlink is not entered
  CHECK_FALSE(fs::exists(s.out_dir + "/new"));
  s.check_outside();
}

TEST_CASE("set_mode and set_times change a real directory and file") {
  swap_scratch s;
  io::folder f(s.root);
  REQUIRE(f.make_dirs("a/b", 0700));
  std::ofstream(s.root + "/a/b/x") << "x";
  CHECK(f.set_mode("a/b", 0751));
  CHECK(f.set_mode("a/b/x", 0640));
  CHECK(f.set_times("a/b/x", 7'000'000'123));
  auto d = f.stat("a/b");
  auto x = f.stat("a/b/x");
  REQUIRE(d);
  REQUIRE(x);
  CHECK(d->mode == 0751);
  CHECK(x->mode == 0640);
  CHECK(x->mtime_ns == 7'000'000'123);
}
