// core::glob_match: SQLite's GLOB (the in-memory store's `matching`); tests/io/test_store.cpp
// checks patterns like these against the database itself.
#include <doctest/doctest.h>

#include <string_view>

#include "core/glob.hpp"

namespace {

struct row {
  std::string_view pattern, text;
  bool match;
};

void check(std::initializer_list<row> rows) {
  for (auto& r : rows) {
    INFO("pattern '" << r.pattern << "' text '" << r.text << "'");
    CHECK(cascade::core::glob_match(r.pattern, r.text) == r.match);
  }
}

} // namespace

TEST_CASE("glob: '*' spans '/', '?' is one character") {
  check({{"a/*", "a/b/c", true},
         {"*", "", true},
         {"*", "a/b", true},
         {"a/*", "a", false},
         {"a?c", "a/c", true},
         {"a?c", "ac", false},
         {"?", "é", true}, // one character of two bytes
         {"??", "é", false},
         {"*?", "é", true},
         {"*??", "é", false},
         {"*a*b*", "xaybz", true},
         {"*a*b*", "xbya", false},
         {"", "a", false},
         {"", "", true},
         {"a", "A", false}}); // case-sensitive
}

TEST_CASE("glob: sets") {
  check({{"[abc]", "b", true},
         {"[abc]", "d", false},
         {"[^abc]", "d", true},
         {"[^abc]", "a", false},
         {"[a-c]", "b", true},
         {"[a-c]", "-", false},
         {"[a-]", "-", true}, // '-' last is itself
         {"[-a]", "-", true}, // and first
         {"[]]", "]", true},  // ']' first is itself
         {"[^]]", "a", true},
         {"[^]]", "]", false},
         {"[à-ü]", "é", true}, // ranges of characters, not bytes
         {"[a", "a", false},   // unterminated: nothing
         {"*[a", "xa", false},
         {"*[.]txt", "a/b.txt", true},
         {"[abc]", "", false},
         {"[*?]", "*", true},
         {"[*?]", "x", false}});
}
