#include "core/fetch_plan.hpp"

#include <algorithm>
#include <cassert>

namespace cascade::core {

fetch_plan plan_fetch(const file_record& wanted, const chunk_lookup& lookup) {
  fetch_plan plan;
  // Only regular files have bytes; dirs, symlinks and deletions are applied from the record.
  if (wanted.type != file_type::file || wanted.deleted)
    return plan;
  for (std::size_t i = 0; i < wanted.chunks.size(); ++i) {
    // A chunk repeated inside the wanted file is looked up each time: the lookup may already
    // know the partial file, and keeping the plan per-chunk keeps it simple to verify.
    if (auto source = lookup(wanted.chunks[i].hash))
      plan.copies.push_back({i, std::move(*source)});
    else
      plan.missing.push_back(i);
  }
  return plan;
}

std::vector<byte_range> to_ranges(const file_record& wanted, const std::vector<std::size_t>& idx,
                                  std::uint64_t max_range) {
  std::vector<std::size_t> order(idx);
  if (!std::is_sorted(order.begin(), order.end()))
    std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());

  std::vector<byte_range> out;
  for (const std::size_t i : order) {
    assert(i < wanted.chunks.size());
    if (i >= wanted.chunks.size())
      continue; // a stale index: nothing to fetch for it
    const chunk& c = wanted.chunks[i];
    // One request per run of adjacent chunks cuts round trips; max_range bounds each reply.
    if (!out.empty() && out.back().offset + out.back().length == c.offset &&
        out.back().length + c.length <= max_range) {
      out.back().length += c.length;
    } else {
      out.push_back({c.offset, c.length});
    }
  }
  return out;
}

} // namespace cascade::core
