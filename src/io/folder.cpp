#include "io/folder.hpp"

#include "core/path.hpp"
#include "io/copy_range.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace cascade::io {

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

unique_fd::~unique_fd() {
  if (fd_ >= 0)
    ::close(fd_);
}

int open_beneath(int dirfd, std::string_view rel, int flags, unsigned mode) {
  std::string p = rel.empty() ? std::string(".") : std::string(rel);
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = ::syscall(SYS_openat2, dirfd, p.c_str(), &how, sizeof how);
  } while (fd < 0 && errno == EAGAIN);
  return static_cast<int>(fd);
}

local_stat to_local_stat(const struct ::stat& st) {
  local_stat s;
  if (S_ISDIR(st.st_mode))
    s.type = core::file_type::dir;
  else if (S_ISLNK(st.st_mode))
    s.type = core::file_type::symlink;
  else
    s.type = core::file_type::file;
  s.size = s.type == core::file_type::file ? static_cast<std::uint64_t>(st.st_size) : 0;
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.mode = st.st_mode & 0777; // setuid, setgid and sticky bits are not synced
  s.inode = st.st_ino;
  return s;
}

folder::folder(const std::string& root) : root_(root) {
  root_fd_ = unique_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd_)
    throw std::system_error(errno, std::generic_category(), "cannot open folder " + root);
}

unique_fd folder::open_parent(std::string_view rel, std::string_view& leaf) const {
  auto slash = rel.rfind('/');
  if (slash == std::string_view::npos) {
    leaf = rel;
    return unique_fd(::dup(root_fd_.get()));
  }
  leaf = rel.substr(slash + 1);
  return unique_fd(open_beneath(root_fd_.get(), rel.substr(0, slash), O_RDONLY | O_DIRECTORY));
}

std::optional<local_stat> folder::stat(std::string_view rel) const {
  struct ::stat st {};
  if (rel.empty()) {
    if (::fstat(root_fd_.get(), &st) != 0)
      return std::nullopt;
    return to_local_stat(st);
  }
  std::string_view leaf;
  auto parent = open_parent(rel, leaf);
  if (!parent)
    return std::nullopt;
  std::string name(leaf);
  if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return std::nullopt;
  return to_local_stat(st);
}

unique_fd folder::open_read(std::string_view rel) const {
  // O_NONBLOCK: a FIFO put in a file's place must not hang the reader (reads of a regular
  // file ignore it).
  return unique_fd(open_beneath(root_fd_.get(), rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK));
}

bool folder::read_at(std::string_view rel, std::uint64_t offset,
                     std::span<std::uint8_t> out) const {
  auto fd = open_read(rel);
  return fd && io::read_at(fd.get(), out, offset);
}

std::optional<std::string> folder::read_link(std::string_view rel) const {
  std::string_view leaf;
  auto parent = open_parent(rel, leaf);
  if (!parent)
    return std::nullopt;
  std::string name(leaf), buf(4096, '\0');
  auto n = ::readlinkat(parent.get(), name.c_str(), buf.data(), buf.size());
  if (n < 0)
    return std::nullopt;
  buf.resize(static_cast<std::size_t>(n));
  return buf;
}

std::optional<std::vector<std::string>> folder::list(std::string_view rel) const {
  int fd = open_beneath(root_fd_.get(), rel, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return std::nullopt;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return std::nullopt;
  }
  std::vector<std::string> names;
  while (auto* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..")
      names.emplace_back(n);
  }
  ::closedir(d);
  return names;
}

std::vector<std::string> folder::walk(std::string_view rel) const {
  std::vector<std::string> paths;
  std::vector<std::string> dirs{std::string(rel)};
  while (!dirs.empty()) {
    auto dir = dirs.back();
    dirs.pop_back();
    auto names = list(dir);
    if (!names)
      continue;
    for (auto& n : *names) {
      auto p = dir.empty() ? n : dir + "/" + n;
      if (core::validate_path(p) != core::path_error::ok)
        continue;
      auto s = stat(p);
      bool is_dir = s && s->type == core::file_type::dir;
      if (skip_ && skip_(p, is_dir))
        continue;
      paths.push_back(p);
      if (is_dir)
        dirs.push_back(p);
    }
  }
  return paths;
}

