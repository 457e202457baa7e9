// One sweep of the console actor (console.cpp): what it gathered from every actor, the index
// and the network, and the answers built from it. Internal to actors/.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/actors.hpp"

namespace cascade::actors::console_detail {

inline constexpr auto ask_timeout = std::chrono::milliseconds(1500);

std::int64_t steady_ns();

// Everything one sweep gathered; `finish` runs once, when the last answer (or deadline) is in.
struct sweep {
  std::size_t pending = 1;             // one for the sweep being set up
  std::vector<core::actor_status> top; // node, watcher, index, scanner, discovery, console
  std::vector<core::actor_status> peers, transfers;
  std::optional<core::index_summary> index;
  std::optional<std::vector<core::peer_status>> net;
  std::vector<std::pair<core::device_id, std::string>> errors;
  std::function<void(sweep&)> finish;

  void done() {
    if (--pending == 0 && finish) {
      auto f = std::move(finish);
      f(*this);
    }
  }
};

// A status row for an actor that did not answer within ask_timeout.
core::actor_status no_answer(std::string kind, std::string name);

// The answers built from a finished sweep.
std::vector<core::actor_status> all_actors(const sweep& sw);
std::vector<core::peer_status> all_peers(const sweep& sw);
core::node_status node_status(const sweep& sw, const node_context* ctx, const std::string& group,
                              std::int64_t started_ns);

} // namespace cascade::actors::console_detail
