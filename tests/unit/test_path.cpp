#include <doctest/doctest.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/path.hpp"

using namespace cascade::core;

namespace {

struct path_case {
  std::string path;
  path_error expected;
};

void check_all(const std::vector<path_case>& cases) {
  for (const auto& c : cases) {
    CAPTURE(c.path);
    CHECK(validate_path(c.path) == c.expected);
  }
}

} // namespace

TEST_CASE("path: canonical relative paths are accepted") {
  check_all({
      {"a", path_error::ok},
      {"a/b/c.txt", path_error::ok},
      {".bashrc", path_error::ok},
      {"...", path_error::ok},
      {"..a", path_error::ok},
      {"a..", path_error::ok},
      {"a/.b/c", path_error::ok},
      {"a/.cascade", path_error::ok}, // only the top-level state dir is internal
      {"a/.cascade/x", path_error::ok},
      {".cascadex", path_error::ok},
      {"x.cascade", path_error::ok},
      {".Cascade", path_error::ok}, // case matters on Linux
      {"with space/and-dash_under", path_error::ok},
      {"caf\xc3\xa9.txt", path_error::ok},                       // café (U+00E9)
      {"\xe6\x97\xa5\xe6\x9c\xac/\xe8\xaa\x9e", path_error::ok}, // 日本/語
      {"\xf0\x9f\x98\x80", path_error::ok},                      // U+1F600, 4 bytes
      {"\xef\xbf\xbd", path_error::ok},                          // U+FFFD
      {"\xed\x9f\xbf", path_error::ok},     // U+D7FF, just below the surrogates
      {"\xee\x80\x80", path_error::ok},     // U+E000, just above them
      {"\xf4\x8f\xbf\xbf", path_error::ok}, // U+10FFFF, the last code point
      {"\xc2\x80", path_error::ok},         // U+0080, smallest 2-byte form
      {"\xe0\xa0\x80", path_error::ok},     // U+0800, smallest 3-byte form
      {"\xf0\x90\x80\x80", path_error::ok}, // U+10000, smallest 4-byte form
      {std::string(255, 'n'), path_error::ok},
      {std::string(255, 'a') + "/" + std::string(255, 'b'), path_error::ok},
  });
}

TEST_CASE("path: empty path and empty components") {
  check_all({
      {"", path_error::empty},
      {"a//b", path_error::empty},
      {"a/", path_error::empty},
      {"a/b/", path_error::empty},
      {"a///", path_error::empty},
  });
}

TEST_CASE("path: absolute paths") {
  check_all({
      {"/", path_error::absolute},
      {"/a", path_error::absolute},
      {"//a", path_error::absolute},
      {"/etc/passwd", path_error::absolute},
  });
}

TEST_CASE("path: dot components anywhere") {
  check_all({
      {".", path_error::dot_component},
      {"..", path_error::dot_component},
      {"./a", path_error::dot_component},
      {"../a", path_error::dot_component},
      {"a/..", path_error::dot_component},
      {"a/../b", path_error::dot_component},
      {"a/./b", path_error::dot_component},
      {"a/b/.", path_error::dot_component},
      {"../../etc/passwd", path_error::dot_component},
  });
}

TEST_CASE("path: control characters") {
  check_all({
      {std::string("a\0b", 3), path_error::control_char},
      {std::string(1, '\0'), path_error::control_char},
      {"a\nb", path_error::control_char},
      {"a\tb", path_error::control_char},
      {"a\rb", path_error::control_char},
      {"\x01", path_error::control_char},
      {"a/\x1f", path_error::control_char},
      {"a\x7f", path_error::control_char},
      {"dir/\x1b[31mred", path_error::control_char},
  });
  // 0x20 (space) and 0x7e (~) are the borders and are fine.
  check_all({{" ", path_error::ok}, {"~", path_error::ok}});
}

TEST_CASE("path: backslashes") {
  check_all({
      {"a\\b", path_error::backslash},
      {"\\", path_error::backslash},
      {"..\\..\\windows", path_error::backslash},
      {"a/b\\", path_error::backslash},
  });
}

