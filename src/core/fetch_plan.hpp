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

// Bytes of `now` in chunks that `before` holds too (by hash).
std::uint64_t shared_bytes(const file_record& before, const file_record& now);

// True if a peer holding `before` (the version `now` replaces; null or a deletion: nothing)
// gets `now` sooner by a push of every byte than by a pull that copies what it holds: when
// less than half of `now` is shared. The sender offers only then, and the receiver waits for
// an offer (the pull grace) only then.
bool worth_pushing(const file_record* before, const file_record& now);

// A run of chunks to copy from one local file with a single call: adjacent in the source and in
// the wanted file alike (an edit in the middle of a big file leaves two long runs).
struct copy_run {
  std::uint64_t from_offset = 0; // in the source file
  std::uint64_t to_offset = 0;   // in the wanted file
  std::uint64_t length = 0;
  std::vector<std::size_t> chunks; // indexes into wanted.chunks, ascending
};

// The copies whose source is `path`, merged into runs of at most `max_run` bytes (a run holds
// at least one chunk), in the order of the wanted file.
std::vector<copy_run> copy_runs(const file_record& wanted, const std::vector<chunk_copy>& copies,
                                const std::string& path, std::uint64_t max_run);

// Missing chunks grouped into ranges of adjacent chunks, each at most `max_range` bytes
// (a range holds at least one chunk even when that chunk is larger).
std::vector<byte_range> to_ranges(const file_record& wanted, const std::vector<std::size_t>& idx,
                                  std::uint64_t max_range);

} // namespace cascade::core
