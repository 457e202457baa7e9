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

std::uint64_t shared_bytes(const file_record& before, const file_record& now) {
  std::vector<sha256_digest> held;
  held.reserve(before.chunks.size());
  for (auto& c : before.chunks)
    held.push_back(c.hash);
  std::sort(held.begin(), held.end());
  std::uint64_t n = 0;
  for (auto& c : now.chunks)
    if (std::binary_search(held.begin(), held.end(), c.hash))
      n += c.length;
  return n;
}

bool worth_pushing(const file_record* before, const file_record& now) {
  if (!before || before->deleted || before->type != file_type::file)
    return true;
  return shared_bytes(*before, now) * 2 <= now.size;
}

std::vector<copy_run> copy_runs(const file_record& wanted, const std::vector<chunk_copy>& copies,
                                const std::string& path, std::uint64_t max_run) {
  std::vector<const chunk_copy*> mine;
  for (auto& c : copies)
    if (c.from.path == path && c.chunk_index < wanted.chunks.size())
      mine.push_back(&c);
  std::sort(mine.begin(), mine.end(),
            [](auto* a, auto* b) { return a->chunk_index < b->chunk_index; });
  std::vector<copy_run> out;
  for (auto* c : mine) {
    const chunk& ch = wanted.chunks[c->chunk_index];
    if (!out.empty()) {
      auto& run = out.back();
      if (run.chunks.back() == c->chunk_index)
        continue; // listed twice
      if (run.from_offset + run.length == c->from.offset &&
          run.to_offset + run.length == ch.offset && run.length + ch.length <= max_run) {
        run.length += ch.length;
        run.chunks.push_back(c->chunk_index);
        continue;
      }
    }
    out.push_back({c->from.offset, ch.offset, ch.length, {c->chunk_index}});
  }
  return out;
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
