#include "io/apply.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/path.hpp"
#include "io/log.hpp"

namespace cascade::io {

namespace {

// One line per change the folder refused. ELOOP (a symlink at the name or above it, refused by
// RESOLVE_NO_SYMLINKS and O_NOFOLLOW) and EXDEV (a path leading outside) are what a local user
// swapping names for symlinks causes: said plainly, with the path, and nothing is touched.
void log_failed(const std::string& what, const std::string& path, int err) {
  if (err == ELOOP || err == EXDEV)
    log_error("refused to apply " + path + ": a symlink appeared in its place or above it (" +
              std::strerror(err) + ")");
  else
    log_error("cannot " + what + " " + path + ": " + std::strerror(err));
}

} // namespace

applier::applier(folder& f, const tmp_dir& tmp) : folder_(f), tmp_(tmp) {}

bool applier::tmp_failed(const std::string& what, const std::string& tmp, bool remove) {
  last_errno_ = errno;
  if (remove)
    tmp_.remove(tmp);
  if (!out_of_space(last_errno_)) // the caller reports a full disk once, not per file
    log_error("cannot " + what + " " + tmp + ": " + std::strerror(last_errno_));
  return false;
}

bool applier::write_tmp(const std::string& tmp, const core::file_record& r, const std::string& data,
                        bool sync) {
  auto fd = tmp_.create(tmp);
  if (!fd)
    return tmp_failed("create", tmp, false);
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return tmp_failed("write", tmp, true);
    done += static_cast<std::size_t>(n);
  }
  timespec ts[2];
  mtime_spec(r.mtime_ns, ts);
  // Mode and time go on the descriptor before the rename: nothing in the folder is touched by
  // name afterwards.
  if (::fchmod(fd.get(), r.mode & 07777) != 0 || ::futimens(fd.get(), ts) != 0)
    return tmp_failed("set mode and time of", tmp, true);
  if (!sync) {
    dirty_ = true;
    return true;
  }
  if (::fsync(fd.get()) != 0) // the data may not be on disk: the temp file is not installed
    return tmp_failed("sync", tmp, true);
  return true;
}

void applier::sync_tmp() {
  if (!dirty_)
    return;
  tmp_.sync();
  dirty_ = false;
}

bool applier::keep_version(const std::string& rel, std::uint64_t size, bool link,
                           std::optional<std::string>& name) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  name = versions_->keep(folder_, rel, now, link);
  if (!name && errno == ENAMETOOLONG) { // a name of 240+ bytes has no room for the stamp
    log_warn("cannot keep the replaced version of " + rel +
             ": its version name would be too long; replaced without one");
    return true;
  }
  if (!name && errno != 0) {
    last_errno_ = errno;
    // A deletion that cannot move the file away failed as a removal (an immutable directory).
    log_failed(link ? "keep the replaced version of" : "remove", rel, last_errno_);
    return false;
  }
  if (name) {
    kept_bytes_ += size;
    log_info("kept the version of " + rel + " a peer replaced as " + *name);
  }
  return true;
}

std::optional<std::uint64_t> applier::install(const std::string& tmp, const core::file_record& r,
                                              bool keep_old) {
  auto parent = core::parent_of(r.path);
  last_errno_ = 0;
  if (!parent.empty() && !folder_.make_dirs(parent, 0755, &created_in_)) {
    last_errno_ = errno;
    log_failed("create the directory of", r.path, last_errno_);
    tmp_.remove(tmp);
    return std::nullopt;
  }
  auto cur = folder_.stat(r.path);
  if (cur && cur->type == core::file_type::dir) {
    last_errno_ = EISDIR;
    log_error("cannot replace directory " + r.path + " with a file");
    tmp_.remove(tmp);
    return std::nullopt;
  }
  std::optional<std::string> kept; // a hard link: the name is replaced atomically below
  if (versions_ && keep_old && cur && cur->type == core::file_type::file &&
      !keep_version(r.path, cur->size, true, kept)) {
    tmp_.remove(tmp);
    return std::nullopt;
  }
  if (!folder_.rename_into(tmp_.fd(), tmp_.name_of(tmp), r.path)) {
    last_errno_ = errno;
    log_failed("move into place", r.path, last_errno_);
    tmp_.remove(tmp);
    if (kept && !folder_.stat(r.path))
      versions_->restore(*kept, folder_, r.path); // moved, not linked: put it back
    else if (kept)
      versions_->remove(*kept); // the file is still in place: no version of it
    return std::nullopt;
  }
  touched_dirs_.insert(std::string(parent));
  auto st = folder_.stat(r.path);
  if (!st) {
    last_errno_ = errno;
    return std::nullopt;
  }
  return st->inode;
}

void applier::sync_dirs() {
  touched_dirs_.insert(created_in_.begin(), created_in_.end());
  created_in_.clear();
  for (auto& d : touched_dirs_) {
    unique_fd fd(open_beneath(folder_.root_fd(), d, O_RDONLY | O_DIRECTORY));
    if (fd)
      ::fsync(fd.get());
  }
  touched_dirs_.clear();
}

bool applier::remove(const core::file_record& r) {
  auto cur = folder_.stat(r.path);
  if (!cur)
    return true;
  bool dir = cur->type == core::file_type::dir;
  if (versions_ && cur->type == core::file_type::file) {
    std::optional<std::string> kept;
    if (!keep_version(r.path, cur->size, false, kept))
      return false;
    if (kept)
      return true; // moved away: gone from the folder
  }
  if (dir ? folder_.remove_dir(r.path) : folder_.remove_file(r.path))
    return true;
  last_errno_ = errno;
  // A directory whose entries are still there waits for their deletions (the index retries it
  // as they settle and says so if entries no peer knows keep it): not an error to log here.
  if (!(dir && (last_errno_ == ENOTEMPTY || last_errno_ == EEXIST)))
    log_failed(dir ? "remove directory" : "remove", r.path, last_errno_);
  return false;
}

std::optional<std::uint64_t> applier::make_dir(const core::file_record& r) {
  auto cur = folder_.stat(r.path);
  if (cur && cur->type == core::file_type::symlink) {
    last_errno_ = ELOOP;
    log_failed("create directory", r.path, ELOOP);
    return std::nullopt;
  }
  if (cur && cur->type != core::file_type::dir) {
    last_errno_ = EEXIST;
    log_error("cannot create directory " + r.path + ": a file is in the way");
    return std::nullopt;
  }
  // set_mode changes the directory through a descriptor of it: a symlink swapped in after
  // mkdirat (or after the stat above) is refused, never followed to chmod its target.
  if (!folder_.make_dirs(r.path, r.mode & 07777, &created_in_) ||
      !folder_.set_mode(r.path, r.mode)) {
    last_errno_ = errno;
    log_failed("create directory", r.path, last_errno_);
    return std::nullopt;
  }
  auto st = folder_.stat(r.path);
  return st ? std::optional<std::uint64_t>(st->inode) : std::nullopt;
}

std::optional<std::uint64_t> applier::make_symlink(const std::string& tmp,
                                                   const core::file_record& r) {
  if (!tmp_.make_symlink(r.symlink_target, tmp, r.mtime_ns)) {
    last_errno_ = errno;
    log_error("cannot create symlink " + r.path + ": " + std::strerror(errno));
    return std::nullopt;
  }
  return install(tmp, r);
}

void applier::clean_tmp() {
  if (int removed = tmp_.clean(); removed > 0)
    log_info("removed " + std::to_string(removed) + " temp files of an interrupted run");
}

} // namespace cascade::io
