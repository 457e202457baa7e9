// The file record: what the index stores and peers exchange for every path.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/version_vector.hpp"

namespace cascade::core {

// A file this small travels with its record in the index update (read, checked against its
// hashes, sent, checked again and installed in the batch's one transaction) instead of by a
// transfer of its own: one block of Syncthing's smallest block size. Per file, a transfer costs
// an actor, a thread, an offer and a stream; measured on a burst of 10,000 files of 100 KiB,
// records with data took 0.43x the CPU and 0.61x the time of transfers (tools/bench-load).
// A peer refuses a record whose data is larger.
inline constexpr std::uint64_t inline_limit = 128 * 1024;

using sha256_digest = std::array<std::uint8_t, 32>;

struct chunk {
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  sha256_digest hash{};
  friend bool operator==(const chunk&, const chunk&) = default;
};

enum class file_type : std::uint8_t { file = 0, dir = 1, symlink = 2 };

struct file_record {
  std::string path; // validated, canonical, relative
  file_type type = file_type::file;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint32_t mode = 0; // permission bits only (07777)
  bool deleted = false;
  version_vector version;
  std::uint64_t sequence = 0; // local sequence number of the node that holds the record
  short_id modified_by = 0;   // device whose change made this version
  std::vector<chunk> chunks;  // files only; empty for dirs, symlinks and deletions
  std::string symlink_target; // symlinks only
  // Wall-clock time (ns) the source's watcher saw the change; carried unchanged by relays, so
  // every receiver can measure propagation latency. 0: unknown (an older peer, a rescan).
  std::int64_t changed_at_ns = 0;
};

// True if two records describe the same content and metadata (ignores sequence and version).
bool same_content(const file_record& a, const file_record& b);

} // namespace cascade::core