TEST_CASE("path: invalid UTF-8") {
  check_all({
      {"\x80", path_error::not_utf8}, // lone continuation byte
      {"a\xbf", path_error::not_utf8},
      {"\xc3", path_error::not_utf8},                     // truncated 2-byte sequence
      {"\xc3(", path_error::not_utf8},                    // bad continuation
      {"\xe6\x97", path_error::not_utf8},                 // truncated 3-byte sequence
      {"\xf0\x9f\x98", path_error::not_utf8},             // truncated 4-byte sequence
      {"\xc0\xaf", path_error::not_utf8},                 // overlong '/'
      {"\xc0\xae\xc0\xae", path_error::not_utf8},         // overlong ".."
      {"\xc1\xbf", path_error::not_utf8},                 // overlong 2-byte
      {"\xe0\x80\xaf", path_error::not_utf8},             // overlong 3-byte '/'
      {"\xe0\x9f\xbf", path_error::not_utf8},             // overlong 3-byte (U+07FF)
      {"\xf0\x80\x80\xaf", path_error::not_utf8},         // overlong 4-byte '/'
      {"\xf0\x8f\xbf\xbf", path_error::not_utf8},         // overlong 4-byte (U+FFFF)
      {"\xed\xa0\x80", path_error::not_utf8},             // U+D800, a surrogate
      {"\xed\xbf\xbf", path_error::not_utf8},             // U+DFFF, a surrogate
      {"\xed\xa0\xbd\xed\xb8\x80", path_error::not_utf8}, // CESU-8 surrogate pair
      {"\xf4\x90\x80\x80", path_error::not_utf8},         // U+110000
      {"\xf5\x80\x80\x80", path_error::not_utf8},         // lead byte above F4
      {"\xff", path_error::not_utf8},
      {"\xfe", path_error::not_utf8},
      {"ok/\xe2\x82", path_error::not_utf8}, // truncated at the end
  });
}

TEST_CASE("path: the state directory is internal only as the first component") {
  check_all({
      {".cascade", path_error::internal},
      {".cascade/index.db", path_error::internal},
      {".cascade/tmp/x", path_error::internal},
  });
}

TEST_CASE("path: length limits") {
  check_all({
      {std::string(256, 'n'), path_error::too_long},
      {"a/" + std::string(256, 'n'), path_error::too_long},
      {std::string(256, 'n') + "/a", path_error::too_long},
  });
  // 16 components of 255 bytes plus separators: 4095 fits, 4096 does not.
  std::string fits;
  while (fits.size() + 256 <= 4095)
    fits += std::string(255, 'x') + "/";
  fits += std::string(4095 - fits.size(), 'y');
  REQUIRE(fits.size() == 4095);
  CHECK(validate_path(fits) == path_error::ok);
  CHECK(validate_path(fits + "z") == path_error::too_long);
  // Short components, long path: the whole-path limit alone.
  std::string many;
  for (int i = 0; i < 2047; ++i)
    many += "a/";
  CHECK(validate_path(many + "b") == path_error::ok);
  CHECK(validate_path(many + "bc") == path_error::too_long);
  // Multi-byte characters count in bytes: 128 two-byte characters are 256 bytes.
  std::string wide;
  for (int i = 0; i < 128; ++i)
    wide += "\xc3\xa9";
  CHECK(validate_path(wide) == path_error::too_long);
  CHECK(validate_path(wide.substr(2)) == path_error::ok);
}

TEST_CASE("path: every reason has its own description") {
  const std::vector<path_error> all = {path_error::ok,           path_error::empty,
                                       path_error::absolute,     path_error::dot_component,
                                       path_error::control_char, path_error::backslash,
                                       path_error::not_utf8,     path_error::internal,
                                       path_error::too_long};
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK_FALSE(describe(all[i]).empty());
    for (std::size_t j = i + 1; j < all.size(); ++j)
      CHECK(describe(all[i]) != describe(all[j]));
  }
  CHECK(describe(path_error::dot_component).find("..") != std::string_view::npos);
}

TEST_CASE("path: parent_of, base_name, depth") {
  const std::vector<std::tuple<std::string, std::string, std::string, int>> cases = {
      {"a/b/c", "a/b", "c", 3},
      {"a/b", "a", "b", 2},
      {"c", "", "c", 1},
      {".bashrc", "", ".bashrc", 1},
      {"dir/.hidden", "dir", ".hidden", 2},
      {"x/y/z/w.txt", "x/y/z", "w.txt", 4},
  };
  for (const auto& c : cases) {
    const auto& [p, parent, base, d] = c;
    CAPTURE(std::get<0>(c));
    CHECK(parent_of(p) == parent);
    CHECK(base_name(p) == base);
    CHECK(depth(p) == d);
  }
  CHECK(depth("") == 0);
}

TEST_CASE("path: is_under") {
  const std::vector<std::tuple<std::string, std::string, bool>> cases = {
      {"a", "a", true},       {"a/b", "a", true},     {"a/b/c", "a", true}, {"a/b/c", "a/b", true},
      {"ab", "a", false},     {"ab/c", "a", false},   {"a", "a/b", false},  {"b/a", "a", false},
      {"a/bc", "a/b", false}, {"anything", "", true}, // the root holds everything
  };
  for (const auto& c : cases) {
    const auto& [p, d, expected] = c;
    CAPTURE(std::get<0>(c));
    CAPTURE(std::get<1>(c));
    CHECK(is_under(p, d) == expected);
  }
}
