// One actor per session: reads the peer's index into ours and streams ours to the peer, one
// batch in flight at a time (the next batch folds every change made meanwhile).
#include "actors/actors.hpp"
#include "io/log.hpp"

namespace cascade::actors {

namespace {

struct peer_state {
  static inline const char* name = "peer";
  rpc::session_info info;
  bool subscribed = false; // the peer asked for our records
  bool sending = false;
  bool dirty = false;
  bool full_next = false; // the peer lacked a delta's base: the next batch goes without deltas
  std::uint64_t sent_up_to = 0;
  std::uint64_t batches_in = 0, batches_out = 0, full_resends = 0;
};

peer_actor::behavior_type peer(peer_actor::stateful_pointer<peer_state> self,
                               const node_context* ctx, rpc::session_info info, index_actor index) {
  self->state.info = info;
  auto pump = [self, ctx, index] {
    auto& st = self->state;
    if (!st.subscribed || st.sending) {
      st.dirty = true;
      return;
    }
    st.sending = true;
    st.dirty = false;
    bool deltas = !std::exchange(st.full_next, false);
    self->request(index, caf::infinite, get_atom::value, st.sent_up_to, st.info.device, deltas)
        .then([self, ctx](std::vector<rpc::wire_entry>& entries, std::uint64_t last) {
          auto& st = self->state;
          if (entries.empty()) {
            bool more = last > st.sent_up_to;
            st.sent_up_to = std::max(st.sent_up_to, last);
            st.sending = false;
            if (more || st.dirty)
              self->send(self, changed_atom::value);
            return;
          }
          ++st.batches_out;
          io::log_debug("sending " + std::to_string(entries.size()) + " records to " +
                        st.info.address);
          peer_actor me{self};
          ctx->net->send_update(st.info.id, std::move(entries), last,
                                [me, last](bool ok, bool need_full) {
                                  caf::anon_send(me, sent_atom::value, ok, need_full, last);
                                });
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
        st.sent_up_to = from;
        pump();
      },
      [pump](changed_atom) { pump(); },
      [self, pump](sent_atom, bool ok, bool need_full, std::uint64_t last) {
        auto& st = self->state;
        st.sending = false;
        if (!ok)
          return; // the session is going down, or the peer refused the batch (a store fault or
                  // its user's pause): it subscribes again from its progress when it takes records
        if (need_full) {
          ++st.full_resends;
          st.full_next = true; // the same batch again, whole
        } else {
          st.sent_up_to = std::max(st.sent_up_to, last);
        }
        pump();
      },
      [self, ctx, index](update_atom, rpc::call_id call, std::vector<rpc::wire_entry>& entries,
                         std::uint64_t last) {
        ++self->state.batches_in;
        io::log_debug("got " + std::to_string(entries.size()) + " records from " +
                      self->state.info.address);
        auto s = self->state.info.id;
        self->request(index, caf::infinite, update_atom::value, s, std::move(entries), last)
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
                  std::to_string(st.sent_up_to) + (st.sending ? " (a batch in flight)" : "") +
                  ", batches in " + std::to_string(st.batches_in) + " out " +
                  std::to_string(st.batches_out);
        s.counters = {{"session", st.info.id},           {"subscribed", st.subscribed ? 1u : 0u},
                      {"sending", st.sending ? 1u : 0u}, {"sent_up_to", st.sent_up_to},
                      {"batches_in", st.batches_in},     {"batches_out", st.batches_out},
                      {"full_resends", st.full_resends}};
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
