// What the transfer and upload actors do to files, behind one interface: they read the folder's
// files (a push's source, local copies of chunks) and write temp files in the state directory.
// io::disk_space is the folder and its tmp_dir on disk; io::memory_space (memory_space.hpp) keeps
// both in memory, so the actor tests run those actors under CAF's test coordinator without a
// disk and can make a write fail on demand.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cascade::io {

class folder;
class tmp_dir;

// What an open file says about itself: enough to tell that it is still the file the index
// hashed (inode, size, mtime) and that nothing changed it meanwhile (ctime).
struct file_identity {
  bool regular = true;
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  friend bool operator==(const file_identity&, const file_identity&) = default;
};

class open_file {
public:
  virtual ~open_file() = default;
  // Reads exactly out.size() bytes at `offset`; false on an error or a short read.
  virtual bool read_at(std::uint64_t offset, std::span<std::uint8_t> out) = 0;
  // Writes all of `data` at `offset`; false (errno set) on an error.
  virtual bool write_at(std::uint64_t offset, std::span<const std::uint8_t> data) = 0;
  virtual std::optional<file_identity> identity() const = 0;
  virtual bool resize(std::uint64_t size) = 0;
  // Gives the file its mode and mtime, then makes it durable (fsync): "" or what failed.
  virtual std::string seal(std::uint32_t mode, std::int64_t mtime_ns) = 0;
  // Copies `length` bytes of `from` at `from_offset` to `to_offset` here (in the kernel where
  // both are on disk); false (errno set) on an error or if `from` ends early.
  virtual bool copy_from(open_file& from, std::uint64_t from_offset, std::uint64_t to_offset,
                         std::uint64_t length) = 0;
};

class file_space {
public:
  virtual ~file_space() = default;
  // An entry of the folder for reading, reached beneath its root without symlinks (a FIFO in
  // a file's place cannot hang the reader; identity() tells a regular file); null (errno set)
  // if it cannot be opened.
  virtual std::unique_ptr<open_file> open_read(std::string_view rel) const = 0;
  // A temp file (an absolute path from tmp_dir::new_path): created fresh (O_EXCL), reopened to
  // resume (only a plain file of ours), or removed. Null (errno set) on failure.
  virtual std::unique_ptr<open_file> create_temp(const std::string& path) const = 0;
  virtual std::unique_ptr<open_file> reopen_temp(const std::string& path) const = 0;
  virtual bool remove_temp(const std::string& path) const = 0;
};

// A file of the folder opened only while it is the one the index recorded (a regular file with
// the recorded inode, size and mtime); `unchanged()` after reading or copying it says nothing
// changed it meanwhile (its identity, ctime included, is the same). Every receiver checks the
// hashes: this cheap check is what spares the sender a second SHA-256 pass.
struct indexed_file {
  std::unique_ptr<open_file> file;
  file_identity seen;
  bool unchanged() const { return file->identity() == seen; }
};
std::optional<indexed_file> open_indexed(const file_space& files, std::string_view rel,
                                         std::uint64_t inode, std::uint64_t size,
                                         std::int64_t mtime_ns);

// The folder and the state directory's tmp on disk (both outlive this object).
class disk_space final : public file_space {
public:
  disk_space(const folder& f, const tmp_dir& t) : folder_(f), tmp_(t) {}
  std::unique_ptr<open_file> open_read(std::string_view rel) const override;
  std::unique_ptr<open_file> create_temp(const std::string& path) const override;
  std::unique_ptr<open_file> reopen_temp(const std::string& path) const override;
  bool remove_temp(const std::string& path) const override;

private:
  const folder& folder_;
  const tmp_dir& tmp_;
};

} // namespace cascade::io
