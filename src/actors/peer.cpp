// One actor per session: reads the peer's index into ours and streams ours to the peer, with up
// to `max_batches_in_flight` batches on the way: the next batch is read from our index while
// the peer records the one before (every batch folds the changes made up to its reading).
#include <algorithm>

#include "actors/actors.hpp"
#include "io/log.hpp"

namespace cascade::actors {

namespace {

// Two: our index reads the next batch while the peer records the one before. The peer holds up
// to rpc's max_pending_updates (4) calls of ours.
constexpr unsigned max_batches_in_flight = 2;

struct peer_state {
  static inline const char* name = "peer";
  rpc::session_info info;
  bool subscribed = false; // the peer asked for our records
  bool reading = false;    // asking the index for the next batch
  bool dirty = false;
  bool full_next = false; // the peer lacked a delta's base: the next batch goes without deltas
  unsigned in_flight = 0; // batches sent and not answered yet (of any round)
  // Bumped whenever we start again from `acked` (the peer's subscribe, a refusal, need_full):
  // answers to batches of an older round change nothing but `in_flight`.
  std::uint64_t round = 0;
  std::uint64_t acked = 0;   // the peer recorded our records up to here
  std::uint64_t claimed = 0; // `last` of the newest batch sent: the next one continues from it
  std::uint64_t cursor = 0;  // the next batch reads our index from here
  std::uint64_t batches_in = 0, batches_out = 0, full_resends = 0, refused = 0;

  void restart(std::uint64_t from) {
    ++round;
    acked = claimed = cursor = from;
  }
  // Everything up to here reached the peer or is not for it (console: `sent_up_to`).
  std::uint64_t sent_up_to() const { return in_flight == 0 ? cursor : acked; }
};

peer_actor::behavior_type peer(peer_actor::stateful_pointer<peer_state> self,
                               const node_context* ctx, rpc::session_info info, index_actor index) {
  self->state.info = info;
  auto pump = [self, ctx, index] {
    auto& st = self->state;
    if (!st.subscribed || st.reading || st.in_flight >= max_batches_in_flight) {
      st.dirty = true;
      return;
    }
    st.reading = true;
    st.dirty = false;
    bool deltas = !std::exchange(st.full_next, false);
    self->request(index, caf::infinite, get_atom::value, st.cursor, st.info.device, deltas)
        .then([self, ctx, round = st.round](std::vector<rpc::wire_entry>& entries,
                                            std::uint64_t last) {
          auto& st = self->state;
          st.reading = false;
          if (round != st.round) { // started again meanwhile: read again from the new cursor
            self->send(self, changed_atom::value);
            return;
          }
          if (entries.empty()) {
            bool more = last > st.cursor;
            st.cursor = std::max(st.cursor, last);
            if (more || st.dirty)
              self->send(self, changed_atom::value);
            return;
          }
          ++st.batches_out;
          ++st.in_flight;
          io::log_debug("sending " + std::to_string(entries.size()) + " records to " +
                        st.info.address);
          peer_actor me{self};
          bool has_deltas =
              std::any_of(entries.begin(), entries.end(),
                          [](const rpc::wire_entry& e) { return e.delta.has_value(); });
          ctx->net->send_update(st.info.id, std::move(entries), st.claimed, last,
                                [me, last, round, has_deltas](bool ok, bool need_full) {
                                  caf::anon_send(me, sent_atom::value, ok, need_full,
                                                 has_deltas, last, round);
                                });
          st.claimed = st.cursor = last;
          // More may follow: read it while this batch is on its way.
          self->send(self, changed_atom::value);
        });
  };
  // Ask the peer for its records from where we stopped reading them.
  self->request(index, caf::infinite, progress_atom::value, info.device)
      .then([self, ctx](std::uint64_t epoch, std::uint64_t seq) {
        auto& i = self->state.info;
        ctx->net->subscribe(i.id, i.epoch, epoch == i.epoch ? seq : 0);
      });
  return {
      [self, pump](subscribe_atom, std::uint64_t epoch, std::uint64_t from) {
        auto& st = self->state;
        (void)epoch; // a foreign epoch means the peer lost our index: from is 0 then anyway
        st.subscribed = true;
        st.restart(from);
        pump();
      },
      [pump](changed_atom) { pump(); },
      [self, ctx, pump](sent_atom, bool ok, bool need_full, bool had_deltas, std::uint64_t last,
                        std::uint64_t round) {
        auto& st = self->state;
        --st.in_flight;
        if (need_full && !had_deltas) {
          // needFull for a batch without deltas cannot be true, and answering it again and again
          // would have us read and send the same records for good: the session goes.
          ctx->net->close_session(st.info.id, "peer answered needFull to a batch without deltas");
          st.subscribed = false;
          return;
        }
        if (round != st.round) { // pipelined behind a batch the peer sent back: it refused it
          if (st.dirty)
            pump();
          return;
        }
        if (!ok) {
          // The session is going down, or the peer refused the batch (a store fault or its
          // user's pause): it subscribes again from its progress when it takes records; a
          // change of ours meanwhile tries again from what it recorded.
          ++st.refused;
          st.restart(st.acked);
          st.dirty = false;
          return;
        }
        if (need_full) {
          ++st.full_resends;
          st.full_next = true; // the same batch again, whole
          st.restart(st.acked);
          pump();
          return;
        }
        st.acked = std::max(st.acked, last);
        if (st.dirty) // else the read after sending found nothing more
          pump();
      },
      [self, ctx, index](update_atom, rpc::call_id call, std::vector<rpc::wire_entry>& entries,
                         std::uint64_t from, std::uint64_t last) {
        ++self->state.batches_in;
        io::log_debug("got " + std::to_string(entries.size()) + " records from " +
                      self->state.info.address);
        auto s = self->state.info.id;
        self->request(index, caf::infinite, update_atom::value, s, std::move(entries), from,
                      last)
            .then([ctx, s, call](bool ok, bool need_full) {
              ctx->net->complete_update(s, call, ok, need_full);
            });
      },
      [self](down_atom) { self->quit(); },
      [self](status_atom) {
        auto& st = self->state;
        auto s =
            core::status_of("peer", core::format_device_id(st.info.device), self->mailbox().size());
        s.state = "session " + std::to_string(st.info.id) + " " +
                  (st.info.outbound ? "to " : "from ") + st.info.address + ", " +
                  (st.subscribed ? "subscribed" : "not subscribed yet") + ", sent up to " +
                  std::to_string(st.sent_up_to()) + ", " + std::to_string(st.in_flight) +
                  " batches in flight, batches in " + std::to_string(st.batches_in) + " out " +
                  std::to_string(st.batches_out);
        s.counters = {{"session", st.info.id},
                      {"subscribed", st.subscribed ? 1u : 0u},
                      {"in_flight", st.in_flight},
                      {"sent_up_to", st.sent_up_to()},
                      {"batches_in", st.batches_in},
                      {"batches_out", st.batches_out},
                      {"full_resends", st.full_resends},
                      {"refused", st.refused}};
        return s;
      },
  };
}

} // namespace

peer_actor spawn_peer(caf::actor_system& sys, const node_context& ctx, rpc::session_info info,
                      index_actor index) {
  return sys.spawn(peer, &ctx, std::move(info), std::move(index));
}

} // namespace cascade::actors
