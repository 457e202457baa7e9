// Files this node is receiving (or stopped receiving halfway): their temp file and which chunks
// of it are verified. Shared between the transfer actors (they mark chunks), the index (it
// resumes a failed transfer from here) and the network thread (it serves verified chunks to
// peers that repair from us: DESIGN.md §4, "partial holders included"). Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/fetch_plan.hpp"
#include "core/record.hpp"

namespace cascade::core {

class partial_files {
public:
  struct entry {
    version_vector version;
    std::string tmp_path;
    std::vector<bool> verified; // per chunk of the record
  };

  // Starts (or restarts) tracking `r`'s temp file; `verified` sized like r.chunks.
  void put(const file_record& r, std::string tmp_path, std::vector<bool> verified);
  // The entry of `path` if it is of version `v`.
  std::optional<entry> find(const std::string& path, const version_vector& v) const;
  // The entry of `path` whatever its version.
  std::optional<entry> find_any(const std::string& path) const;
  // Chunk `chunk` of `path` (version `v`) is written and its hash checked.
  void mark(const std::string& path, const version_vector& v, std::size_t chunk);
  // Stops tracking `path`; returns its temp file (for the caller to delete or keep).
  std::optional<std::string> erase(const std::string& path);
  // Which chunks of version `v` of `path` we hold verified (empty: none, or another version).
  std::vector<bool> have(const std::string& path, const version_vector& v) const;
  // The temp file that holds every byte of `ranges` of version `v` of `path` in verified
  // chunks, or nullopt.
  std::optional<std::string> source_for(const std::string& path, const version_vector& v,
                                        const std::vector<byte_range>& ranges) const;
  std::size_t size() const;

private:
  struct file {
    entry e;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> chunks; // (offset, length)
  };
  mutable std::mutex mutex_;
  std::map<std::string, file> files_;
};

} // namespace cascade::core
