// Applying received records to disk: everything goes through a temp file in the state
// directory and an atomic rename, so a reader never sees a partial file under its final name.
#pragma once

#include <cerrno>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "core/record.hpp"
#include "io/folder.hpp"
#include "io/tmp_dir.hpp"
#include "io/versions.hpp"

namespace cascade::io {

// ENOSPC or EDQUOT: a fault of the whole file system, not of one file.
inline bool out_of_space(int err) {
  return err == ENOSPC || err == EDQUOT;
}

class applier {
public:
  applier(folder& f, const tmp_dir& tmp);

  // Writes a small file's content to `tmp` (a fresh tmp_dir::new_path) with its mode and mtime,
  // set on the descriptor before the rename; fsynced now if `sync`, else by the next sync_tmp().
  // A failure is logged (unless out_of_space) and its errno kept for last_install_errno().
  bool write_tmp(const std::string& tmp, const core::file_record& r, const std::string& data,
                 bool sync);
  // One sync for every temp file written since the last call (cheaper than fsync per file).
  void sync_tmp();
  // Renames a finished temp file over the record's path; the new inode, or nullopt.
  // A symlink (or a parent swapped for one) in the way is refused with one log line
  // ("refused to apply PATH: ..."), and the temp file removed. A regular file it replaces is
  // kept as a version first when versions are on and `keep_old` (not for a change of mode or
  // time alone); if that fails, nothing is replaced.
  std::optional<std::uint64_t> install(const std::string& tmp, const core::file_record& r,
                                       bool keep_old = true);
  // Peers' deletions and overwrites of regular files keep the old file in `v` (nullptr: off).
  void keep_versions(versions_dir* v) { versions_ = v; }
  // Bytes kept as versions since the last call (a clean-up runs when they pass the cap).
  std::uint64_t take_kept_bytes() { return std::exchange(kept_bytes_, 0); }
  // errno of the last install, removal, mkdir or symlink that failed (EISDIR: a directory is in
  // the way; ELOOP, EXDEV: a symlink is).
  int last_install_errno() const { return last_errno_; }
  // Removes a file, symlink or empty directory; true if it is gone (else logged, with errno).
  // A regular file goes to the versions when they are on.
  bool remove(const core::file_record& r);
  std::optional<std::uint64_t> make_dir(const core::file_record& r);
  std::optional<std::uint64_t> make_symlink(const std::string& tmp, const core::file_record& r);
  // Fsyncs the directories renames went into since the last call, so that the renames are on
  // disk before the index records them.
  void sync_dirs();
  // Deletes temp files left by an earlier run.
  void clean_tmp();

private:
  bool tmp_failed(const std::string& what, const std::string& tmp, bool remove);
  // Keeps `rel` as a version (see versions_dir::keep); false (logged) if it could not.
  bool keep_version(const std::string& rel, std::uint64_t size, bool link,
                    std::optional<std::string>& name);

  folder& folder_;
  const tmp_dir& tmp_;
  bool dirty_ = false;
  std::set<std::string> touched_dirs_;
  int last_errno_ = 0;                  // why the last install failed
  std::vector<std::string> created_in_; // parents of directories made since the last sync_dirs
  versions_dir* versions_ = nullptr;
  std::uint64_t kept_bytes_ = 0;
};

} // namespace cascade::io
