#include "core/relay.hpp"

#include <algorithm>

namespace cascade::core {

std::vector<device_id> plan_chain(std::vector<relay_candidate> candidates) {
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    if (a.rate != b.rate)
      return a.rate > b.rate;
    return a.id < b.id;
  });
  std::vector<device_id> out;
  for (auto& c : candidates)
    if (std::find(out.begin(), out.end(), c.id) == out.end())
      out.push_back(c.id);
  return out;
}

relay_step next_hop(const std::vector<device_id>& plan, const std::vector<device_id>& connected,
                    const std::vector<device_id>& skip) {
  auto has = [](const std::vector<device_id>& v, const device_id& d) {
    return std::find(v.begin(), v.end(), d) != v.end();
  };
  std::vector<device_id> order;
  for (auto& d : plan)
    if (has(connected, d) && !has(skip, d) && !has(order, d))
      order.push_back(d);
  std::vector<device_id> extra;
  for (auto& d : connected)
    if (!has(plan, d) && !has(skip, d) && !has(extra, d))
      extra.push_back(d);
  std::sort(extra.begin(), extra.end());
  order.insert(order.end(), extra.begin(), extra.end());
  relay_step step;
  if (!order.empty()) {
    step.next = order.front();
    step.rest.assign(order.begin() + 1, order.end());
  }
  return step;
}

relay_scope relay_scope_for(std::vector<device_id> rest, std::vector<device_id> visited,
                            const device_id& self, const std::optional<device_id>& upstream) {
  relay_scope out;
  auto add = [&](const device_id& d) {
    if (std::find(out.visited.begin(), out.visited.end(), d) == out.visited.end())
      out.visited.push_back(d);
  };
  for (auto& d : visited)
    add(d);
  if (upstream)
    add(*upstream);
  add(self);
  for (auto& d : rest)
    if (std::find(out.visited.begin(), out.visited.end(), d) == out.visited.end() &&
        std::find(out.rest.begin(), out.rest.end(), d) == out.rest.end())
      out.rest.push_back(d);
  return out;
}

} // namespace cascade::core
