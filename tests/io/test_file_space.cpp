// The files of transfers and uploads on disk (io::disk_space) and in memory (io::memory_space,
// the actor tests' twin): the same contract checked on both. A difference is a bug in the twin.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "io/file_space.hpp"
#include "io/folder.hpp"
#include "io/memory_space.hpp"
#include "io/tmp_dir.hpp"

using namespace cascade;
namespace fs = std::filesystem;

namespace {

const std::vector<std::uint8_t> hello = {'h', 'e', 'l', 'l', 'o'};

struct disk_kind {
  std::string root;
  std::unique_ptr<io::folder> folder;
  std::unique_ptr<io::tmp_dir> tmp;
  std::unique_ptr<io::disk_space> space;
  disk_kind() {
    std::string tmpl = (fs::temp_directory_path() / "cascade-space-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    root = tmpl;
    folder = std::make_unique<io::folder>(root);
    tmp = std::make_unique<io::tmp_dir>(root + "/.tmp");
    space = std::make_unique<io::disk_space>(*folder, *tmp);
  }
  ~disk_kind() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  std::string temp_path(const std::string& name) { return tmp->path() + "/" + name; }
  void put(const std::string& rel, const std::vector<std::uint8_t>& bytes) {
    std::ofstream(root + "/" + rel, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
  }
};

struct memory_kind {
  std::unique_ptr<io::memory_space> space = std::make_unique<io::memory_space>();
  std::string temp_path(const std::string& name) { return "/state/tmp/" + name; }
  void put(const std::string& rel, const std::vector<std::uint8_t>& bytes) {
    space->put(rel, bytes, 1);
  }
};

template <class Kind> void contract() {
  Kind k;
  auto& s = *k.space;
  auto p = k.temp_path("0123456789abcdef0123456789abcdef");
  SUBCASE("a temp file is created once; a second create fails with EEXIST") {
    auto f = s.create_temp(p);
    REQUIRE(f);
    errno = 0;
    CHECK(!s.create_temp(p));
    CHECK(errno == EEXIST);
  }
  SUBCASE("what is written is read back, at its offsets, and resize sets the size") {
    auto f = s.create_temp(p);
    REQUIRE(f);
    CHECK(f->write_at(3, hello));
    CHECK(f->identity()->size == 8);
    std::vector<std::uint8_t> out(5);
    CHECK(f->read_at(3, out));
    CHECK(out == hello);
    CHECK(!f->read_at(4, out)); // past the end: a short read is a failure
    CHECK(f->resize(100));
    CHECK(f->identity()->size == 100);
    CHECK(f->identity()->regular);
  }
  SUBCASE("a write moves ctime; reopen finds the same file; remove makes it go") {
    auto f = s.create_temp(p);
    REQUIRE(f);
    auto before = *f->identity();
    CHECK(f->write_at(0, hello));
    auto after = *f->identity();
    CHECK(after.inode == before.inode);
    CHECK(after != before);
    f.reset();
    auto again = s.reopen_temp(p);
    REQUIRE(again);
    std::vector<std::uint8_t> out(5);
    CHECK(again->read_at(0, out));
    CHECK(out == hello);
    again.reset();
    CHECK(s.remove_temp(p));
    errno = 0;
    CHECK(!s.reopen_temp(p));
    CHECK(errno == ENOENT);
  }
  SUBCASE("seal gives mode and mtime") {
    auto f = s.create_temp(p);
    REQUIRE(f);
    CHECK(f->seal(0640, 1'700'000'000'123'456'789) == "");
    CHECK(f->identity()->mtime_ns == 1'700'000'000'123'456'789);
  }
  SUBCASE("a folder file is read; a missing one fails with ENOENT; copy_from copies a range") {
    k.put("a.txt", hello);
    auto in = s.open_read("a.txt");
    REQUIRE(in);
    CHECK(in->identity()->size == 5);
    errno = 0;
    CHECK(!s.open_read("missing"));
    CHECK(errno == ENOENT);
    auto f = s.create_temp(p);
    REQUIRE(f);
    CHECK(f->copy_from(*in, 1, 10, 3));
    std::vector<std::uint8_t> out(3);
    CHECK(f->read_at(10, out));
    CHECK(out == std::vector<std::uint8_t>{'e', 'l', 'l'});
    CHECK(!f->copy_from(*in, 3, 0, 10)); // the source ends early
  }
  SUBCASE("a file opened for reading is not written through") {
    k.put("a.txt", hello);
    auto in = s.open_read("a.txt");
    REQUIRE(in);
    CHECK(!in->write_at(0, hello));
  }
}

} // namespace

TEST_CASE("file space on disk") { contract<disk_kind>(); }
TEST_CASE("file space in memory (the actor tests' twin)") { contract<memory_kind>(); }

TEST_CASE("file space in memory: failed writes say ENOSPC, and work again after") {
  io::memory_space s;
  auto f = s.create_temp("/t/1");
  REQUIRE(f);
  s.fail_writes(true);
  errno = 0;
  CHECK(!f->write_at(0, hello));
  CHECK(errno == ENOSPC);
  CHECK(s.create_temp("/t/2") == nullptr);
  CHECK(f->seal(0644, 0).find("No space left") != std::string::npos);
  s.fail_writes(false);
  CHECK(f->write_at(0, hello));
  CHECK(s.temp("/t/1")->bytes == hello);
}
