// Content-defined chunking (FastCDC with normalized chunking), so an insertion in a large file
// only changes the chunks near it. Takes bytes, never paths: the caller does the I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cascade::core {

struct cdc_params {
  std::size_t min_size = 32 * 1024;
  std::size_t avg_size = 128 * 1024; // a power of two
  std::size_t max_size = 512 * 1024;
};

// Length of the first chunk of `data`. `data` must hold at least max_size bytes unless it
// reaches the end of the file (`at_eof`); then the last chunk may be shorter than min_size.
// Deterministic for equal bytes, never 0 for non-empty data, never above max_size.
std::size_t next_cut(std::span<const std::uint8_t> data, bool at_eof, const cdc_params& p = {});

} // namespace cascade::core
