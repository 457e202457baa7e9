// Discovery: turns mDNS answers into dial targets. mDNS answers are only hints where to dial;
// the handshake decides who gets in.
#include <map>

#include "actors/actors.hpp"
#include "io/log.hpp"

namespace cascade::actors {

namespace {

struct discovery_state {
  static inline const char* name = "discovery";
  std::map<std::string, std::pair<std::string, std::uint16_t>> services; // name -> address
  std::uint64_t ignored = 0;
};

caf::behavior discovery(caf::stateful_actor<discovery_state>* self, const node_context* ctx,
                        std::string group_tag) {
  return {
      [=](found_atom, const io::mdns_service& s) {
        auto txt = [&](const char* k) {
          auto it = s.txt.find(k);
          return it == s.txt.end() ? std::string() : it->second;
        };
        auto id = core::parse_device_id(txt("id"));
        if (!id || *id == ctx->self || txt("g") != group_tag || txt("v") != "2") {
          ++self->state.ignored; // ourselves, another group or another protocol
          return;
        }
        auto& known = self->state.services[s.name];
        if (known != std::make_pair(s.address, s.port)) {
          if (!known.first.empty())
            ctx->net->forget(known.first, known.second);
          known = {s.address, s.port};
          io::log_info("discovered " + core::format_device_id(*id) + " at " + s.address + ":" +
                       std::to_string(s.port));
        }
        // Of two nodes that find each other, the smaller id dials; the other waits 2 s and
        // dials only if no connection came (no duplicate connection to tear down).
        ctx->net->dial(s.address, s.port, *id, ctx->self < *id ? 0 : 2000);
      },
      [=](lost_atom, const std::string& name) {
        auto it = self->state.services.find(name);
        if (it == self->state.services.end())
          return;
        io::log_info("mDNS service " + name + " is gone (its connection, if any, stays)");
        ctx->net->forget(it->second.first, it->second.second);
        self->state.services.erase(it);
      },
      [=](status_atom) {
        auto& st = self->state;
        auto s = core::status_of("discovery", "discovery", self->mailbox().size());
        s.state = std::to_string(st.services.size()) + " services of our group";
        const char* sep = ": ";
        for (auto& [name, addr] : st.services) {
          s.state += sep + addr.first + ":" + std::to_string(addr.second);
          sep = ", ";
        }
        s.state += "; " + std::to_string(st.ignored) + " answers ignored";
        s.counters = {{"services", st.services.size()}, {"ignored", st.ignored}};
        return s;
      },
  };
}

} // namespace

caf::actor spawn_discovery(caf::actor_system& sys, const node_context& ctx, std::string group_tag) {
  return sys.spawn(discovery, &ctx, std::move(group_tag));
}

} // namespace cascade::actors
