#include "core/path.hpp"

#include <cstddef>
#include <cstdint>

namespace cascade::core {
namespace {

constexpr std::size_t max_component = 255; // NAME_MAX on Linux
constexpr std::size_t max_path = 4095;     // PATH_MAX minus the terminating NUL

// Length of the UTF-8 sequence starting at s[i], or 0 if it is invalid. Rejects overlong forms
// (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points above U+10FFFF (F4 90..,
// F5..FF), so a name has exactly one byte form and cannot smuggle a '/' or '.' in disguise.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t b0 = at(i);
  if (b0 < 0x80)
    return 1;
  std::size_t len = 0;
  std::uint8_t lo = 0x80, hi = 0xbf; // allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 == 0xe0)
      lo = 0xa0; // overlong
    if (b0 == 0xed)
      hi = 0x9f; // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 == 0xf0)
      lo = 0x90; // overlong
    if (b0 == 0xf4)
      hi = 0x8f; // above U+10FFFF
  } else {
    return 0; // continuation byte, C0/C1 overlong lead, or F5..FF
  }
  if (s.size() - i < len)
    return 0;
  if (at(i + 1) < lo || at(i + 1) > hi)
    return 0;
  for (std::size_t k = 2; k < len; ++k)
    if ((at(i + k) & 0xc0) != 0x80)
      return 0;
  return len;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

} // namespace

std::string_view describe(path_error e) {
  switch (e) {
  case path_error::ok:
    return "is a valid path";
  case path_error::empty:
    return "is empty or has an empty component";
  case path_error::absolute:
    return "is absolute";
  case path_error::dot_component:
    return "has a '.' or '..' component";
  case path_error::control_char:
    return "contains a control character";
  case path_error::backslash:
    return "contains a backslash";
  case path_error::not_utf8:
    return "is not valid UTF-8";
  case path_error::internal:
    return "lies inside the .cascade state directory";
  case path_error::too_long:
    return "is too long (a component over 255 bytes or the path over 4095 bytes)";
  }
  return "is invalid";
}

path_error validate_path(std::string_view p) {
  if (p.empty())
    return path_error::empty;
  if (p.front() == '/')
    return path_error::absolute;
  if (p.size() > max_path)
    return path_error::too_long;
  // Byte checks first: they are cheap and make the UTF-8 check below see no ASCII surprises.
  for (const char c : p) {
    const auto b = static_cast<std::uint8_t>(c);
    if (b < 0x20 || b == 0x7f)
      return path_error::control_char;
    if (c == '\\')
      return path_error::backslash;
  }
  if (!valid_utf8(p))
    return path_error::not_utf8;
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const std::size_t slash = p.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? p.size() : slash;
    const std::string_view comp = p.substr(start, end - start);
    if (comp.empty())
      return path_error::empty;
    if (comp.size() > max_component)
      return path_error::too_long;
    if (comp == "." || comp == "..")
      return path_error::dot_component;
    // Only the top-level state directory is ours; "a/.cascade" is an ordinary user name.
    if (first && comp == state_dir_name)
      return path_error::internal;
    if (slash == std::string_view::npos)
      break;
    start = slash + 1;
    first = false;
  }
  return path_error::ok;
}

std::string_view parent_of(std::string_view p) {
  const std::size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : p.substr(0, slash);
}

std::string_view base_name(std::string_view p) {
  const std::size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

int depth(std::string_view p) {
  if (p.empty())
    return 0; // the folder root itself
  int n = 1;
  for (const char c : p)
    n += c == '/';
  return n;
}

bool is_under(std::string_view p, std::string_view dir) {
  if (dir.empty())
    return true; // "" is the folder root: every path lies below it
  if (!p.starts_with(dir))
    return false;
  return p.size() == dir.size() || p[dir.size()] == '/';
}

std::string printable(std::string_view name) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

} // namespace cascade::core
