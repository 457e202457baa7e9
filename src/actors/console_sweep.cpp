#include "actors/console_sweep.hpp"

#include <algorithm>
#include <map>

#include "io/log.hpp"

namespace cascade::actors::console_detail {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

core::actor_status no_answer(std::string kind, std::string name) {
  auto s = core::status_of(std::move(kind), std::move(name), 0);
  s.answered = false;
  s.state = "no answer within " + std::to_string(ask_timeout.count()) + " ms (busy or stopping)";
  return s;
}

std::string session_device(const sweep& sw, std::uint64_t session) {
  if (sw.net)
    for (auto& p : *sw.net)
      if (p.session == session && p.device)
        return core::format_device_id(*p.device);
  return {};
}

std::vector<core::actor_status> all_actors(const sweep& sw) {
  std::vector<core::actor_status> out;
  for (auto& a : sw.top)
    if (!a.kind.empty())
      out.push_back(a);
  out.insert(out.end(), sw.peers.begin(), sw.peers.end());
  for (auto a : sw.transfers) {
    if (a.transfer && a.transfer->upstream.empty())
      a.transfer->upstream = session_device(sw, a.transfer->upstream_session);
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<core::peer_status> all_peers(const sweep& sw) {
  std::vector<core::peer_status> out = sw.net.value_or(std::vector<core::peer_status>{});
  auto row_of = [&](const core::device_id& d) -> core::peer_status* {
    for (auto& p : out)
      if (p.device == d)
        return &p;
    return nullptr;
  };
  // Why a device's last session ended, for devices not connected now (a connected one's
  // earlier session may just have been the losing twin of a simultaneous dial).
  for (auto& [dev, reason] : sw.errors) {
    auto* row = row_of(dev);
    if (row && row->state == "connected")
      continue;
    if (!row) {
      out.push_back({});
      row = &out.back();
      row->device = dev;
      row->state = "disconnected";
    }
    if (row->last_error.empty())
      row->last_error = reason;
  }
  if (sw.index)
    for (auto& [dev, lat] : sw.index->latency_by_peer) {
      auto* row = row_of(dev);
      if (!row) {
        out.push_back({});
        row = &out.back();
        row->device = dev;
        row->state = "disconnected";
      }
      row->latency = lat;
    }
  std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) {
    auto rank = [](const core::peer_status& p) {
      return p.state == "connected" ? 0 : p.state == "dialing" ? 1 : 2;
    };
    if (rank(a) != rank(b))
      return rank(a) < rank(b);
    return a.device < b.device;
  });
  return out;
}

core::node_status node_status(const sweep& sw, const node_context* ctx, const std::string& group,
                              std::int64_t started_ns) {
  core::node_status s;
  s.device_id = core::format_device_id(ctx->self);
  s.group = group;
  s.folder = ctx->folder->root();
  s.state_dir = ctx->state_dir;
  s.uptime_ns = steady_ns() - started_ns;
  s.log_level = io::level_name(io::log_level());
  if (sw.index)
    s.index = *sw.index;
  s.faults = s.index.faults;
  for (auto& a : sw.top)
    if (a.kind == "watcher") {
      s.watcher_pending = a.counter("pending");
      if (auto n = a.counter("unwatched"))
        s.faults.push_back({"unwatched",
                            std::to_string(n) +
                                " directories have no inotify watch (over "
                                "fs.inotify.max_user_watches): their changes are found by a "
                                "rescan every " +
                                std::to_string(io::fs_watcher::rescan_interval_s) + " s",
                            static_cast<std::int64_t>(a.counter("unwatched_since_ns")), n});
    }
  std::stable_sort(s.faults.begin(), s.faults.end(),
                   [](auto& x, auto& y) { return x.since_ns < y.since_ns; });
  for (auto& p : sw.peers) {
    if (!p.answered)
      continue;
    ++s.peers_connected;
    if (p.counter("subscribed") == 0 || p.counter("sent_up_to") < s.index.sequence)
      ++s.peers_behind;
  }
  bool watcher_answered = std::any_of(sw.top.begin(), sw.top.end(),
                                      [](auto& a) { return a.kind == "watcher" && a.answered; });
  auto& i = s.index;
  // A send-only folder's needed records are never applied (console `out-of-sync`).
  s.in_sync = sw.index && watcher_answered && !i.halted && !i.paused &&
              (i.needed_files == 0 || i.mode == "send-only") && i.transfers == 0 &&
              i.waiting == 0 && i.hashing == 0 && i.deletes_held == 0 && s.watcher_pending == 0 &&
              s.peers_behind == 0 &&
              std::all_of(sw.peers.begin(), sw.peers.end(), [](auto& p) { return p.answered; });
  return s;
}

} // namespace cascade::actors::console_detail
