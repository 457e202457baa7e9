// io::copy_range: bytes copied inside the kernel land exactly where asked, and a source that
// ends early is an error, not a short success.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "io/copy_range.hpp"

using namespace cascade;

TEST_CASE("copy_range: a run lands at its offset; a short source fails") {
  std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  t += "/cascade-copy-test-XXXXXX";
  REQUIRE(::mkdtemp(t.data()) != nullptr);
  std::vector<char> data(3 << 20);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 31 + i / 4096);
  int in = ::open((t + "/in").c_str(), O_RDWR | O_CREAT, 0600);
  int out = ::open((t + "/out").c_str(), O_RDWR | O_CREAT, 0600);
  REQUIRE(in >= 0);
  REQUIRE(out >= 0);
  REQUIRE(::pwrite(in, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()));
  REQUIRE(::ftruncate(out, 4 << 20) == 0);

  CHECK(io::copy_range(in, 1000, out, (1 << 20) + 7, (2 << 20) - 1000));
  std::vector<char> got((2 << 20) - 1000);
  REQUIRE(::pread(out, got.data(), got.size(), (1 << 20) + 7) == static_cast<ssize_t>(got.size()));
  CHECK(std::equal(got.begin(), got.end(), data.begin() + 1000));
  char before = 1;
  REQUIRE(::pread(out, &before, 1, (1 << 20) + 6) == 1);
  CHECK(before == 0); // nothing written before the target offset

  CHECK_FALSE(io::copy_range(in, (3 << 20) - 10, out, 0, 100)); // only 10 bytes left
  ::close(in);
  ::close(out);
  std::filesystem::remove_all(t);
}
