#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/chunker.hpp"
#include "io/folder.hpp"
#include "io/hasher.hpp"

using namespace cascade;

namespace {

// A private directory under $TMPDIR (or /tmp), removed with its files at the end.
struct scratch {
  std::string dir;
  std::vector<std::string> files;
  scratch() {
    std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    t += "/cascade-io-test-XXXXXX";
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    dir = t;
  }
  ~scratch() {
    for (auto& f : files)
      ::unlink((dir + "/" + f).c_str());
    ::rmdir(dir.c_str());
  }
  std::vector<std::uint8_t> put(const std::string& name, std::size_t size, unsigned seed) {
    std::vector<std::uint8_t> data(size);
    std::mt19937_64 rng(seed);
    for (auto& b : data)
      b = static_cast<std::uint8_t>(rng());
    std::ofstream(dir + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(size));
    files.push_back(name);
    return data;
  }
};

// The chunks of `data` cut and hashed in memory, one thread.
std::vector<core::chunk> expected(const std::vector<std::uint8_t>& data) {
  std::vector<core::chunk> out;
  std::size_t at = 0;
  while (at < data.size()) {
    std::span<const std::uint8_t> rest(data.data() + at, data.size() - at);
    auto len = core::next_cut(rest, true);
    out.push_back({at, static_cast<std::uint32_t>(len), io::sha256(rest.first(len))});
    at += len;
  }
  return out;
}

} // namespace

TEST_CASE("hash_file: the chunks of files small and large match chunking in memory") {
  scratch s;
  io::folder f(s.dir);
  // 40 MiB is hashed on two threads (above 16 MiB), the others on one; 4 MiB + 1 needs a
  // second window fill.
  for (auto [name, size] : std::vector<std::pair<std::string, std::size_t>>{
           {"empty", 0}, {"small", 100 * 1024 + 7}, {"window", (4 << 20) + 1}, {"big", 40 << 20},
           {"big_odd", (16 << 20) + 4097}}) {
    CAPTURE(name);
    auto data = s.put(name, size, static_cast<unsigned>(size));
    auto h = io::hash_file(f, name);
    REQUIRE(h);
    CHECK(h->before.size == size);
    auto want = expected(data);
    REQUIRE(h->chunks.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      CAPTURE(i);
      CHECK(h->chunks[i] == want[i]);
    }
  }
}

TEST_CASE("hash_file: a missing file or a directory gives nothing") {
  scratch s;
  io::folder f(s.dir);
  CHECK_FALSE(io::hash_file(f, "missing"));
  CHECK_FALSE(io::hash_file(f, ""));
}
