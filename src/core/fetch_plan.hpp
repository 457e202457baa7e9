// Block planning: which chunks of a wanted file can be copied from data we already hold, and
// which byte ranges must come over the network.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/record.hpp"

namespace cascade::core {

struct local_source {
  std::string path; // a file of the folder (or a partial file) that holds the bytes
  std::uint64_t offset = 0;
};

struct chunk_copy {
  std::size_t chunk_index = 0; // into the wanted record's chunks
  local_source from;
};

struct byte_range {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  friend bool operator==(const byte_range&, const byte_range&) = default;
};

struct fetch_plan {
  std::vector<chunk_copy> copies;   // chunks to copy locally (then verify)
  std::vector<std::size_t> missing; // chunk indexes to fetch, ascending
};

using chunk_lookup = std::function<std::optional<local_source>(const sha256_digest&)>;

fetch_plan plan_fetch(const file_record& wanted, const chunk_lookup& lookup);

// Missing chunks grouped into ranges of adjacent chunks, each at most `max_range` bytes
// (a range holds at least one chunk even when that chunk is larger).
std::vector<byte_range> to_ranges(const file_record& wanted, const std::vector<std::size_t>& idx,
                                  std::uint64_t max_range);

} // namespace cascade::core
