#include "core/partials.hpp"

#include <algorithm>

namespace cascade::core {

void partial_files::put(const file_record& r, std::string tmp_path, std::vector<bool> verified) {
  file f;
  f.e.version = r.version;
  f.e.tmp_path = std::move(tmp_path);
  verified.resize(r.chunks.size(), false);
  f.e.verified = std::move(verified);
  f.chunks.reserve(r.chunks.size());
  for (auto& c : r.chunks)
    f.chunks.emplace_back(c.offset, c.length);
  std::lock_guard lock(mutex_);
  files_[r.path] = std::move(f);
}

std::optional<partial_files::entry> partial_files::find(const std::string& path,
                                                        const version_vector& v) const {
  std::lock_guard lock(mutex_);
  auto it = files_.find(path);
  if (it == files_.end() || !(it->second.e.version == v))
    return std::nullopt;
  return it->second.e;
}

std::optional<partial_files::entry> partial_files::find_any(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = files_.find(path);
  if (it == files_.end())
    return std::nullopt;
  return it->second.e;
}

void partial_files::mark(const std::string& path, const version_vector& v, std::size_t chunk) {
  std::lock_guard lock(mutex_);
  auto it = files_.find(path);
  if (it != files_.end() && it->second.e.version == v && chunk < it->second.e.verified.size())
    it->second.e.verified[chunk] = true;
}

std::optional<std::string> partial_files::erase(const std::string& path) {
  std::lock_guard lock(mutex_);
  auto it = files_.find(path);
  if (it == files_.end())
    return std::nullopt;
  auto tmp = std::move(it->second.e.tmp_path);
  files_.erase(it);
  return tmp;
}

std::vector<bool> partial_files::have(const std::string& path, const version_vector& v) const {
  std::lock_guard lock(mutex_);
  auto it = files_.find(path);
  if (it == files_.end() || !(it->second.e.version == v))
    return {};
  return it->second.e.verified;
}

std::optional<std::string> partial_files::source_for(const std::string& path,
                                                     const version_vector& v,
                                                     const std::vector<byte_range>& ranges) const {
  std::lock_guard lock(mutex_);
  auto it = files_.find(path);
  if (it == files_.end() || !(it->second.e.version == v))
    return std::nullopt;
  auto& f = it->second;
  for (auto& r : ranges) {
    if (r.length == 0)
      continue;
    // The chunk holding the range's first byte: the last one starting at or before it.
    auto c = std::upper_bound(f.chunks.begin(), f.chunks.end(), r.offset,
                              [](std::uint64_t off, auto& ch) { return off < ch.first; });
    if (c == f.chunks.begin())
      return std::nullopt;
    --c;
    const std::uint64_t end = r.offset + r.length;
    for (std::uint64_t at = r.offset; at < end; ++c) {
      if (c == f.chunks.end() || c->first > at || c->first + c->second <= at)
        return std::nullopt; // a hole, or past the end of the file
      if (!f.e.verified[static_cast<std::size_t>(c - f.chunks.begin())])
        return std::nullopt;
      at = c->first + c->second;
    }
  }
  return f.e.tmp_path;
}

std::size_t partial_files::size() const {
  std::lock_guard lock(mutex_);
  return files_.size();
}

} // namespace cascade::core
