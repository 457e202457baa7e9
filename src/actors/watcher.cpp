// The watcher actor: folds the libuv thread's inotify events into scan requests.
#include <chrono>

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

struct watcher_state {
  static inline const char* name = "watcher";
  core::coalescer pending;
  std::optional<std::int64_t> tick_at; // when the next tick is scheduled
  std::uint64_t events = 0;
};

caf::behavior watcher(caf::stateful_actor<watcher_state>* self, caf::actor index) {
  // Sends what is due and schedules a tick for what is not due yet.
  auto flush = [=] {
    auto& st = self->state;
    auto now = now_ns(self);
    auto due = st.pending.take_due(now);
    if (!due.empty())
      self->send(index, scan_atom::value, std::move(due));
    auto next = st.pending.next_due();
    if (next && (!st.tick_at || *next < *st.tick_at || *st.tick_at <= now)) {
      st.tick_at = *next;
      auto wait = std::chrono::nanoseconds(std::max<std::int64_t>(*next - now, 0));
      self->delayed_send(self, wait, tick_atom::value);
    }
  };
  return {
      [=](fs_events_atom, const std::vector<io::watch_event>& events) {
        auto now = now_ns(self);
        self->state.events += events.size();
        for (auto& e : events)
          self->state.pending.on_event(e.path, e.kind, now);
        flush();
      },
      [=](tick_atom) {
        self->state.tick_at.reset();
        flush();
      },
      [=](overflow_atom) { self->send(index, rescan_atom::value); },
      [=](status_atom) {
        return "events " + std::to_string(self->state.events) + ", pending " +
               std::to_string(self->state.pending.pending());
      },
  };
}

} // namespace

caf::actor spawn_watcher(caf::actor_system& sys, caf::actor index) {
  return sys.spawn(watcher, std::move(index));
}

} // namespace cascade::actors
