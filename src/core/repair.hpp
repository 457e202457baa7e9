// Pull repair (DESIGN.md §4): which peer serves which missing chunk of a file, when several
// peers hold it whole or in part (a relay still receiving it, or one whose upstream died).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/record.hpp"

namespace cascade::core {

// What one peer said it holds of the wanted version.
struct chunk_holder {
  std::size_t source = 0; // the caller's index for the peer
  bool complete = false;  // the whole file (then `has` is ignored)
  std::vector<bool> has;  // per chunk of the record, for a partial holder
  bool holds(std::size_t chunk) const { return complete || (chunk < has.size() && has[chunk]); }
};

struct repair_assignment {
  std::size_t source = 0;
  std::vector<std::size_t> chunks; // ascending
};

struct repair_plan {
  std::vector<repair_assignment> fetches; // at most one per source, none empty
  std::vector<std::size_t> unheld;        // missing chunks no holder has (ascending)
};

// Spreads `missing` (chunk indexes of `wanted`, any order) over the holders: runs of up to
// `run` consecutive missing chunks go whole to the least loaded holder that has all of them
// (few ranges per fetch); a run no single holder covers is split chunk by chunk. Load is
// counted in bytes, so every holder serves about an equal share; ties go to complete holders,
// then to the earlier holder. Deterministic.
repair_plan plan_repair(const file_record& wanted, std::vector<std::size_t> missing,
                        const std::vector<chunk_holder>& holders, std::size_t run = 8);

// Tier by tier: what no holder of one tier has goes to the next (the transfer's tiers: peers
// in good standing; then peers that sent bad bytes for this file before; then the announcer of
// the version, presumed to hold it whole). A source in several tiers gets one fetch.
repair_plan plan_repair_tiers(const file_record& wanted, std::vector<std::size_t> missing,
                              const std::vector<std::vector<chunk_holder>>& tiers,
                              std::size_t run = 8);

} // namespace cascade::core
