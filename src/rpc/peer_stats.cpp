// Peer statistics for the debug console: what the network thread knows of every session and
// dial target (bytes on the wire, rates, heartbeat round trip, how the peer was found, the last
// error). Runs on the KJ thread only; network::snapshot hands the rows to another thread.
#include <chrono>

#include "rpc/network_impl.hpp"

namespace cascade::rpc {

namespace {
std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void sample(connection& c, std::int64_t now) {
  c.rate_in.sample(now, c.counters->in);
  c.rate_out.sample(now, c.counters->out);
}
} // namespace

void network::impl::note_rtt(session_id s, std::int64_t rtt_ns) {
  auto it = conns.find(s);
  if (it == conns.end())
    return;
  auto& c = *it->second;
  c.rtt_ns = rtt_ns;
  sample(c, steady_ns()); // every heartbeat: rates stay current without a console
  // A session that answers makes a dial target's older error moot (it may have come inbound).
  for (auto& t : targets)
    KJ_IF_MAYBE (d, t->device) {
      if (*d == c.remote)
        t->last_error.clear();
    }
}

void network::impl::note_dial_error(const std::string& addr, const std::string& why) {
  for (auto& t : targets)
    if (t->host + ":" + std::to_string(t->port) == addr)
      t->last_error = why;
}

std::vector<core::peer_status> network::impl::snapshot() {
  auto now = steady_ns();
  std::vector<core::peer_status> out;
  auto found_by = [](const dial_target& t) -> std::string {
    if (t.via_static && t.via_discovery)
      return "static+discovered";
    return t.via_discovery ? "discovered" : "static";
  };
  auto target_of = [&](const std::string& addr) -> const dial_target* {
    for (auto& t : targets)
      if (t->host + ":" + std::to_string(t->port) == addr)
        return t.get();
    return nullptr;
  };
  for (auto& [id, c] : conns) {
    if (!c->up)
      continue;
    sample(*c, now);
    core::peer_status p;
    p.session = id;
    p.device = c->remote;
    p.address = c->address;
    p.outbound = c->outbound;
    p.state = "connected";
    // How we know the peer: the dial target of this address, or one that knows its device
    // (it dialed us first); "inbound" for a peer we were never told about.
    auto* t = c->outbound ? target_of(c->address) : nullptr;
    for (auto& x : targets)
      KJ_IF_MAYBE (d, x->device) {
        if (!t && *d == c->remote)
          t = x.get();
      }
    p.found = t ? found_by(*t) : c->outbound ? "static" : "inbound";
    p.rtt_ns = c->rtt_ns;
    p.bytes_in = c->counters->in;
    p.bytes_out = c->counters->out;
    p.rate_in = c->rate_in.rate();
    p.rate_out = c->rate_out.rate();
    p.connected_ns = c->since_ns ? now - c->since_ns : 0;
    out.push_back(std::move(p));
  }
  // Dial targets without a live session of their own device.
  for (auto& t : targets) {
    bool connected = false;
    KJ_IF_MAYBE (d, t->device) {
      connected = device_connected(*d);
    }
    auto addr = t->host + ":" + std::to_string(t->port);
    for (auto& p : out)
      connected = connected || (p.outbound && p.address == addr);
    if (connected || !t->wanted)
      continue;
    core::peer_status p;
    KJ_IF_MAYBE (d, t->device) {
      p.device = *d;
    }
    p.address = addr;
    p.outbound = true;
    p.found = found_by(*t);
    p.state = t->running ? "dialing" : "disconnected";
    p.last_error = t->last_error;
    out.push_back(std::move(p));
  }
  return out;
}

void network::snapshot(std::function<void(std::vector<core::peer_status>)> done) {
  impl_->post([i = impl_.get(), done = std::move(done)]() { done(i->snapshot()); });
}

} // namespace cascade::rpc
