#include "io/memory_space.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cascade::io {

struct memory_space::shared {
  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<entry>, std::less<>> files;
  std::map<std::string, std::shared_ptr<entry>, std::less<>> temps;
  std::uint64_t next_inode = 1;
  std::int64_t clock = 0; // ctime_ns of the next change
  bool fail_writes = false;

  // An open file of the entry `key` of `in`; null with ENOENT if there is none.
  std::unique_ptr<open_file> open(std::shared_ptr<shared> self,
                                  const std::map<std::string, std::shared_ptr<entry>, std::less<>>& in,
                                  std::string_view key, bool writable);

  std::shared_ptr<entry> fresh(std::uint32_t mode) {
    auto e = std::make_shared<entry>();
    e->mode = mode;
    e->inode = next_inode++;
    e->ctime_ns = ++clock;
    return e;
  }
};

namespace {

class memory_file final : public open_file {
public:
  memory_file(std::shared_ptr<memory_space::shared> s, std::shared_ptr<memory_space::entry> e,
              bool writable)
      : s_(std::move(s)), e_(std::move(e)), writable_(writable) {}

  bool read_at(std::uint64_t offset, std::span<std::uint8_t> out) override {
    std::lock_guard lock(s_->mutex);
    if (offset > e_->bytes.size() || e_->bytes.size() - offset < out.size())
      return false;
    std::copy_n(e_->bytes.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
    return true;
  }

  bool write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    std::lock_guard lock(s_->mutex);
    if (!may_write())
      return false;
    if (e_->bytes.size() < offset + data.size())
      e_->bytes.resize(offset + data.size());
    std::copy(data.begin(), data.end(), e_->bytes.begin() + static_cast<std::ptrdiff_t>(offset));
    e_->ctime_ns = ++s_->clock;
    return true;
  }

  std::optional<file_identity> identity() const override {
    std::lock_guard lock(s_->mutex);
    return file_identity{true, e_->inode, e_->bytes.size(), e_->mtime_ns, e_->ctime_ns};
  }

  bool resize(std::uint64_t size) override {
    std::lock_guard lock(s_->mutex);
    if (!may_write())
      return false;
    e_->bytes.resize(size);
    e_->ctime_ns = ++s_->clock;
    return true;
  }

  std::string seal(std::uint32_t mode, std::int64_t mtime_ns) override {
    std::lock_guard lock(s_->mutex);
    if (!may_write())
      return std::string("cannot sync the temp file: ") + std::strerror(errno);
    e_->mode = mode & 07777;
    e_->mtime_ns = mtime_ns;
    e_->sealed = true;
    e_->ctime_ns = ++s_->clock;
    return "";
  }

  bool copy_from(open_file& from, std::uint64_t from_offset, std::uint64_t to_offset,
                 std::uint64_t length) override {
    std::vector<std::uint8_t> buf(length);
    return from.read_at(from_offset, buf) && write_at(to_offset, buf);
  }

private:
  bool may_write() {
    if (!writable_) {
      errno = EBADF;
      return false;
    }
    if (s_->fail_writes) {
      errno = ENOSPC;
      return false;
    }
    return true;
  }

  std::shared_ptr<memory_space::shared> s_;
  std::shared_ptr<memory_space::entry> e_;
  bool writable_;
};

} // namespace

std::unique_ptr<open_file>
memory_space::shared::open(std::shared_ptr<shared> self,
                           const std::map<std::string, std::shared_ptr<entry>, std::less<>>& in,
                           std::string_view key, bool writable) {
  auto it = in.find(key);
  if (it == in.end()) {
    errno = ENOENT;
    return nullptr;
  }
  return std::make_unique<memory_file>(std::move(self), it->second, writable);
}

memory_space::memory_space() : s_(std::make_shared<shared>()) {}

void memory_space::put(const std::string& rel, std::vector<std::uint8_t> bytes,
                       std::int64_t mtime_ns) {
  std::lock_guard lock(s_->mutex);
  auto e = s_->fresh(0644);
  e->bytes = std::move(bytes);
  e->mtime_ns = mtime_ns;
  s_->files[rel] = std::move(e);
}

void memory_space::scribble(const std::string& rel, std::uint64_t at, std::int64_t mtime_ns) {
  std::lock_guard lock(s_->mutex);
  auto& e = *s_->files.at(rel);
  e.bytes.at(at) ^= 0xff;
  e.mtime_ns = mtime_ns;
  e.ctime_ns = ++s_->clock;
}

void memory_space::erase(const std::string& rel) {
  std::lock_guard lock(s_->mutex);
  s_->files.erase(rel);
}

std::optional<memory_space::entry> memory_space::temp(const std::string& path) const {
  std::lock_guard lock(s_->mutex);
  auto it = s_->temps.find(path);
  if (it == s_->temps.end())
    return std::nullopt;
  return *it->second;
}

std::size_t memory_space::temp_count() const {
  std::lock_guard lock(s_->mutex);
  return s_->temps.size();
}

void memory_space::fail_writes(bool on) {
  std::lock_guard lock(s_->mutex);
  s_->fail_writes = on;
}

std::unique_ptr<open_file> memory_space::open_read(std::string_view rel) const {
  std::lock_guard lock(s_->mutex);
  return s_->open(s_, s_->files, rel, false);
}

std::unique_ptr<open_file> memory_space::create_temp(const std::string& path) const {
  std::lock_guard lock(s_->mutex);
  if (s_->temps.count(path) != 0) {
    errno = EEXIST;
    return nullptr;
  }
  if (s_->fail_writes) {
    errno = ENOSPC;
    return nullptr;
  }
  auto e = s_->fresh(0600);
  s_->temps[path] = e;
  return std::make_unique<memory_file>(s_, std::move(e), true);
}

std::unique_ptr<open_file> memory_space::reopen_temp(const std::string& path) const {
  std::lock_guard lock(s_->mutex);
  return s_->open(s_, s_->temps, path, true);
}

bool memory_space::remove_temp(const std::string& path) const {
  std::lock_guard lock(s_->mutex);
  s_->temps.erase(path);
  return true;
}

} // namespace cascade::io
