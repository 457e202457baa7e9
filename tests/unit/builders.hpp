// Compact builders for test state: single-letter devices, version vectors from "A:1,B:2", records
// from a vector and a few fields, so a table row reads like the situation it describes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.hpp"
#include "core/version_vector.hpp"

namespace test {

using namespace cascade::core;

// Device 'A' < 'B' < ...: the short id grows with the letter, so "larger modified_by" is "later
// letter".
inline short_id dev(char c) {
  return short_id{0x1000'0000'0000'0000} + static_cast<unsigned char>(c);
}

// "A:1,B:2" -> {dev('A'):1, dev('B'):2}; "" -> empty.
inline version_vector vv(std::string_view text) {
  std::vector<version_vector::entry> entries;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t comma = std::min(text.find(',', i), text.size());
    const std::string_view item = text.substr(i, comma - i);
    entries.emplace_back(dev(item[0]), std::stoull(std::string(item.substr(2))));
    i = comma + 1;
  }
  return version_vector(std::move(entries));
}

inline sha256_digest digest_of(std::string_view content) {
  sha256_digest d{};
  for (std::size_t i = 0; i < content.size(); ++i)
    d[i % d.size()] = static_cast<std::uint8_t>(d[i % d.size()] * 31 + content[i]);
  d[31] = static_cast<std::uint8_t>(content.size());
  return d;
}

// A file whose bytes are `content`, one chunk per '|'-separated part ("" is an empty file).
inline file_record file(std::string_view version, std::int64_t mtime = 100, char by = 'A',
                        std::string_view content = "x", std::string path = "f.txt") {
  file_record r;
  r.path = std::move(path);
  r.type = file_type::file;
  r.mtime_ns = mtime;
  r.mode = 0644;
  r.version = vv(version);
  r.modified_by = dev(by);
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < content.size();) {
    const std::size_t bar = std::min(content.find('|', i), content.size());
    const std::string_view part = content.substr(i, bar - i);
    r.chunks.push_back({offset, static_cast<std::uint32_t>(part.size()), digest_of(part)});
    offset += part.size();
    i = bar + 1;
  }
  r.size = offset;
  return r;
}

inline file_record deleted(std::string_view version, std::int64_t mtime = 100, char by = 'A',
                           std::string path = "f.txt") {
  file_record r;
  r.path = std::move(path);
  r.deleted = true;
  r.mtime_ns = mtime;
  r.version = vv(version);
  r.modified_by = dev(by);
  return r;
}

inline file_record dir(std::string_view version, std::int64_t mtime = 100, char by = 'A',
                       std::uint32_t mode = 0755) {
  file_record r;
  r.path = "d";
  r.type = file_type::dir;
  r.mtime_ns = mtime;
  r.mode = mode;
  r.version = vv(version);
  r.modified_by = dev(by);
  return r;
}

inline file_record symlink(std::string_view version, std::string target, std::int64_t mtime = 100,
                           char by = 'A') {
  file_record r;
  r.path = "l";
  r.type = file_type::symlink;
  r.mtime_ns = mtime;
  r.symlink_target = std::move(target);
  r.version = vv(version);
  r.modified_by = dev(by);
  return r;
}

// The names `name` gives an enum's values from 0 to `last`, in order.
template <class E, class Name> std::vector<std::string> enum_names(E last, Name name) {
  std::vector<std::string> out;
  for (int i = 0; i <= static_cast<int>(last); ++i)
    out.emplace_back(name(static_cast<E>(i)));
  return out;
}

// True if every name is a real one ("unknown" is a name function's fallback) and no two agree.
inline bool distinct_names(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return std::adjacent_find(names.begin(), names.end()) == names.end() &&
         !std::binary_search(names.begin(), names.end(), "unknown");
}

// Deterministic pseudo-random bytes (splitmix64), for chunker tests.
inline std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed) {
  std::vector<std::uint8_t> out(n);
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (std::size_t k = 0; k < 8 && i + k < n; ++k)
      out[i + k] = static_cast<std::uint8_t>(z >> (8 * k));
  }
  return out;
}

} // namespace test
