#include "io/file_space.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/copy_range.hpp"
#include "io/folder.hpp"
#include "io/tmp_dir.hpp"

namespace cascade::io {

namespace {

class disk_file final : public open_file {
public:
  explicit disk_file(unique_fd fd) : fd_(std::move(fd)) {}

  bool read_at(std::uint64_t offset, std::span<std::uint8_t> out) override {
    return io::read_at(fd_.get(), out, offset);
  }

  bool write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    if (!io::write_at(fd_.get(), data.data(), data.size(), offset))
      return false;
    // Start the write-back of what is written every few MiB (it runs while the rest arrives),
    // so that seal()'s fsync waits only for the tail instead of the whole file.
    unflushed_ += data.size();
    if (unflushed_ >= writeback_every) {
      unflushed_ = 0;
      ::sync_file_range(fd_.get(), 0, 0, SYNC_FILE_RANGE_WRITE); // a hint: errors show at fsync
    }
    return true;
  }

  std::optional<file_identity> identity() const override {
    struct ::stat st {};
    if (::fstat(fd_.get(), &st) != 0)
      return std::nullopt;
    file_identity id;
    id.regular = S_ISREG(st.st_mode);
    id.inode = st.st_ino;
    id.size = static_cast<std::uint64_t>(st.st_size);
    id.mtime_ns = to_local_stat(st).mtime_ns;
    id.ctime_ns = std::int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec;
    return id;
  }

  bool resize(std::uint64_t size) override {
    return ::ftruncate(fd_.get(), static_cast<off_t>(size)) == 0;
  }

  std::string seal(std::uint32_t mode, std::int64_t mtime_ns) override {
    // Mode and time first, then fsync: the mtime is part of what becomes durable.
    timespec ts[2];
    mtime_spec(mtime_ns, ts);
    if (::fchmod(fd_.get(), mode & 07777) != 0 || ::futimens(fd_.get(), ts) != 0)
      return std::string("cannot set mode and mtime of the temp file: ") + std::strerror(errno);
    if (::fsync(fd_.get()) != 0)
      return std::string("cannot sync the temp file: ") + std::strerror(errno);
    return "";
  }

  bool copy_from(open_file& from, std::uint64_t from_offset, std::uint64_t to_offset,
                 std::uint64_t length) override {
    auto* disk = dynamic_cast<disk_file*>(&from);
    if (disk == nullptr) {
      errno = EXDEV;
      return false;
    }
    return copy_range(disk->fd_.get(), from_offset, fd_.get(), to_offset, length);
  }

private:
  static constexpr std::uint64_t writeback_every = 8 << 20;
  unique_fd fd_;
  std::uint64_t unflushed_ = 0; // bytes written since the last write-back began
};

std::unique_ptr<open_file> wrap(unique_fd fd) {
  if (!fd)
    return nullptr;
  return std::make_unique<disk_file>(std::move(fd));
}

} // namespace

std::optional<indexed_file> open_indexed(const file_space& files, std::string_view rel,
                                         std::uint64_t inode, std::uint64_t size,
                                         std::int64_t mtime_ns) {
  auto in = files.open_read(rel);
  auto seen = in ? in->identity() : std::nullopt;
  if (!seen || !seen->regular || seen->inode != inode || seen->size != size ||
      seen->mtime_ns != mtime_ns)
    return std::nullopt;
  return indexed_file{std::move(in), *seen};
}

std::unique_ptr<open_file> disk_space::open_read(std::string_view rel) const {
  return wrap(folder_.open_read(rel));
}

std::unique_ptr<open_file> disk_space::create_temp(const std::string& path) const {
  return wrap(tmp_.create(path));
}

std::unique_ptr<open_file> disk_space::reopen_temp(const std::string& path) const {
  return wrap(tmp_.reopen(path));
}

bool disk_space::remove_temp(const std::string& path) const {
  return tmp_.remove(path);
}

} // namespace cascade::io
