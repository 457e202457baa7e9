#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <string_view>
#include <vector>

#include "builders.hpp"
#include "core/chunker.hpp"

using namespace cascade::core;
using test::random_bytes;

namespace {

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;

// Cuts a whole in-memory file: every window reaches the end of the file, so at_eof holds.
std::vector<std::size_t> chunk_all(const std::vector<std::uint8_t>& data,
                                   const cdc_params& p = {}) {
  std::vector<std::size_t> sizes;
  for (std::size_t pos = 0; pos < data.size();) {
    const std::size_t n = next_cut(std::span(data).subspan(pos), true, p);
    REQUIRE(n > 0);
    sizes.push_back(n);
    pos += n;
  }
  return sizes;
}

// Cuts the way a reader with a max_size buffer would: at_eof only when the file really ends.
std::vector<std::size_t> chunk_streaming(const std::vector<std::uint8_t>& data,
                                         const cdc_params& p = {}) {
  std::vector<std::size_t> sizes;
  for (std::size_t pos = 0; pos < data.size();) {
    const std::size_t avail = std::min(p.max_size, data.size() - pos);
    const bool eof = pos + avail == data.size();
    const std::size_t n = next_cut(std::span(data).subspan(pos, avail), eof, p);
    REQUIRE(n > 0);
    sizes.push_back(n);
    pos += n;
  }
  return sizes;
}

// How many chunks of each content: a multiset of chunk hashes.
std::map<std::size_t, int> chunk_hashes(const std::vector<std::uint8_t>& data,
                                        const std::vector<std::size_t>& sizes) {
  std::map<std::size_t, int> out;
  std::size_t pos = 0;
  for (const std::size_t n : sizes) {
    const std::string_view bytes(reinterpret_cast<const char*>(data.data() + pos), n);
    ++out[std::hash<std::string_view>{}(bytes)];
    pos += n;
  }
  return out;
}

// Chunks of `a` that `b` does not have.
int only_in(const std::map<std::size_t, int>& a, const std::map<std::size_t, int>& b) {
  int n = 0;
  for (const auto& [h, count] : a) {
    const auto it = b.find(h);
    n += std::max(0, count - (it == b.end() ? 0 : it->second));
  }
  return n;
}

} // namespace

TEST_CASE("chunker: empty and tiny inputs at the end of a file") {
  std::vector<std::uint8_t> none;
  CHECK(next_cut(none, true) == 0);
  const auto data = random_bytes(100 * KiB, 1);
  for (const std::size_t n : {std::size_t{1}, std::size_t{2}, 31 * KiB, 32 * KiB}) {
    CAPTURE(n);
    CHECK(next_cut(std::span(data).first(n), true) == n); // at or below min_size: one chunk
  }
}

TEST_CASE("chunker: at_eof lets the last chunk be short but never cuts beyond the data") {
  const auto data = random_bytes(2 * MiB, 2);
  for (const std::size_t n : {33 * KiB, 100 * KiB, 200 * KiB, 511 * KiB, 512 * KiB}) {
    CAPTURE(n);
    const std::size_t cut = next_cut(std::span(data).first(n), true);
    CHECK(cut >= 32 * KiB);
    CHECK(cut <= n);
  }
  // With more than max_size at hand the answer is the same whether or not the file ends there.
  for (std::size_t pos = 0; pos + 600 * KiB < data.size(); pos += 97 * KiB) {
    const auto window = std::span(data).subspan(pos, 600 * KiB);
    CHECK(next_cut(window, true) == next_cut(window, false));
    CHECK(next_cut(window, false) == next_cut(std::span(data).subspan(pos), false));
  }
}

TEST_CASE("chunker: sizes stay within min and max") {
  const cdc_params p;
  for (const std::uint64_t seed : {3u, 4u, 5u}) {
    const auto data = random_bytes(8 * MiB + 12345, seed);
    const auto sizes = chunk_all(data);
    std::size_t total = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      CHECK(sizes[i] <= p.max_size);
      if (i + 1 < sizes.size())
        CHECK(sizes[i] >= p.min_size);
      total += sizes[i];
    }
    CHECK(total == data.size());
  }
  // Data with no entropy never finds a cut point: every chunk is exactly max_size.
  const std::vector<std::uint8_t> zeros(3 * MiB, 0);
  const auto sizes = chunk_all(zeros);
  CHECK(sizes.size() == 6);
  for (const std::size_t s : sizes)
    CHECK(s == p.max_size);
}

