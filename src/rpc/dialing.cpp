// Outbound connections: one dial loop per target (a static --peer or a service discovery
// found), each attempt within the dial budget (dial_budget.hpp) and the connect timeout, then
// TLS, the checks against what we know of the target, hello and ready. KJ thread only; the
// public methods queue work for it.
#include <chrono>

#include "core/device_id.hpp"
#include "rpc/network_impl.hpp"

namespace cascade::rpc {

namespace {
std::string host_of(const std::string& addr) {
  return addr.substr(0, addr.rfind(':'));
}
} // namespace

void network::dial(const std::string& host, std::uint16_t port,
                   std::optional<core::device_id> expected, int delay_ms) {
  impl_->post([i = impl_.get(), host, port, expected, delay_ms]() {
    dial_target* target = nullptr;
    for (auto& t : i->targets)
      if (t->host == host && t->port == port)
        target = t.get();
    if (target == nullptr) {
      auto t = kj::heap<dial_target>();
      t->host = host;
      t->port = port;
      target = t.get();
      i->targets.push_back(kj::mv(t));
    }
    target->wanted = true;
    (expected ? target->via_discovery : target->via_static) = true;
    if (expected)
      target->device = *expected;
    if (!target->running) {
      target->running = true;
      target->failures = 0;
      auto& timer = KJ_ASSERT_NONNULL(i->io).provider->getTimer();
      i->tasks->add(timer.afterDelay(delay_ms * kj::MILLISECONDS).then([i, target]() {
        return i->dial_loop(*target);
      }));
    }
  });
}

void network::forget(const std::string& host, std::uint16_t port) {
  impl_->post([i = impl_.get(), host, port]() {
    for (auto& t : i->targets)
      if (t->host == host && t->port == port)
        t->wanted = false;
  });
}

kj::Promise<void> network::impl::dial_loop(dial_target& t) {
  auto& ctx = KJ_ASSERT_NONNULL(io);
  auto& timer = ctx.provider->getTimer();
  if (!t.wanted) {
    t.running = false;
    erase_target_later(t);
    return kj::READY_NOW;
  }
  bool skip = false;
  KJ_IF_MAYBE (d, t.device) {
    // Connected through another session (perhaps the peer dialed us), or denied: a denied
    // device's address is never dialed again while it stays denied.
    skip = device_connected(*d) || denied(*d);
  }
  if (skip) // check later
    return timer.afterDelay(1 * kj::SECONDS).then([this, &t]() { return dial_loop(t); });
  auto addr = t.host + ":" + std::to_string(t.port);
  return connect_limited(t)
      .then([this, &t](kj::Own<kj::AsyncIoStream> s) { return dial_over(kj::mv(s), t); })
      .then([]() {},
            [this, addr](kj::Exception&& e) {
              note_dial_error(addr, e.getDescription().cStr());
              events.on_log(1, "dial " + addr + ": " + e.getDescription().cStr());
            })
      .then([this, &t, &timer]() {
        // Backoff: 0.2 s, 0.4 s, ... up to 5 s while the peer stays away.
        auto delay = std::min<int>(5000, 200 << std::min(t.failures, 5));
        ++t.failures;
        return timer.afterDelay(delay * kj::MILLISECONDS).then([this, &t]() {
          return dial_loop(t);
        });
      });
}

// A dialed stream (TCP, or an in-memory pipe in tests): TLS, the checks against what we know of
// the target, hello and ready; resolves when the session ends.
kj::Promise<void> network::impl::dial_over(kj::Own<kj::AsyncIoStream> s, dial_target& t) {
  auto addr = t.host + ":" + std::to_string(t.port);
  return secure(kj::mv(s), true, addr, host_of(addr))
      .then([this, &t](connection* cp) -> kj::Promise<void> {
        if (cp == nullptr)
          return kj::READY_NOW;
        auto& c = *cp;
        auto id = c.id;
        KJ_IF_MAYBE (want, t.device) {
          if (c.tls && c.tls->peer_device() != *want) {
            events.on_log(3, "refused " + c.address + ": it answers for " +
                                 core::format_device_id(*want) + " with another key (" +
                                 core::format_device_id(c.tls->peer_device()) + ")");
            drop(id, "device id mismatch");
            return kj::READY_NOW;
          }
        }
        if (c.tls && denied(c.tls->peer_device())) {
          t.device = c.tls->peer_device(); // never dialed again while it stays denied
          drop(id, "device " + core::format_device_id(c.tls->peer_device()) + " is denied");
          return kj::READY_NOW;
        }
        // Our hello carries no capability: our Peer goes out only in ready, once the
        // listener's proof has checked out.
        auto req = c.client->bootstrap().castAs<wire::Handshake>().helloRequest();
        fill_hello(req.initHello(), c);
        return req.send().then(
            [this, &t, id](capnp::Response<wire::Handshake::HelloResults> r) -> kj::Promise<void> {
              auto it = conns.find(id);
              if (it == conns.end())
                return kj::READY_NOW;
              auto& c = *it->second;
              auto err = check_hello(c, r.getHello());
              if (c.remote != core::device_id{})
                t.device = c.remote; // known even for a duplicate: no redial
              if (err.empty() && loses_duplicate(c))
                err = duplicate_connection;
              if (err.empty() && !r.getHello().hasDeviceId())
                err = "malformed hello";
              if (!err.empty()) {
                if (err != duplicate_connection)
                  t.last_error = err;
                drop(id, err);
                return kj::READY_NOW;
              }
              c.verified = true;
              auto ready = c.client->bootstrap().castAs<wire::Handshake>().readyRequest();
              ready.setPeer(make_peer(id));
              tasks->add(ready.send().then([](auto&&) {}, [](kj::Exception&&) {}));
              err = go_up(c, r.getPeer(), r.getHello().getIndexEpoch());
              if (!err.empty()) {
                drop(id, err);
                return kj::READY_NOW;
              }
              t.failures = 0;
              t.last_error.clear();
              // Wait while this session lives.
              return c.client->onDisconnect().then([]() {}, [](kj::Exception&&) {});
            });
      });
}

kj::Promise<void> network::impl::dial_slot(const dial_target& t) {
  std::size_t at_host = 0;
  for (auto& other : targets)
    at_host += other->wanted && other->host == t.host;
  return dials.slot(t.via_static, core::dial_rank{t.failures, at_host});
}

kj::Promise<kj::Own<kj::AsyncIoStream>> network::impl::connect_limited(dial_target& t) {
  return dial_slot(t).then([this, &t]() {
    // The slot is held until the TCP connect is over, however it ends.
    auto slot = kj::defer([this]() { dials.end(); });
    if (!t.wanted) // forgotten while waiting: the dial loop ends after this attempt
      return kj::Promise<kj::Own<kj::AsyncIoStream>>(KJ_EXCEPTION(DISCONNECTED, "no longer wanted"))
          .attach(kj::mv(slot));
    auto& ctx = KJ_ASSERT_NONNULL(io);
    auto connect =
        ctx.provider->getNetwork()
            .parseAddress(t.host, t.port)
            .then([](kj::Own<kj::NetworkAddress> a) { return a->connect().attach(kj::mv(a)); });
    return ctx.provider->getTimer()
        .timeoutAfter(connect_timeout, kj::mv(connect))
        .attach(kj::mv(slot));
  });
}

void network::impl::erase_target_later(dial_target& t) {
  tasks->add(kj::evalLater([this, p = &t]() {
    for (auto it = targets.begin(); it != targets.end(); ++it)
      if (it->get() == p) {
        if (!p->wanted && !p->running)
          targets.erase(it);
        return;
      }
  }));
}

network::dial_stats network::dial_statistics() const {
  return impl_->dials.stats();
}

} // namespace cascade::rpc
