#include "io/versions.hpp"

#include <fcntl.h>
#include <stdio.h> // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/path.hpp"
#include "io/tmp_dir.hpp"

namespace cascade::io {

namespace {

constexpr unsigned max_same_second = 1000; // versions of one path within one second

} // namespace

versions_dir::versions_dir(const std::string& path) : dir_(path, open_private_dir(path)) {}

std::optional<std::string> versions_dir::keep(const folder& f, std::string_view rel,
                                              std::int64_t now_s, bool link) {
  std::string_view leaf;
  auto from = f.open_parent(rel, leaf);
  if (!from)
    return std::nullopt;
  std::string from_name(leaf);
  struct ::stat st {};
  if (::fstatat(from.get(), from_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISREG(st.st_mode)) {
    errno = 0; // gone, or no regular file: nothing to keep
    return std::nullopt;
  }
  auto parent = core::parent_of(rel);
  if (!parent.empty() && !dir_.make_dirs(parent, 0700))
    return std::nullopt;
  for (unsigned n = 1; n <= max_same_second; ++n) {
    auto name = core::version_name(rel, now_s, n);
    std::string_view vleaf;
    auto to = dir_.open_parent(name, vleaf);
    if (!to)
      return std::nullopt;
    std::string to_name(vleaf);
    int rc = -1;
    if (link) {
      rc = ::linkat(from.get(), from_name.c_str(), to.get(), to_name.c_str(), 0);
      if (rc != 0 && (errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK))
        link = false; // no hard links here: the file moves, the new one follows at once
    }
    if (!link)
      rc = ::renameat2(from.get(), from_name.c_str(), to.get(), to_name.c_str(), RENAME_NOREPLACE);
    if (rc == 0)
      return name;
    if (errno != EEXIST)
      return std::nullopt;
  }
  errno = EEXIST;
  return std::nullopt;
}

std::vector<core::version_file> versions_dir::list() const {
  std::vector<core::version_file> out;
  for (auto& name : dir_.walk("")) {
    auto id = core::parse_version_name(name);
    if (!id)
      continue;
    auto st = dir_.stat(name);
    if (st && st->type == core::file_type::file)
      out.push_back({name, id->time_s, st->size, id->n});
  }
  return out;
}

void versions_dir::prune_parents(std::string_view name) {
  for (auto p = core::parent_of(name); !p.empty(); p = core::parent_of(p))
    if (!dir_.remove_dir(p))
      break; // not empty: neither are those above it
}

bool versions_dir::remove(const std::string& name) {
  if (!dir_.remove_file(name))
    return false;
  prune_parents(name);
  return true;
}

bool versions_dir::restore(const std::string& name, folder& f, std::string_view rel) {
  auto parent = core::parent_of(rel);
  if (!parent.empty() && !f.make_dirs(parent, 0755))
    return false;
  std::string_view vleaf, leaf;
  auto from = dir_.open_parent(name, vleaf);
  auto to = f.open_parent(rel, leaf);
  if (!from || !to)
    return false;
  std::string from_name(vleaf), to_name(leaf);
  if (::renameat(from.get(), from_name.c_str(), to.get(), to_name.c_str()) != 0)
    return false;
  prune_parents(name);
  return true;
}

} // namespace cascade::io
