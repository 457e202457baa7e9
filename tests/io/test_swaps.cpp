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
#include <stdexcept>
#include <string>

#include "io/folder.hpp"
#include "io/tmp_dir.hpp"

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

TEST_CASE("rename_into replaces a symlink at the name, never its target") {
  swap_scratch s;
  io::folder f(s.root);
  io::tmp_dir t(s.dir + "/tmp");
  auto p = t.new_path();
  REQUIRE(t.create(p));
  s.link(s.out_file, "f");
  CHECK(f.rename_into(t.fd(), t.name_of(p), "f"));
  auto st = f.stat("f");
  REQUIRE(st);
  CHECK(st->type == core::file_type::file);
  s.check_outside();
}

TEST_CASE("temp files: unpredictable names, created only where nothing is") {
  swap_scratch s;
  io::tmp_dir t(s.dir + "/tmp");
  auto a = t.new_path(), b = t.new_path();
  CHECK(a != b);
  CHECK(t.name_of(a).size() == 32);
  CHECK(t.name_of(s.dir + "/elsewhere").empty());
  CHECK(t.name_of(t.path() + "/../x").empty());

  REQUIRE(t.create(a));
  errno = 0;
  CHECK_FALSE(t.create(a)); // exists
  CHECK(errno == EEXIST);
  REQUIRE(::symlink(s.out_file.c_str(), b.c_str()) == 0);
  CHECK_FALSE(t.create(b)); // a symlink at the name: neither followed nor truncated
  CHECK_FALSE(t.reopen(b));
  CHECK(errno == ELOOP);
  CHECK(t.reopen(a)); // a resume of our own file

  auto c = t.new_path(); // a second link to a file: not ours alone
  REQUIRE(::link(a.c_str(), c.c_str()) == 0);
  CHECK_FALSE(t.reopen(c));
  s.check_outside();
}

TEST_CASE("clean-up removes files and links, never a link's target") {
  swap_scratch s;
  io::tmp_dir t(s.dir + "/tmp");
  REQUIRE(t.create(t.new_path()));
  REQUIRE(::symlink(s.out_file.c_str(), t.new_path().c_str()) == 0);
  REQUIRE(::symlink(s.out_dir.c_str(), t.new_path().c_str()) == 0);
  CHECK(t.clean() == 3);
  CHECK(fs::is_empty(t.path()));
  s.check_outside();
}

TEST_CASE("a temp directory that is a symlink, a file or someone else's is refused") {
  swap_scratch s;
  auto tmp = s.dir + "/tmp";
  REQUIRE(::symlink(s.out_dir.c_str(), tmp.c_str()) == 0);
  CHECK_THROWS_WITH_AS(io::tmp_dir{tmp}, doctest::Contains("is a symlink"), std::runtime_error);
  ::unlink(tmp.c_str());
  std::ofstream(tmp) << "x";
  CHECK_THROWS_WITH_AS(io::tmp_dir{tmp}, doctest::Contains("not a directory"), std::runtime_error);
  ::unlink(tmp.c_str());
  REQUIRE(::mkdir(tmp.c_str(), 0755) == 0);
  if (::geteuid() == 0) {
    REQUIRE(::chown(tmp.c_str(), 65534, 65534) == 0);
    CHECK_THROWS_WITH_AS(io::tmp_dir{tmp}, doctest::Contains("belongs to uid 65534"),
                         std::runtime_error);
    REQUIRE(::chown(tmp.c_str(), 0, 0) == 0);
  }
  io::tmp_dir ok(tmp); // ours: accepted and made private
  struct stat st {};
  REQUIRE(::stat(tmp.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  s.check_outside();
}
