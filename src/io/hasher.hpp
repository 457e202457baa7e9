// Hashing: SHA-256 through OpenSSL, and whole files cut into content-defined chunks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/record.hpp"
#include "io/folder.hpp"

namespace cascade::io {

core::sha256_digest sha256(std::span<const std::uint8_t> data);

struct hashed_file {
  local_stat before; // stat when hashing began
  std::vector<core::chunk> chunks;
};

// Reads `rel` and cuts it into chunks. nullopt if the file vanished or changed type while read;
// the caller compares `before` with a fresh stat to see whether it changed during hashing.
std::optional<hashed_file> hash_file(const folder& f, std::string_view rel);

} // namespace cascade::io
