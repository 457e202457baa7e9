// The state directory's tmp/, where received files are written before they are renamed into
// the folder. It is opened once, checked (a plain directory owned by this process's user, not a
// symlink) and then reached only through that descriptor, so a name swapped later leads nowhere.
// Temp names carry 128 random bits and are created O_EXCL|O_NOFOLLOW: nobody can plant one first.
// Temp paths stay absolute strings (logs, core::partial_files, serving partials); every call here
// takes such a path and refuses one that is not a direct child of this directory.
#pragma once

#include <string>

#include "io/folder.hpp"

namespace cascade::io {

// Creates `path` (0700) if missing and opens it: a plain directory owned by this process's user,
// opened O_NOFOLLOW and checked to be what was looked at; else std::runtime_error with one line
// that says what is wrong and what to do.
unique_fd open_private_dir(const std::string& path);

class tmp_dir {
public:
  // Creates `path` (0700) if missing and opens it; throws std::runtime_error with one line that
  // says what is wrong and what to do when it is a symlink, not a directory or foreign-owned.
  explicit tmp_dir(std::string path);

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }

  // A fresh, unpredictable absolute path inside this directory (nothing is created).
  std::string new_path() const;
  // Creates `p` for writing (O_CREAT|O_EXCL|O_NOFOLLOW, 0600); -1 with errno if it exists.
  unique_fd create(const std::string& p) const;
  // Reopens an existing temp file to resume it: only a regular file owned by us with one link
  // (else -1 with errno ELOOP for a symlink, EPERM for anything else).
  unique_fd reopen(const std::string& p) const;
  // Creates `p` as a symlink to `target` with mtime `mtime_ns` (the link's own time).
  bool make_symlink(const std::string& target, const std::string& p, std::int64_t mtime_ns) const;
  // Unlinks `p` (never follows); true if it is gone.
  bool remove(const std::string& p) const;
  // The name of `p` inside this directory, or "" if `p` is not a direct child.
  std::string name_of(const std::string& p) const;
  // Removes what an earlier run left; only regular files and symlinks (a link, never its
  // target). Returns how many.
  int clean() const;
  // One syncfs for everything written here.
  void sync() const;

private:
  std::string path_;
  unique_fd fd_;
};

} // namespace cascade::io
