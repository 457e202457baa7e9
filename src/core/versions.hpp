#pragma once
// Versions: what a peer deleted, overwrote or renamed away, kept under .cascade/versions.
// Pure: naming a version, reading a name back, and which versions a clean-up removes.
//
// Naming (like Syncthing's simple and staggered versioners): the UTC time of the replacement goes
// between the name and its extension, "dir/report.txt" -> "dir/report~20261205-081500.txt".
// The extension is the part from the last dot of the file name, except that
//  - a leading dot starts no extension: ".bashrc" -> ".bashrc~20261205-081500" (Syncthing would
//    give "~20261205-081500.bashrc", which hides what the file was);
//  - a trailing dot is no extension: "notes." -> "notes.~20261205-081500";
//  - only the last dot counts: "a.tar.gz" -> "a.tar~20261205-081500.gz" (as Syncthing).
// Two replacements of one path within one second get "-2", "-3", ... after the stamp:
// "report~20261205-081500-2.txt".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cascade::core {

// The version name of `path` (a relative folder path) replaced at `unix_s`; `n` > 1 marks the
// n-th version of the same path within that second.
std::string version_name(std::string_view path, std::int64_t unix_s, unsigned n = 1);

struct version_id {
  std::string path;    // the file's path in the folder
  std::int64_t time_s; // when it was replaced (UTC seconds)
  unsigned n = 1;      // 1, or which replacement within that second
  friend bool operator==(const version_id&, const version_id&) = default;
};

// Reads a version name back; nullopt for a name that version_name cannot have made.
std::optional<version_id> parse_version_name(std::string_view name);

struct version_file {
  std::string name; // the version name (relative to the versions directory)
  std::int64_t time_s = 0;
  std::uint64_t size = 0;
  unsigned n = 1; // which replacement within that second (version_id::n)
};

// One version as the console lists it.
struct version_info {
  std::string path; // the file's path in the folder
  std::string name; // under .cascade/versions
  std::int64_t time_s = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0; // the content's own time, kept
};

struct retention {
  std::int64_t keep_s = 0;     // versions older than this are removed; 0: no age limit
  std::uint64_t cap_bytes = 0; // then the oldest go until the rest fit; 0: no cap
};

// The names a clean-up removes at `now_s`: every version older than keep_s, then the oldest
// (within one second: the earlier replacement, then by name) until the total size of the rest is at
// most cap_bytes. Versions stamped in the future (a clock set back) count as new.
std::vector<std::string> versions_to_remove(const std::vector<version_file>& versions,
                                            std::int64_t now_s, const retention& r);

// The newest version of `path` (nullopt if none); with `time_s`, the newest one stamped in that
// second (a restore names it by the time `versions` lists).
std::optional<version_file> pick_version(const std::vector<version_file>& versions,
                                         std::string_view path,
                                         std::optional<std::int64_t> time_s = std::nullopt);

} // namespace cascade::core
