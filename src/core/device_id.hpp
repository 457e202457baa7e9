// Device ids: 32 bytes shown as base32 (RFC 4648 alphabet, no padding) in groups, with a check
// character, e.g. "ABCDEFG-HIJKLMN-...-X". The short id (first 8 bytes, big endian) names the
// device inside version vectors.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/version_vector.hpp"

namespace cascade::core {

using device_id = std::array<std::uint8_t, 32>;

// 52 base32 characters + 1 check character (Luhn mod 32), grouped by 7 with '-'.
std::string format_device_id(const device_id& id);

// Accepts the grouped or ungrouped form, any case; rejects a wrong check character.
std::optional<device_id> parse_device_id(std::string_view text);

short_id short_of(const device_id& id);

// A short id as 13 base32 characters (for logs and conflict names).
std::string format_short_id(short_id s);

// Base32 helpers (RFC 4648 alphabet, no padding), used for keys too.
std::string base32_encode(const std::uint8_t* data, std::size_t len);
std::optional<std::string> base32_decode(std::string_view text);

} // namespace cascade::core
