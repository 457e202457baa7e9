#include "core/repair.hpp"

#include <algorithm>
#include <map>

namespace cascade::core {

repair_plan plan_repair(const file_record& wanted, std::vector<std::size_t> missing,
                        const std::vector<chunk_holder>& holders, std::size_t run) {
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  missing.erase(std::remove_if(missing.begin(), missing.end(),
                               [&](std::size_t i) { return i >= wanted.chunks.size(); }),
                missing.end());
  run = std::max<std::size_t>(run, 1);

  repair_plan plan;
  std::vector<std::uint64_t> load(holders.size(), 0);
  std::map<std::size_t, std::vector<std::size_t>> by_source; // holder position -> chunks

  // The least loaded holder (complete first on ties) among those `ok` accepts.
  auto pick = [&](auto ok) -> std::optional<std::size_t> {
    std::optional<std::size_t> best;
    for (std::size_t h = 0; h < holders.size(); ++h) {
      if (!ok(holders[h]))
        continue;
      if (!best || load[h] < load[*best] ||
          (load[h] == load[*best] && holders[h].complete && !holders[*best].complete))
        best = h;
    }
    return best;
  };
  auto assign = [&](std::size_t h, std::size_t chunk) {
    by_source[h].push_back(chunk);
    load[h] += wanted.chunks[chunk].length;
  };

  for (std::size_t start = 0; start < missing.size(); start += run) {
    const std::size_t end = std::min(start + run, missing.size());
    auto whole = pick([&](const chunk_holder& h) {
      for (std::size_t k = start; k < end; ++k)
        if (!h.holds(missing[k]))
          return false;
      return true;
    });
    for (std::size_t k = start; k < end; ++k) {
      auto h = whole ? whole : pick([&](const chunk_holder& c) { return c.holds(missing[k]); });
      if (h)
        assign(*h, missing[k]);
      else
        plan.unheld.push_back(missing[k]);
    }
  }
  for (auto& [h, chunks] : by_source)
    plan.fetches.push_back({holders[h].source, std::move(chunks)});
  return plan;
}

repair_plan plan_repair_tiers(const file_record& wanted, std::vector<std::size_t> missing,
                              const std::vector<std::vector<chunk_holder>>& tiers,
                              std::size_t run) {
  repair_plan plan;
  plan.unheld = std::move(missing);
  bool first = true;
  for (auto& tier : tiers) {
    if (!first && plan.unheld.empty())
      break;
    auto q = plan_repair(wanted, std::move(plan.unheld), tier, run);
    first = false;
    for (auto& f : q.fetches) {
      auto it = std::find_if(plan.fetches.begin(), plan.fetches.end(),
                             [&](auto& g) { return g.source == f.source; });
      if (it == plan.fetches.end()) {
        plan.fetches.push_back(std::move(f));
        continue;
      }
      it->chunks.insert(it->chunks.end(), f.chunks.begin(), f.chunks.end());
      std::sort(it->chunks.begin(), it->chunks.end());
    }
    plan.unheld = std::move(q.unheld);
  }
  if (first) // no tiers: nothing is held, but the list is still cleaned up
    plan = plan_repair(wanted, std::move(plan.unheld), {}, run);
  return plan;
}

} // namespace cascade::core
