#include "io/tmp_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cascade::io {

namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw std::runtime_error("refusing to start: " + path + " " + why +
                           "; remove it and start again (the node makes a new one)");
}

} // namespace

unique_fd open_private_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  struct ::stat before {};
  if (::lstat(path.c_str(), &before) != 0)
    throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  if (S_ISLNK(before.st_mode))
    refuse(path, "is a symlink, not a directory");
  if (!S_ISDIR(before.st_mode))
    refuse(path, "is not a directory");
  if (before.st_uid != ::geteuid())
    refuse(path, "belongs to uid " + std::to_string(before.st_uid) + ", not to this node's uid " +
                     std::to_string(::geteuid()));
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct ::stat now {};
  if (!fd || ::fstat(fd.get(), &now) != 0 || now.st_dev != before.st_dev ||
      now.st_ino != before.st_ino)
    refuse(path, "changed while it was being opened");
  if ((now.st_mode & 07777) != 0700)
    ::fchmod(fd.get(), 0700); // made 0755 by older versions
  return fd;
}

tmp_dir::tmp_dir(std::string path) : path_(std::move(path)), fd_(open_private_dir(path_)) {}

std::string tmp_dir::new_path() const {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    auto n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw std::runtime_error(std::string("no randomness: ") + std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string name;
  for (auto b : bytes) {
    name += hex[b >> 4];
    name += hex[b & 15];
  }
  return path_ + "/" + name;
}

std::string tmp_dir::name_of(const std::string& p) const {
  if (p.size() <= path_.size() + 1 || p.compare(0, path_.size(), path_) != 0 ||
      p[path_.size()] != '/')
    return {};
  auto name = p.substr(path_.size() + 1);
  if (name.find('/') != std::string::npos || name == "." || name == "..")
    return {};
  return name;
}

unique_fd tmp_dir::create(const std::string& p) const {
  auto name = name_of(p);
  if (name.empty()) {
    errno = EINVAL;
    return unique_fd();
  }
  return unique_fd(
      ::openat(fd_.get(), name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
}

unique_fd tmp_dir::reopen(const std::string& p) const {
  auto name = name_of(p);
  if (name.empty()) {
    errno = EINVAL;
    return unique_fd();
  }
  // O_NONBLOCK: a FIFO put here must not hang us; it is refused below.
  unique_fd fd(
      ::openat(fd_.get(), name.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct ::stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0)
    return unique_fd();
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || st.st_nlink != 1) {
    errno = EPERM;
    return unique_fd();
  }
  return fd;
}

bool tmp_dir::make_symlink(const std::string& target, const std::string& p,
                           std::int64_t mtime_ns) const {
  auto name = name_of(p);
  if (name.empty()) {
    errno = EINVAL;
    return false;
  }
  if (::symlinkat(target.c_str(), fd_.get(), name.c_str()) != 0)
    return false;
  timespec ts[2];
  mtime_spec(mtime_ns, ts);
  ::utimensat(fd_.get(), name.c_str(), ts, AT_SYMLINK_NOFOLLOW); // a stale time is harmless
  return true;
}

bool tmp_dir::remove(const std::string& p) const {
  auto name = name_of(p);
  if (name.empty()) {
    errno = EINVAL;
    return false;
  }
  return ::unlinkat(fd_.get(), name.c_str(), 0) == 0 || errno == ENOENT;
}

int tmp_dir::clean() const {
  // A descriptor of its own: readdir moves the offset, which dup() would share.
  int fd = ::openat(fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
  if (!d) {
    if (fd >= 0)
      ::close(fd);
    return 0;
  }
  int removed = 0;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    struct ::stat st {};
    if (n == "." || n == ".." || ::fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    // unlinkat never follows: a symlink loses the link only, never its target.
    if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) && ::unlinkat(fd, n.c_str(), 0) == 0)
      ++removed;
  }
  ::closedir(d);
  return removed;
}

void tmp_dir::sync() const {
  ::syncfs(fd_.get());
}

} // namespace cascade::io