TEST_CASE("chunker: custom parameters are honoured") {
  const cdc_params p{256, 1024, 4096};
  const auto data = random_bytes(4 * MiB, 6);
  const auto sizes = chunk_all(data, p);
  std::size_t total = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    CHECK(sizes[i] <= 4096);
    if (i + 1 < sizes.size())
      CHECK(sizes[i] >= 256);
    total += sizes[i];
  }
  CHECK(total == data.size());
  const double avg = static_cast<double>(data.size()) / static_cast<double>(sizes.size());
  CHECK(avg > 1024 * 0.6);
  CHECK(avg < 1024 * 1.4);
}

TEST_CASE("chunker: deterministic, and independent of how the caller buffers") {
  const auto data = random_bytes(6 * MiB + 777, 7);
  const auto a = chunk_all(data);
  const auto b = chunk_all(data);
  CHECK(a == b);
  CHECK(chunk_streaming(data) == a);
  // A copy of the same bytes at another address cuts the same.
  const std::vector<std::uint8_t> copy(data);
  CHECK(chunk_all(copy) == a);
  // Different bytes cut differently.
  CHECK(chunk_all(random_bytes(6 * MiB + 777, 8)) != a);
}

TEST_CASE("chunker: the cut points are pinned (peers must agree across versions)") {
  // If this fails the gear table, masks or loop changed: every existing chunk list would stop
  // matching. Update only with a protocol version bump.
  const auto data = random_bytes(2 * MiB, 42);
  const std::vector<std::size_t> pinned = {106941, 184685, 161077, 172157, 136321,
                                           171985, 289244, 156186, 151363, 181516,
                                           52383,  164070, 48136,  35502,  85586};
  CHECK(chunk_all(data) == pinned);
}

TEST_CASE("chunker: average chunk size is near 128 KiB on random data") {
  const auto data = random_bytes(32 * MiB, 9);
  const auto sizes = chunk_all(data);
  const double avg = static_cast<double>(data.size()) / static_cast<double>(sizes.size());
  MESSAGE("average chunk size: ", avg / KiB, " KiB over ", sizes.size(), " chunks");
  CHECK(avg > 128 * KiB * 0.6);
  CHECK(avg < 128 * KiB * 1.4);
}

TEST_CASE("chunker: 1 KiB inserted in the middle changes only nearby chunks") {
  const auto original = random_bytes(8 * MiB, 10);
  const auto insert = random_bytes(KiB, 11);
  for (const std::size_t at : {4 * MiB, 4 * MiB + 12345, 1 * MiB + 3}) {
    CAPTURE(at);
    std::vector<std::uint8_t> edited(original.begin(), original.begin() + static_cast<long>(at));
    edited.insert(edited.end(), insert.begin(), insert.end());
    edited.insert(edited.end(), original.begin() + static_cast<long>(at), original.end());
    const auto before = chunk_hashes(original, chunk_all(original));
    const auto after = chunk_hashes(edited, chunk_all(edited));
    const int added = only_in(after, before);
    const int removed = only_in(before, after);
    CAPTURE(added);
    CAPTURE(removed);
    CHECK(added >= 1);
    CHECK(added <= 3);
    CHECK(removed >= 1);
    CHECK(removed <= 3);
  }
}

TEST_CASE("chunker: overwriting bytes in place changes only nearby chunks") {
  const auto original = random_bytes(8 * MiB, 12);
  auto edited = original;
  for (std::size_t i = 0; i < 4 * KiB; ++i)
    edited[5 * MiB + i] ^= 0x5a;
  const auto before = chunk_hashes(original, chunk_all(original));
  const auto after = chunk_hashes(edited, chunk_all(edited));
  CHECK(only_in(after, before) <= 3);
  CHECK(only_in(before, after) <= 3);
}
