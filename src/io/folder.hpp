// The synced folder on disk, reached only through a directory descriptor of its root:
// every path is resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so no name, from
// disk or from a peer, can lead outside the folder or through a symlink.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sys/stat.h>

#include "core/record.hpp"
#include "core/time_split.hpp"

namespace cascade::io {

// What lstat tells about a path; enough to see whether it changed since it was indexed.
struct local_stat {
  core::file_type type = core::file_type::file;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint32_t mode = 0; // permission bits
  std::uint64_t inode = 0;
  friend bool operator==(const local_stat&, const local_stat&) = default;
};

// The {atime: omit, mtime} pair for futimens/utimensat, through the one floored conversion.
inline void mtime_spec(std::int64_t mtime_ns, timespec (&ts)[2]) {
  auto t = core::split_ns(mtime_ns);
  ts[0].tv_sec = 0;
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_sec = static_cast<time_t>(t.sec);
  ts[1].tv_nsec = static_cast<long>(t.nsec);
}

// A file descriptor that closes itself.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  ~unique_fd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  explicit operator bool() const { return fd_ >= 0; }

private:
  int fd_ = -1;
};

class folder {
public:
  // Opens `root` (which must exist). Throws std::system_error if it cannot.
  explicit folder(const std::string& root);
  // A folder on an already opened and checked directory (the state directory's versions/).
  folder(std::string root, unique_fd fd) : root_(std::move(root)), root_fd_(std::move(fd)) {}

  const std::string& root() const { return root_; }
  int root_fd() const { return root_fd_.get(); }

  // lstat of a relative path ("" is the root); nullopt if missing. Symlinks are not followed
  // and a path through a symlink counts as missing.
  std::optional<local_stat> stat(std::string_view rel) const;

  // Opens a relative path for reading (O_NOFOLLOW, O_NONBLOCK); -1 with errno on failure.
  unique_fd open_read(std::string_view rel) const;

  // Reads exactly `out.size()` bytes at `offset`; false on error or short read.
  bool read_at(std::string_view rel, std::uint64_t offset, std::span<std::uint8_t> out) const;

  std::optional<std::string> read_link(std::string_view rel) const;

  // Directory entries (names only, without "." and ".."), nullopt if not a directory.
  std::optional<std::vector<std::string>> list(std::string_view rel) const;

  // Every valid path below the directory `rel` ("" is the root), depth first; entries whose
  // names fail core::validate_path (such as .cascade) are skipped with their subtrees.
  // Entries the walk filter names (ignored paths) are skipped with their subtrees too.
  std::vector<std::string> walk(std::string_view rel) const;
  using walk_filter = std::function<bool(std::string_view rel, bool is_dir)>;
  // Set before other threads use the folder; the filter itself must be thread-safe.
  void skip_in_walks(walk_filter f) { skip_ = std::move(f); }

  // Creates a directory and any missing parents; applies `mode` to the last one.
  // Creates rel and its missing parents. `created_in`, when given, receives the parent of every
  // directory it created (the entries to fsync for the new directories to be durable).
  bool make_dirs(std::string_view rel, std::uint32_t mode,
                 std::vector<std::string>* created_in = nullptr);

  // Atomically moves the entry `from_name` of the directory `from_dir` (the state dir's tmp,
  // same file system) over `rel`; whatever is at `rel` (a symlink too) is replaced, not followed.
  bool rename_into(int from_dir, const std::string& from_name, std::string_view rel);
  bool rename(std::string_view from, std::string_view to);

  // Removes a file or symlink (not a directory); true if it is gone afterwards.
  bool remove_file(std::string_view rel);
  // Removes an empty directory; false if it has entries.
  bool remove_dir(std::string_view rel);

  // Change a directory or regular file through a descriptor of the entry itself: false (errno
  // ELOOP) if a symlink is at `rel` or above it, whatever it points to. Symlinks get their time
  // before they are moved into place (tmp_dir::make_symlink) and have no mode.
  bool set_times(std::string_view rel, std::int64_t mtime_ns);
  bool set_mode(std::string_view rel, std::uint32_t mode);

  // A descriptor of the parent directory of `rel` (resolved beneath the root, no symlinks),
  // and the last component: for the *at calls that move entries between two folders.
  unique_fd open_parent(std::string_view rel, std::string_view& leaf) const;

private:
  std::string root_;
  unique_fd root_fd_;
  walk_filter skip_;
};

// openat2 beneath `dirfd` without symlinks; -1 with errno on failure.
int open_beneath(int dirfd, std::string_view rel, int flags, unsigned mode = 0);

// Type, size, mtime and mode from a struct stat.
local_stat to_local_stat(const struct ::stat& st);

} // namespace cascade::io
