// The watcher actor: folds the libuv thread's inotify events into scan requests.
#include <chrono>
#include <map>

#include "actors/actors.hpp"
#include "core/coalescer.hpp"

namespace cascade::actors {

namespace {

// The actor system's clock: real time in a node, manual time under the testing scheduler.
std::int64_t now_ns(caf::local_actor* self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             self->clock().now().time_since_epoch())
      .count();
}

// Wall-clock time: what propagation latency is measured against on every node.
std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct watcher_state {
  static inline const char* name = "watcher";
  core::coalescer pending;
  std::optional<std::int64_t> tick_at; // when the next tick is scheduled
  std::uint64_t events = 0, scans = 0;
  std::map<std::string, std::int64_t> seen_at; // pending path -> wall time of its first event
  std::int64_t unwatched_since = 0; // wall ns: since when directories have no watch (0: none)
};

watcher_actor::behavior_type watcher(watcher_actor::stateful_pointer<watcher_state> self,
                                     scan_sink_actor index, const node_context* ctx) {
  // Sends what is due and schedules a tick for what is not due yet.
  auto flush = [self, index] {
    auto& st = self->state;
    auto now = now_ns(self);
    auto due = st.pending.take_due(now);
    if (!due.empty()) {
      std::vector<std::int64_t> seen;
      seen.reserve(due.size());
      for (auto& p : due) {
        auto it = st.seen_at.find(p);
        seen.push_back(it == st.seen_at.end() ? 0 : it->second);
        if (it != st.seen_at.end())
          st.seen_at.erase(it);
      }
      ++st.scans;
      self->send(index, scan_atom::value, std::move(due), std::move(seen));
    }
    auto next = st.pending.next_due();
    if (next && (!st.tick_at || *next < *st.tick_at || *st.tick_at <= now)) {
      st.tick_at = *next;
      auto wait = std::chrono::nanoseconds(std::max<std::int64_t>(*next - now, 0));
      self->delayed_send(self, wait, tick_atom::value);
    }
  };
  return {
      [self, flush](fs_events_atom, const std::vector<io::watch_event>& events) {
        auto now = now_ns(self);
        auto wall = wall_ns();
        self->state.events += events.size();
        for (auto& e : events) {
          self->state.pending.on_event(e.path, e.kind, now);
          self->state.seen_at.try_emplace(e.path, wall);
        }
        flush();
      },
      [self, flush](tick_atom) {
        self->state.tick_at.reset();
        flush();
      },
      [self, index](overflow_atom) { self->send(index, rescan_atom::value); },
      [self, index](unwatched_atom a, std::vector<std::string>& roots) {
        if (self->state.unwatched_since == 0 && !roots.empty())
          self->state.unwatched_since = wall_ns();
        self->send(index, a, std::move(roots)); // trees over the watch limit: rescanned
      },
      [self, ctx](status_atom) {
        auto& st = self->state;
        auto s = core::status_of("watcher", "watcher", self->mailbox().size());
        std::uint64_t watches = ctx && ctx->fs ? ctx->fs->watch_count() : 0;
        std::uint64_t unwatched = ctx && ctx->fs ? ctx->fs->unwatched_count() : 0;
        if (unwatched == 0) // the console shows it as a fault while it lasts
          st.unwatched_since = 0;
        else if (st.unwatched_since == 0)
          st.unwatched_since = wall_ns();
        s.state = std::to_string(watches) + " directories watched, " +
                  (unwatched ? std::to_string(unwatched) +
                                   " without a watch (over fs.inotify.max_user_watches; "
                                   "rescanned every " +
                                   std::to_string(io::fs_watcher::rescan_interval_s) + " s), "
                             : std::string()) +
                  std::to_string(st.pending.pending()) + " paths queued, " +
                  std::to_string(st.events) + " events seen, " + std::to_string(st.scans) +
                  " scans sent";
        s.counters = {{"watches", watches},
                      {"unwatched", unwatched},
                      {"unwatched_since_ns", static_cast<std::uint64_t>(st.unwatched_since)},
                      {"pending", st.pending.pending()},
                      {"events", st.events},
                      {"scans", st.scans}};
        return s;
      },
  };
}

} // namespace

watcher_actor spawn_watcher(caf::actor_system& sys, scan_sink_actor index,
                            const node_context* ctx) {
  return sys.spawn(watcher, std::move(index), ctx);
}

} // namespace cascade::actors