bool folder::make_dirs(std::string_view rel, std::uint32_t mode,
                       std::vector<std::string>* created_in) {
  if (rel.empty())
    return true;
  std::size_t pos = 0;
  while (true) {
    auto slash = rel.find('/', pos);
    auto part = rel.substr(0, slash);
    std::string_view leaf;
    auto parent = open_parent(part, leaf);
    if (!parent)
      return false;
    std::string name(leaf);
    bool last = slash == std::string_view::npos;
    if (::mkdirat(parent.get(), name.c_str(), last ? mode : 0755) == 0) {
      if (created_in)
        created_in->emplace_back(core::parent_of(part));
    } else if (errno != EEXIST) {
      return false;
    }
    if (last) {
      auto st = stat(rel);
      if (st && st->type == core::file_type::dir)
        return true;
      errno = st && st->type == core::file_type::symlink ? ELOOP : ENOTDIR; // what is in the way
      return false;
    }
    pos = slash + 1;
  }
}

bool folder::rename_into(int from_dir, const std::string& from_name, std::string_view rel) {
  std::string_view leaf;
  auto parent = open_parent(rel, leaf);
  if (!parent)
    return false;
  std::string name(leaf);
  return ::renameat(from_dir, from_name.c_str(), parent.get(), name.c_str()) == 0;
}

bool folder::rename(std::string_view from, std::string_view to) {
  std::string_view lf, lt;
  auto pf = open_parent(from, lf);
  auto pt = open_parent(to, lt);
  if (!pf || !pt)
    return false;
  std::string nf(lf), nt(lt);
  return ::renameat(pf.get(), nf.c_str(), pt.get(), nt.c_str()) == 0;
}

bool folder::remove_file(std::string_view rel) {
  std::string_view leaf;
  auto parent = open_parent(rel, leaf);
  if (!parent)
    return errno == ENOENT;
  std::string name(leaf);
  return ::unlinkat(parent.get(), name.c_str(), 0) == 0 || errno == ENOENT;
}

bool folder::remove_dir(std::string_view rel) {
  std::string_view leaf;
  auto parent = open_parent(rel, leaf);
  if (!parent)
    return errno == ENOENT;
  std::string name(leaf);
  return ::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT;
}

namespace {

// The entry at `rel` itself, for changes made through the descriptor: a symlink put in its place
// (or in any directory above it) fails with ELOOP instead of leading elsewhere, and only a
// directory or a regular file is accepted (EPERM for a FIFO, socket or device). O_NONBLOCK and
// O_NOCTTY keep the open free of side effects; without read permission (a node not running as
// root) it falls back to O_PATH, whose changes go through /proc/self/fd.
unique_fd open_entry(int root, std::string_view rel, bool& by_path) {
  by_path = false;
  unique_fd fd(open_beneath(root, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd && errno == EACCES) {
    by_path = true;
    fd = unique_fd(open_beneath(root, rel, O_PATH | O_NOFOLLOW));
  }
  struct ::stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0)
    return unique_fd();
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
    errno = S_ISLNK(st.st_mode) ? ELOOP : EPERM;
    return unique_fd();
  }
  return fd;
}

std::string proc_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

} // namespace

bool folder::set_times(std::string_view rel, std::int64_t mtime_ns) {
  bool by_path = false;
  auto fd = open_entry(root_fd_.get(), rel, by_path);
  if (!fd)
    return false;
  timespec ts[2];
  mtime_spec(mtime_ns, ts);
  if (by_path)
    return ::utimensat(AT_FDCWD, proc_path(fd.get()).c_str(), ts, 0) == 0;
  return ::futimens(fd.get(), ts) == 0;
}

bool folder::set_mode(std::string_view rel, std::uint32_t mode) {
  bool by_path = false;
  auto fd = open_entry(root_fd_.get(), rel, by_path);
  if (!fd)
    return false;
  if (by_path)
    return ::fchmodat(AT_FDCWD, proc_path(fd.get()).c_str(), mode & 07777, 0) == 0;
  return ::fchmod(fd.get(), mode & 07777) == 0;
}

} // namespace cascade::io
