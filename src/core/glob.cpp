// A port of SQLite's patternCompare (func.c) for GLOB: the same answers, not just similar ones,
// so a test over the in-memory store finds what the database would.
#include "core/glob.hpp"

#include <cstddef>

namespace cascade::core {

namespace {

// The next character as SQLite reads it (sqlite3Utf8Read): 0 at the end; a malformed sequence
// (an overlong form, a surrogate) reads as U+FFFD, a stray continuation byte as itself.
char32_t read(std::string_view s, std::size_t& i) {
  if (i >= s.size())
    return 0;
  char32_t c = static_cast<unsigned char>(s[i++]);
  if (c < 0xc0)
    return c;
  static constexpr unsigned char lead_bits[] = {
      0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
      0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
      0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
      0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x00, 0x01, 0x02, 0x03,
      0x04, 0x05, 0x06, 0x07, 0x00, 0x01, 0x02, 0x03, 0x00, 0x01, 0x00, 0x00};
  c = lead_bits[c - 0xc0];
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xc0) == 0x80)
    c = (c << 6) + (0x3f & static_cast<unsigned char>(s[i++]));
  if (c < 0x80 || (c & 0xfffff800) == 0xd800 || (c & 0xfffffffe) == 0xfffe)
    c = 0xfffd;
  return c;
}

enum class result { match, no_match, no_wildcard_match };

result compare(std::string_view p, std::size_t pi, std::string_view s, std::size_t si) {
  char32_t c;
  while ((c = read(p, pi)) != 0) {
    if (c == '*') {
      // Runs of '*' and '?' after it: each '?' takes one character.
      while ((c = read(p, pi)) == '*' || c == '?')
        if (c == '?' && read(s, si) == 0)
          return result::no_wildcard_match;
      if (c == 0)
        return result::match; // a '*' at the end matches the rest
      if (c == '[') {         // a set right after '*': try it at every position
        std::size_t set = pi - 1;
        while (si < s.size()) {
          auto r = compare(p, set, s, si);
          if (r != result::no_match)
            return r;
          read(s, si);
        }
        return result::no_wildcard_match;
      }
      char32_t c2;
      while ((c2 = read(s, si)) != 0) {
        if (c2 != c)
          continue;
        auto r = compare(p, pi, s, si);
        if (r != result::no_match)
          return r;
      }
      return result::no_wildcard_match;
    }
    if (c == '[') {
      char32_t ch = read(s, si);
      if (ch == 0)
        return result::no_match;
      char32_t prior = 0;
      bool seen = false, invert = false;
      char32_t c2 = read(p, pi);
      if (c2 == '^') {
        invert = true;
        c2 = read(p, pi);
      }
      if (c2 == ']') {
        seen = ch == ']';
        c2 = read(p, pi);
      }
      while (c2 != 0 && c2 != ']') {
        if (c2 == '-' && pi < p.size() && p[pi] != ']' && prior > 0) {
          c2 = read(p, pi);
          if (ch >= prior && ch <= c2)
            seen = true;
          prior = 0;
        } else {
          if (ch == c2)
            seen = true;
          prior = c2;
        }
        c2 = read(p, pi);
      }
      if (c2 == 0 || seen == invert)
        return result::no_match;
      continue;
    }
    char32_t c2 = read(s, si);
    if (c == c2)
      continue;
    if (c != '?' || c2 == 0)
      return result::no_match;
  }
  return si >= s.size() ? result::match : result::no_match;
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  return compare(pattern, 0, text, 0) == result::match;
}

} // namespace cascade::core
