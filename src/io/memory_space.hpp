// The in-memory twin of io::disk_space for the actor tests: the folder's files and the temp
// files are byte vectors, an open file keeps its entry like an inode does (a file replaced under
// its name stays what the reader opened), and a write can be made to fail as on a full disk.
// Thread-safe: a test reads what an actor wrote while other actors run.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "io/file_space.hpp"

namespace cascade::io {

class memory_space final : public file_space {
public:
  struct entry {
    std::vector<std::uint8_t> bytes;
    std::uint32_t mode = 0600;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0; // a counter: every change moves it
    std::uint64_t inode = 0;
    bool sealed = false; // given its mode and time and made durable (a temp file)
  };

  memory_space();

  // The folder, as a local user changes it: writes `rel` (a new inode, like a rename into place).
  void put(const std::string& rel, std::vector<std::uint8_t> bytes, std::int64_t mtime_ns);
  // Overwrites byte `at` of `rel` in place and moves its mtime (same inode).
  void scribble(const std::string& rel, std::uint64_t at, std::int64_t mtime_ns);
  void erase(const std::string& rel);
  // What a temp file holds now (a copy), if it exists.
  std::optional<entry> temp(const std::string& path) const;
  std::size_t temp_count() const;
  // From now on every write, resize and seal fails with ENOSPC (true) or works again (false).
  void fail_writes(bool on);

  std::unique_ptr<open_file> open_read(std::string_view rel) const override;
  std::unique_ptr<open_file> create_temp(const std::string& path) const override;
  std::unique_ptr<open_file> reopen_temp(const std::string& path) const override;
  bool remove_temp(const std::string& path) const override;

  struct shared; // the state open files share with the space

private:
  std::shared_ptr<shared> s_;
};

} // namespace cascade::io
