// DIR/.cascade/versions: what peers deleted, overwrote or renamed away, kept under version names
// (core/versions.hpp). It lives in the folder's marker, so it is on the folder's file system and
// a version is the same inode moved (mtime and mode kept), never a copy. Like tmp/, it is opened
// once and checked, then reached only through its descriptor; every name in it and in the folder
// is resolved beneath a directory descriptor without following symlinks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/versions.hpp"
#include "io/folder.hpp"

namespace cascade::io {

class versions_dir {
public:
  // Creates `path` (0700) if missing; throws std::runtime_error (one line) when it is a symlink,
  // not a directory or foreign-owned.
  explicit versions_dir(const std::string& path);

  const std::string& path() const { return dir_.root(); }

  // Keeps the regular file `rel` of `f` as its version at `now_s`. With `link`, a hard link
  // (the caller renames the new file over `rel` next, so the name never goes missing; a file
  // system without hard links falls back to a move), else the file is moved away (a deletion).
  // Returns the version name; nullopt with errno 0 when `rel` is not a regular file (nothing to
  // keep), or with the errno of the failure.
  std::optional<std::string> keep(const folder& f, std::string_view rel, std::int64_t now_s,
                                  bool link);
  // Every version: name, stamp time, size. Names that are no version names are left alone.
  std::vector<core::version_file> list() const;
  // lstat of a version (its content's mtime for the console), nullopt if missing.
  std::optional<local_stat> stat(const std::string& name) const { return dir_.stat(name); }
  // Removes a version, then the directories above it that are empty now.
  bool remove(const std::string& name);
  // Moves the version `name` over `rel` of `f` (its parents created as needed).
  bool restore(const std::string& name, folder& f, std::string_view rel);

private:
  void prune_parents(std::string_view name);

  folder dir_;
};

} // namespace cascade::io
