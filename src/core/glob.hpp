// SQLite's GLOB, for the in-memory store (core::memory_store) to match what `matching` does on
// the database: '*' any run of characters ('/' too), '?' one character, '[...]' one of a set
// ('^' first inverts it, ']' first is literal, 'a-z' a range; unterminated: matches nothing).
// Case-sensitive, by UTF-8 character; no escape character. Not the ignore patterns' syntax
// (core/ignore.hpp), where '*' stops at '/'.
#pragma once

#include <string_view>

namespace cascade::core {

bool glob_match(std::string_view pattern, std::string_view text);

} // namespace cascade::core
