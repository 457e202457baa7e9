// The node supervisor: routes the network's session events to per-session peer actors and
// owns their lifetime.
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

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self, const node_context* ctx,
           index_actor index) {
  return {
      [self, ctx, index](up_atom, const rpc::session_info& info) {
        io::log_info("connected to " + core::format_device_id(info.device) + " at " + info.address +
                     (info.outbound ? " (dialed)" : " (accepted)"));
        auto p = spawn_peer(self->system(), *ctx, info, index);
        self->state.peers[info.id] = p;
        self->state.devices[info.id] = info.device;
        ++self->state.sessions_seen;
        self->send(index, up_atom::value, info, p);
      },
      [self, index](down_atom, rpc::session_id s, const std::string& reason) {
        io::log_info("session " + std::to_string(s) + " closed: " + reason);
        self->send(index, down_atom::value, s);
        self->state.peers.erase(s);
        if (auto it = self->state.devices.find(s); it != self->state.devices.end()) {
          self->state.last_error[it->second] = reason;
          self->state.devices.erase(it);
        }
      },
      [self](subscribe_atom, rpc::session_id s, std::uint64_t epoch, std::uint64_t from) {
        if (auto it = self->state.peers.find(s); it != self->state.peers.end())
          self->send(it->second, subscribe_atom::value, epoch, from);
      },
      [self, ctx](update_atom, rpc::session_id s, rpc::call_id call,
                  std::vector<rpc::wire_entry>& e, std::uint64_t last) {
        if (auto it = self->state.peers.find(s); it != self->state.peers.end())
          self->send(it->second, update_atom::value, call, std::move(e), last);
        else
          ctx->net->complete_update(s, call, false);
      },
      [self, index](offer_atom, rpc::session_id s, rpc::call_id call, rpc::wire_entry& e,
                    std::vector<core::device_id>& rest, std::vector<core::device_id>& visited) {
        self->send(index, offer_atom::value, s, call, std::move(e), std::move(rest),
                   std::move(visited));
      },
      [self, index](have_atom, rpc::session_id s, rpc::call_id call, std::string& path,
                    core::version_vector& v) {
        self->send(index, have_atom::value, s, call, std::move(path), std::move(v));
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

// Turns network callbacks (on the KJ thread) into messages.
class bridge final : public rpc::listener {
public:
  explicit bridge(supervisor_actor sup) : sup_(std::move(sup)) {}
  void on_session_up(const rpc::session_info& s) override {
    caf::anon_send(sup_, up_atom::value, s);
  }
  void on_session_down(rpc::session_id s, const std::string& reason) override {
    caf::anon_send(sup_, down_atom::value, s, reason);
  }
  void on_subscribe(rpc::session_id s, std::uint64_t epoch, std::uint64_t from) override {
    caf::anon_send(sup_, subscribe_atom::value, s, epoch, from);
  }
  void on_update(rpc::session_id s, rpc::call_id call, std::vector<rpc::wire_entry> entries,
                 std::uint64_t last) override {
    caf::anon_send(sup_, update_atom::value, s, call, std::move(entries), last);
  }
  void on_offer(rpc::session_id s, rpc::call_id call, rpc::wire_entry entry,
                std::vector<core::device_id> rest, std::vector<core::device_id> visited) override {
    caf::anon_send(sup_, offer_atom::value, s, call, std::move(entry), std::move(rest),
                   std::move(visited));
  }
  void on_have(rpc::session_id s, rpc::call_id call, std::string path,
               core::version_vector v) override {
    caf::anon_send(sup_, have_atom::value, s, call, std::move(path), std::move(v));
  }
  void on_log(int level, const std::string& line) override {
    io::log(static_cast<io::level>(level), line);
  }

private:
  supervisor_actor sup_;
};

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys, const node_context& ctx,
                                  index_actor index) {
  return sys.spawn(supervisor, &ctx, std::move(index));
}

std::unique_ptr<rpc::listener> make_listener(supervisor_actor supervisor) {
  return std::make_unique<bridge>(std::move(supervisor));
}

} // namespace cascade::actors
