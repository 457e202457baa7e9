// The node supervisor: the books of the sessions (peer actors, devices, why each device's last
// session ended) for the console. The network's events go straight to the actors that decide
// (the bridge below).
#include <map>

#include "actors/actors.hpp"
#include "io/log.hpp"

namespace cascade::actors {

namespace {

struct supervisor_state {
  static inline const char* name = "node";
  std::map<rpc::session_id, peer_actor> peers;
  std::map<rpc::session_id, core::device_id> devices;
  // Why each device's last session ended (the console's `peers`), newest reason per device.
  std::map<core::device_id, std::string> last_error;
  std::uint64_t sessions_seen = 0;
};

supervisor_actor::behavior_type supervisor(supervisor_actor::stateful_pointer<supervisor_state> self) {
  return {
      [self](up_atom, const rpc::session_info& info, peer_actor& p) {
        io::log_info("connected to " + core::format_device_id(info.device) + " at " + info.address +
                     (info.outbound ? " (dialed)" : " (accepted)"));
        self->state.peers[info.id] = std::move(p);
        self->state.devices[info.id] = info.device;
        ++self->state.sessions_seen;
      },
      [self](down_atom, rpc::session_id s, const std::string& reason) {
        io::log_info("session " + std::to_string(s) + " closed: " + reason);
        self->state.peers.erase(s);
        if (auto it = self->state.devices.find(s); it != self->state.devices.end()) {
          self->state.last_error[it->second] = reason;
          self->state.devices.erase(it);
        }
      },
      [self](status_atom) {
        auto& st = self->state;
        auto s = core::status_of("node", "node", self->mailbox().size());
        s.state = std::to_string(st.peers.size()) + " sessions up, " +
                  std::to_string(st.sessions_seen) + " since start";
        s.counters = {{"sessions", st.peers.size()}, {"sessions_seen", st.sessions_seen}};
        return s;
      },
      [self](children_atom) {
        std::vector<status_actor> out;
        for (auto& [id, a] : self->state.peers)
          out.push_back(a);
        return out;
      },
      [self](errors_atom) {
        return device_errors(self->state.last_error.begin(), self->state.last_error.end());
      },
  };
}

// Turns network callbacks (on the KJ thread) into messages, each straight to the actor that
// decides: a session's records and subscription to its peer actor (spawned here, so the map
// from session to peer actor lives on the KJ thread with the callbacks), offers and `have`
// queries to the index. The index hears of a session from here too, before anything that
// session sends (one sender, one mailbox: in order); the supervisor only keeps the books
// (the console's sessions, children and last errors).
class bridge final : public rpc::listener {
public:
  bridge(caf::actor_system& sys, const node_context& ctx, supervisor_actor sup, index_actor index)
      : sys_(sys), ctx_(ctx), sup_(std::move(sup)), index_(std::move(index)) {}
  void on_session_up(const rpc::session_info& s) override {
    auto p = spawn_peer(sys_, ctx_, s, index_);
    peers_[s.id] = p;
    caf::anon_send(index_, up_atom::value, s, p);
    caf::anon_send(sup_, up_atom::value, s, std::move(p));
  }
  void on_session_down(rpc::session_id s, const std::string& reason) override {
    peers_.erase(s);
    caf::anon_send(index_, down_atom::value, s);
    caf::anon_send(sup_, down_atom::value, s, reason);
  }
  void on_subscribe(rpc::session_id s, std::uint64_t epoch, std::uint64_t from) override {
    if (auto it = peers_.find(s); it != peers_.end())
      caf::anon_send(it->second, subscribe_atom::value, epoch, from);
  }
  void on_update(rpc::session_id s, rpc::call_id call, std::vector<rpc::wire_entry> entries,
                 std::uint64_t from, std::uint64_t last) override {
    if (auto it = peers_.find(s); it != peers_.end())
      caf::anon_send(it->second, update_atom::value, call, std::move(entries), from, last);
    else
      ctx_.net->complete_update(s, call, false);
  }
  void on_offer(rpc::session_id s, rpc::call_id call, rpc::wire_entry entry,
                std::vector<core::device_id> rest, std::vector<core::device_id> visited) override {
    caf::anon_send(index_, offer_atom::value, s, call, std::move(entry), std::move(rest),
                   std::move(visited));
  }
  void on_have(rpc::session_id s, rpc::call_id call, std::string path,
               core::version_vector v) override {
    caf::anon_send(index_, have_atom::value, s, call, std::move(path), std::move(v));
  }
  void on_log(int level, const std::string& line) override {
    io::log(static_cast<io::level>(level), line);
  }

private:
  caf::actor_system& sys_;
  const node_context& ctx_;
  supervisor_actor sup_;
  index_actor index_;
  std::map<rpc::session_id, peer_actor> peers_; // touched on the KJ thread only
};

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys) {
  return sys.spawn(supervisor);
}

std::unique_ptr<rpc::listener> make_listener(caf::actor_system& sys, const node_context& ctx,
                                             supervisor_actor supervisor, index_actor index) {
  return std::make_unique<bridge>(sys, ctx, std::move(supervisor), std::move(index));
}

} // namespace cascade::actors
