#include "core/device_id.hpp"

namespace cascade::core {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::size_t id_chars = 52; // ceil(256 / 5)
constexpr std::size_t group_size = 7;

// Value of a base32 character (either case), or -1.
int digit_of(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a';
  if (c >= '2' && c <= '7')
    return c - '2' + 26;
  return -1;
}

// Luhn mod N over base32 digits (the Wikipedia "Luhn mod N" algorithm): catches every single
// character typo and most transpositions of adjacent characters when a user types an id.
char luhn32(std::string_view digits) {
  constexpr int n = 32;
  int factor = 2;
  int sum = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int addend = factor * digit_of(*it);
    factor = factor == 2 ? 1 : 2;
    addend = addend / n + addend % n;
    sum += addend;
  }
  return alphabet[static_cast<std::size_t>((n - sum % n) % n)];
}

} // namespace

std::string base32_encode(const std::uint8_t* data, std::size_t len) {
  std::string out;
  out.reserve((len * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < len; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(buffer >> bits) & 31];
    }
  }
  if (bits > 0)
    out += alphabet[(buffer << (5 - bits)) & 31]; // pad the last group with zero bits
  return out;
}

std::optional<std::string> base32_decode(std::string_view text) {
  // 1, 3 and 6 trailing characters cannot come from whole bytes.
  const std::size_t tail = text.size() % 8;
  if (tail == 1 || tail == 3 || tail == 6)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const int d = digit_of(c);
    if (d < 0)
      return std::nullopt;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(d);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  // Padding bits must be zero so every byte string has exactly one text form.
  if ((buffer & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

std::string format_device_id(const device_id& id) {
  std::string digits = base32_encode(id.data(), id.size());
  digits += luhn32(digits);
  std::string out;
  out.reserve(digits.size() + digits.size() / group_size);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && i % group_size == 0)
      out += '-';
    out += digits[i];
  }
  return out;
}

std::optional<device_id> parse_device_id(std::string_view text) {
  std::string digits;
  digits.reserve(id_chars + 1);
  for (const char c : text) {
    if (c == '-')
      continue; // groups are for humans; accept them anywhere or not at all
    const int d = digit_of(c);
    if (d < 0 || digits.size() > id_chars)
      return std::nullopt;
    digits += alphabet[static_cast<std::size_t>(d)]; // canonical upper case
  }
  if (digits.size() != id_chars + 1)
    return std::nullopt;
  const std::string_view body = std::string_view(digits).substr(0, id_chars);
  if (luhn32(body) != digits.back())
    return std::nullopt;
  const auto bytes = base32_decode(body);
  if (!bytes || bytes->size() != 32)
    return std::nullopt;
  device_id id{};
  for (std::size_t i = 0; i < id.size(); ++i)
    id[i] = static_cast<std::uint8_t>((*bytes)[i]);
  return id;
}

short_id short_of(const device_id& id) {
  short_id s = 0;
  for (std::size_t i = 0; i < 8; ++i)
    s = (s << 8) | id[i];
  return s;
}

std::string format_short_id(short_id s) {
  std::uint8_t bytes[8];
  for (int i = 7; i >= 0; --i, s >>= 8)
    bytes[i] = static_cast<std::uint8_t>(s & 0xff);
  return base32_encode(bytes, sizeof bytes); // 13 characters, the first 7 match the device id
}

} // namespace cascade::core
