// Rules for relative paths inside a synced folder. Every name that comes from a peer or from
// disk passes through validate_path before any file operation uses it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cascade::core {

// Why a path was rejected; ok means it is a canonical relative path inside the folder.
enum class path_error {
  ok,
  empty,         // "" or a path with an empty component ("a//b", "a/", "/a")
  absolute,      // starts with '/'
  dot_component, // "." or ".." anywhere
  control_char,  // NUL or any byte < 0x20 or 0x7f
  backslash,     // '\\' anywhere (ambiguous on other systems)
  not_utf8,      // invalid or overlong UTF-8
  internal,      // ".cascade" as the first component (our state, never synced)
  too_long,      // a component over 255 bytes or a path over 4095 bytes
};

// A name as it may appear in a log line: control characters, backslashes and bytes that are
// not printable ASCII become \xNN escapes, so a hostile name cannot forge or cut a log line.
std::string printable(std::string_view name);

// Human-readable reason, for logs ("has a '..' component").
std::string_view describe(path_error e);

// Checks that `p` is a canonical relative path: '/'-separated, no empty, "." or ".." components,
// valid UTF-8, no control characters, no backslash, not inside ".cascade".
path_error validate_path(std::string_view p);

// The name of the state/marker directory inside every synced folder.
inline constexpr std::string_view state_dir_name = ".cascade";

// "a/b/c" -> "a/b"; "c" -> "".
std::string_view parent_of(std::string_view p);

// "a/b/c" -> "c".
std::string_view base_name(std::string_view p);

// Number of components: "a" -> 1, "a/b" -> 2.
int depth(std::string_view p);

// True if `p` equals `dir` or lies below it ("a/b" is under "a"; "ab" is not under "a").
bool is_under(std::string_view p, std::string_view dir);

} // namespace cascade::core
