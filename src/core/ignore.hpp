// Ignore patterns (DIR/.cascadeignore): gitignore syntax, plus Syncthing's `(?i)` prefix
// (case-insensitive) and `#include FILE` (more patterns from a file, relative to the folder).
// Pure: the caller reads files through a loader.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cascade::core {

// The file every folder may hold; local to each node (never announced, never applied).
inline constexpr std::string_view ignore_file_name = ".cascadeignore";

// One active pattern, with where it came from (for the console).
struct ignore_pattern {
  std::string glob;      // without '!', '(?i)', the anchoring '/' and the trailing '/'
  std::string source;    // the file it was read from, relative to the folder
  int line = 0;          // 1-based
  std::string text;      // the line as written
  bool negate = false;   // "!pattern": re-includes
  bool dir_only = false; // "pattern/": matches directories only
  bool anchored = false; // matched against the whole path (a '/' before its end), not the name
  bool icase = false;    // "(?i)pattern"
};

class ignore_set {
public:
  // True if `rel` (a canonical relative path) is ignored. As in git, a path below an ignored
  // directory is ignored whatever later patterns say: a directory that is not watched nor
  // scanned cannot have entries that sync.
  bool ignored(std::string_view rel, bool is_dir) const;

  const std::vector<ignore_pattern>& patterns() const { return patterns_; }
  // Every file read: the ignore file and the files it included (a change to any reloads).
  const std::vector<std::string>& sources() const { return sources_; }
  // Problems found while parsing (a missing include, a cycle, too deep): one line each.
  const std::vector<std::string>& warnings() const { return warnings_; }
  bool empty() const { return patterns_.empty(); }

private:
  friend class ignore_parser;
  // The verdict of the last pattern matching `rel` itself (not its parents): 1 ignored,
  // -1 re-included, 0 no pattern matched.
  int verdict(std::string_view rel, bool is_dir) const;

  std::vector<ignore_pattern> patterns_;
  std::vector<std::string> sources_;
  std::vector<std::string> warnings_;
};

// Reads a file relative to the folder; nullopt if it cannot be read.
using ignore_loader = std::function<std::optional<std::string>(const std::string& rel)>;

// How deep #include may nest (the ignore file is depth 0).
inline constexpr int ignore_max_include_depth = 8;
// How many #include reads one parse makes at most, nested or not: included files sync from
// peers, and a few includes a level would otherwise multiply into millions of reads.
inline constexpr int ignore_max_includes = 64;
// How many patterns one parse keeps at most (every path is matched against each of them).
inline constexpr int ignore_max_patterns = 100000;

// Parses the text of `source` (normally .cascadeignore). `#include` lines are read through
// `load`; a missing, cyclic or too deeply nested include, or one past ignore_max_includes, is a
// warning and is skipped.
ignore_set parse_ignores(std::string_view text, const ignore_loader& load,
                         std::string source = std::string(ignore_file_name));

// gitignore glob matching with git's pathname rules: '*', '?' and '[...]' never match '/';
// '**' between slashes (or at either end) matches any number of directories.
bool glob_match(std::string_view glob, std::string_view path, bool icase = false);

} // namespace cascade::core
