// A file's chunk list told as an edit of an earlier version's list (issue 11.6): a 1 MiB edit
// in a 1 GiB file changes about ten of its 7,000 chunks, so a peer that holds the earlier
// version's record needs those ten and where they go, not the whole list again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.hpp"
#include "core/version_vector.hpp"

namespace cascade::core {

// One step of an edit: the base's chunks [base_first, base_first + base_count), then `added`.
struct delta_step {
  std::uint32_t base_first = 0;
  std::uint32_t base_count = 0;
  std::vector<chunk> added; // offsets as in the new list
  friend bool operator==(const delta_step&, const delta_step&) = default;
};

struct chunk_delta {
  version_vector base; // the version whose chunk list the steps edit
  std::vector<delta_step> steps;
  friend bool operator==(const chunk_delta&, const chunk_delta&) = default;
};

// Below this many chunks a list is sent whole: a delta saves too little to be worth a base.
inline constexpr std::size_t min_delta_chunks = 64;

// `next` as an edit of `base` (a run of base chunks is kept wherever the same hashes follow in
// the same order), or nullopt when that would not be at most half the size of `next` itself
// on the wire, or `next` is short.
std::optional<chunk_delta> make_delta(const version_vector& base_version,
                                      const std::vector<chunk>& base,
                                      const std::vector<chunk>& next);

// At most this many chunks come out of a delta (what a whole list in one message could hold),
// so a hostile delta repeating its base cannot make a list bigger than a whole one.
inline constexpr std::size_t max_delta_result = std::size_t{1} << 20;

// The chunk list the delta describes for a file of `size` bytes, or nullopt if it does not fit
// `base` (a step reaching past its end, added chunks whose offsets do not follow on, an empty
// chunk) or does not cover exactly `size` bytes in at most max_delta_result chunks.
std::optional<std::vector<chunk>> apply_delta(const chunk_delta& d, const std::vector<chunk>& base,
                                              std::uint64_t size);

// Chunks the delta adds, and the wire bytes it takes roughly (for batch sizing).
std::size_t added_chunks(const chunk_delta& d);
std::size_t wire_bytes(const chunk_delta& d);

// Compact binary form for the index database.
std::string encode(const chunk_delta& d);
std::optional<chunk_delta> decode_delta(std::string_view blob);

} // namespace cascade::core
