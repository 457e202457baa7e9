// Files and records for the actor tests: a private temp root, random contents, the record a
// peer would announce for them, devices by a byte.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/chunker.hpp"
#include "core/record.hpp"
#include "io/hasher.hpp"

namespace cascade::test {

inline constexpr std::size_t frame = 1 << 20;

inline std::string make_temp_root() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cascade-actor-XXXXXX").string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

inline core::device_id device(std::uint8_t b) {
  core::device_id d{};
  d.fill(b);
  return d;
}

inline std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed) {
  std::vector<std::uint8_t> v(n);
  std::mt19937_64 rng(seed);
  for (auto& b : v)
    b = static_cast<std::uint8_t>(rng());
  return v;
}

// The record a peer would announce for `data`.
inline core::file_record record_of(const std::vector<std::uint8_t>& data) {
  core::file_record r;
  r.path = "big.bin";
  r.size = data.size();
  r.mode = 0644;
  r.mtime_ns = 1'700'000'000'000'000'000;
  r.version = core::version_vector({{0xA1, 3}});
  for (std::size_t at = 0; at < data.size();) {
    std::span<const std::uint8_t> rest(data.data() + at, data.size() - at);
    auto len = core::next_cut(rest, true);
    r.chunks.push_back({at, static_cast<std::uint32_t>(len), io::sha256(rest.first(len))});
    at += len;
  }
  return r;
}

inline std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

} // namespace cascade::test
