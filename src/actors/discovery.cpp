// Discovery: turns mDNS answers into dial targets. mDNS answers are only hints where to dial;
// the handshake decides who gets in.
#include <chrono>

#include "actors/actors.hpp"
#include "core/discovery.hpp"
#include "io/log.hpp"

namespace cascade::actors {

namespace {

struct discovery_state {
  static inline const char* name = "discovery";
  // Our group's services, within the caps (core::discovery_table, numbers there).
  core::discovery_table table;
  std::uint64_t ignored = 0; // ourselves, another group or another protocol: never tracked
};

std::string endpoint_text(const core::service_endpoint& e) {
  return e.host + ":" + std::to_string(e.port);
}

discovery_actor::behavior_type discovery(discovery_actor::stateful_pointer<discovery_state> self,
                                         const node_context* ctx, std::string group_tag) {
  return {
      [self, ctx, group_tag](found_atom, const io::mdns_service& s) {
        auto txt = [&](const char* k) {
          auto it = s.txt.find(k);
          return it == s.txt.end() ? std::string() : it->second;
        };
        auto id = core::parse_device_id(txt("id"));
        if (!id || *id == ctx->self || txt("g") != group_tag ||
            txt("v") != std::to_string(rpc::protocol_version())) {
          ++self->state.ignored; // ourselves, another group or protocol: a counter, no memory
          return;
        }
        auto& table = self->state.table;
        core::service_endpoint at{s.address, s.port};
        auto r = table.found(s.name, at, *id, std::chrono::steady_clock::now());
        for (auto& e : r.stop)
          ctx->net->forget(e.host, e.port);
        using v = core::discovery_table::verdict;
        if (r.what == v::ignored) {
          if (r.warn)
            io::log_warn("discovery: " + std::to_string(table.size()) +
                         " services tracked (at most " +
                         std::to_string(table.limits().max_services) + ", " +
                         std::to_string(table.limits().max_per_host) + " per address); ignoring " +
                         s.name + " at " + endpoint_text(at) + " and " +
                         std::to_string(table.ignored() - 1) + " more so far");
          return;
        }
        if (r.evicted)
          io::log_info("discovery: " + *r.evicted + " makes room for " + s.name +
                       " (its address has the most services)");
        if (r.what != v::same)
          io::log_info("discovered " + core::format_device_id(*id) + " at " + endpoint_text(at));
        // Of two nodes that find each other, the smaller id dials; the other waits 2 s and
        // dials only if no connection came (no duplicate connection to tear down).
        ctx->net->dial(s.address, s.port, *id, ctx->self < *id ? 0 : 2000);
      },
      [self, ctx](lost_atom, const std::string& name) {
        auto gone = self->state.table.lost(name);
        if (!gone)
          return;
        io::log_info("mDNS service " + name + " is gone (its connection, if any, stays)");
        ctx->net->forget(gone->host, gone->port);
      },
      [self, ctx](status_atom) {
        auto& st = self->state;
        auto& table = st.table;
        auto dial = ctx->net->dial_statistics();
        auto s = core::status_of("discovery", "discovery", self->mailbox().size());
        s.state = std::to_string(table.size()) + " services of our group tracked (at most " +
                  std::to_string(table.limits().max_services) + ")";
        const char* sep = ": ";
        std::size_t shown = 0;
        for (auto& [name, e] : table.services()) {
          if (++shown > 16) {
            s.state += ", ...";
            break;
          }
          s.state += sep + endpoint_text(e.at);
          sep = ", ";
        }
        s.state += "; " + std::to_string(st.ignored) + " answers ignored, " +
                   std::to_string(table.ignored()) + " capped, " + std::to_string(table.evicted()) +
                   " evicted; dials: " + std::to_string(dial.attempts) + " attempts, " +
                   std::to_string(dial.pending) + " pending, " + std::to_string(dial.waiting) +
                   " waiting";
        s.counters = {{"services", table.size()},
                      {"tracked", table.size()},
                      {"hosts", table.hosts()},
                      {"ignored", st.ignored},
                      {"capped", table.ignored()},
                      {"evicted", table.evicted()},
                      {"dial_attempts", dial.attempts},
                      {"dial_waited", dial.waited},
                      {"dial_pending", static_cast<std::uint64_t>(dial.pending)},
                      {"dial_peak_pending", static_cast<std::uint64_t>(dial.peak_pending)},
                      {"dial_waiting", dial.waiting}};
        return s;
      },
  };
}

} // namespace

discovery_actor spawn_discovery(caf::actor_system& sys, const node_context& ctx,
                                std::string group_tag) {
  return sys.spawn(discovery, &ctx, std::move(group_tag));
}

} // namespace cascade::actors
