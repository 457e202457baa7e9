// The index's answers to the debug console (console_index.cpp): read-only views of its state
// and database, plus a rescan that reports what it found. Internal to actors/.
#pragma once

#include "actors/index_logic.hpp"

namespace cascade::actors::index_detail {

core::index_summary summarize(index_state& st);

// Transfers and uploads alive now (the console's `actors` and `transfers`).
std::vector<status_actor> children(index_state& st);

// Records matching `glob` (SQLite GLOB; a plain path also matches what is below it), at most
// `limit`: (vector<file_info>, truncated, map<short_id, device id text>).
files_reply find_files(index_state& st, const node_context* ctx, const std::string& glob,
                       std::size_t limit = 1000);

std::vector<core::conflict_info> find_conflicts(index_state& st);
// Paths on disk the ignore patterns hide, matching `glob` (core::glob_match on the whole path,
// or on the name when it has no '/'; a plain path also matches what is below it). An ignored
// directory is one entry ("dir/"), not entered. At most 1000: (paths, truncated).
paths_reply find_ignored(const node_context* ctx, const std::string& glob);

// Versions of paths matching `glob` (as files takes it), by path then time (index_versions.cpp).
std::vector<core::version_info> find_versions(const node_context* ctx, const std::string& glob);
// Puts the newest version of `path` (or the newest from `time`, YYYYMMDD-HHMMSS) back as a local
// change; the file it replaces is kept as a version first. (message, error).
message_reply restore_version(index_logic& logic, const node_context* ctx, const std::string& path,
                              const std::string& time);

// Walks `path` ("" for the whole folder) and records what changed:
// (scanned, changes, hashing, error); error is set if `path` is not a valid folder path.
rescan_reply rescan_path(index_logic& logic, const node_context* ctx, const std::string& path);
// Scans each root and everything below it ("" = the whole folder); what the console's rescan
// and the periodic rescan of unwatched trees share.
struct subtree_scan {
  std::uint64_t scanned = 0, changes = 0, hashing = 0;
};
subtree_scan scan_subtrees(index_logic& logic, const node_context* ctx,
                           const std::vector<std::string>& roots);

// scan(paths, seen_at) from the watcher: remembers when each path changed, scans, forgets
// what did not become a record (kept for paths being hashed or deletions being held).
void scan_seen(index_logic& logic, const std::vector<std::string>& paths,
               const std::vector<std::int64_t>& seen_at);

} // namespace cascade::actors::index_detail
