// Applying received records to disk: everything goes through a temp file in the state
// directory and an atomic rename, so a reader never sees a partial file under its final name.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "core/record.hpp"
#include "io/folder.hpp"

namespace cascade::io {

class applier {
public:
  applier(folder& f, std::string tmp_dir);

  // Writes a small file's content to `tmp` with its mode and mtime; fsynced now if `sync`,
  // else by the next sync_tmp().
  bool write_tmp(const std::string& tmp, const core::file_record& r, const std::string& data,
                 bool sync);
  // One sync for every temp file written since the last call (cheaper than fsync per file).
  void sync_tmp();
  // Renames a finished temp file over the record's path; the new inode, or nullopt.
  std::optional<std::uint64_t> install(const std::string& tmp, const core::file_record& r);
  // Removes a file, symlink or empty directory; true if it is gone.
  bool remove(const core::file_record& r);
  std::optional<std::uint64_t> make_dir(const core::file_record& r);
  std::optional<std::uint64_t> make_symlink(const std::string& tmp, const core::file_record& r);
  // Fsyncs the directories renames went into since the last call, so that the renames are on
  // disk before the index records them.
  void sync_dirs();
  // Deletes temp files left by an earlier run.
  void clean_tmp();

private:
  folder& folder_;
  std::string tmp_dir_;
  bool dirty_ = false;
  std::set<std::string> touched_dirs_;
};

} // namespace cascade::io
