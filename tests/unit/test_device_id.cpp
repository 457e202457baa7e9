#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "core/device_id.hpp"

using namespace cascade::core;

namespace {

device_id sequence_id() {
  device_id id{};
  for (std::size_t i = 0; i < id.size(); ++i)
    id[i] = static_cast<std::uint8_t>(i);
  return id;
}

device_id filled(std::uint8_t v) {
  device_id id{};
  id.fill(v);
  return id;
}

std::string b32(std::string_view bytes) {
  return base32_encode(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

} // namespace

TEST_CASE("device_id: base32 follows RFC 4648 without padding") {
  // RFC 4648 section 10 test vectors, padding removed.
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},
      {"f", "MY"},
      {"fo", "MZXQ"},
      {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI"},
  };
  for (const auto& v : vectors) {
    const std::string& plain = v.first;
    const std::string& coded = v.second;
    CAPTURE(plain);
    CHECK(b32(plain) == coded);
    CHECK(base32_decode(coded) == plain);
    std::string lower = coded;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    CHECK(base32_decode(lower) == plain);
  }
}

TEST_CASE("device_id: base32_decode rejects what encode never produces") {
  for (const char* bad : {"M", "MZX", "MZXW6Y", "MZ", "MZXR", "MZXW7", "MY=", "MY==", "M1", "M0",
                          "M8", "MZ XQ", "MZ-XQ", "\xc3\xa9\xc3\xa9"}) {
    CAPTURE(bad);
    CHECK_FALSE(base32_decode(bad).has_value());
  }
}

TEST_CASE("device_id: base32 round-trips every length and byte") {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    CHECK(base32_decode(b32(bytes)) == bytes);
    bytes += static_cast<char>(i * 131 + 7);
  }
}

TEST_CASE("device_id: format is 52 characters, a check character, groups of 7") {
  const std::vector<std::pair<device_id, std::string>> golden = {
      {filled(0), "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAA"},
      {sequence_id(), "AAAQEAY-EAUDAOC-AJBIFQY-DIOB4IB-CEQTCQK-RMFYYDE-NBWHA5D-YPQB"},
      {filled(0xff), "7777777-7777777-7777777-7777777-7777777-7777777-7777777-77QS"},
  };
  for (const auto& g : golden) {
    const device_id& id = g.first;
    const std::string& text = g.second;
    CAPTURE(text);
    const std::string f = format_device_id(id);
    CHECK(f == text);
    CHECK(f.size() == 60);
    for (std::size_t i = 7; i < f.size(); i += 8)
      CHECK(f[i] == '-');
    CHECK(std::count(f.begin(), f.end(), '-') == 7);
  }
}

TEST_CASE("device_id: parse accepts grouped, ungrouped and lower case") {
  const device_id id = sequence_id();
  const std::string grouped = format_device_id(id);
  std::string plain = grouped;
  std::erase(plain, '-');
  std::string lower = grouped;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const std::string& text : {grouped, plain, lower}) {
    CAPTURE(text);
    const auto parsed = parse_device_id(text);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == id);
  }
}

TEST_CASE("device_id: parse rejects every single-character typo") {
  const device_id id = sequence_id();
  std::string plain = format_device_id(id);
  std::erase(plain, '-');
  REQUIRE(plain.size() == 53);
  int rejected = 0;
  for (std::size_t pos = 0; pos < plain.size(); ++pos) {
    for (const char c : alphabet) {
      if (c == plain[pos])
        continue;
      std::string typo = plain;
      typo[pos] = c;
      CAPTURE(typo);
      CHECK_FALSE(parse_device_id(typo).has_value());
      ++rejected;
    }
  }
  CHECK(rejected == 53 * 31);
}

TEST_CASE("device_id: parse rejects malformed text") {
  std::string plain = format_device_id(sequence_id());
  std::erase(plain, '-');
  for (const std::string& bad : {
           std::string(),
           plain.substr(0, 52),       // check character missing
           plain + "A",               // one too many
           plain.substr(0, 52) + "0", // '0' is not base32
           plain.substr(0, 10) + " " + plain.substr(10),
           std::string(53, '1'),
       }) {
    CAPTURE(bad);
    CHECK_FALSE(parse_device_id(bad).has_value());
  }
  // Non-zero padding bits in the 52nd character: not the form format_device_id produces.
  // 'AAAB' as the last group with a matching check character would still be rejected by decode.
  std::string body(51, 'A');
  body += 'B'; // 260 bits, the 4 padding bits would be 0001
  bool any_valid = false;
  for (const char check : alphabet)
    any_valid |= parse_device_id(body + check).has_value();
  CHECK_FALSE(any_valid);
}

TEST_CASE("device_id: round-trips many ids") {
  device_id id{};
  for (int n = 0; n < 200; ++n) {
    for (std::size_t i = 0; i < id.size(); ++i)
      id[i] = static_cast<std::uint8_t>(id[i] * 73 + i + static_cast<std::size_t>(n));
    const auto back = parse_device_id(format_device_id(id));
    REQUIRE(back.has_value());
    CHECK(*back == id);
  }
}

TEST_CASE("device_id: short ids are the first 8 bytes, big endian") {
  CHECK(short_of(sequence_id()) == 0x0001020304050607ULL);
  CHECK(short_of(filled(0xff)) == 0xffffffffffffffffULL);
  CHECK(short_of(filled(0)) == 0);
  device_id id{};
  id[0] = 0x80;
  id[8] = 0xff; // beyond the short id
  CHECK(short_of(id) == 0x8000000000000000ULL);
}

TEST_CASE("device_id: format_short_id is 13 base32 characters") {
  CHECK(format_short_id(0) == "AAAAAAAAAAAAA");
  CHECK(format_short_id(0x0123456789abcdefULL) == "AERUKZ4JVPG66");
  CHECK(format_short_id(0xffffffffffffffffULL) == "7777777777776"); // last bit is padding
  // It starts like the device id it came from, so logs and conflict names are recognisable.
  for (const device_id& id : {sequence_id(), filled(0xab), filled(0x5c)}) {
    const std::string s = format_short_id(short_of(id));
    CHECK(s.size() == 13);
    CHECK(format_device_id(id).substr(0, 7) == s.substr(0, 7));
    std::string plain = format_device_id(id);
    std::erase(plain, '-');
    CHECK(plain.substr(0, 12) == s.substr(0, 12)); // 60 bits in common
  }
}
