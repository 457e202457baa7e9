#include "rpc/network.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "core/device_id.hpp"
#include "io/log.hpp"
#include "rpc/convert.hpp"
#include "rpc/network_impl.hpp"

namespace cascade::rpc {

kj::Promise<void> network::impl::accept_loop() {
  return receiver->accept().then([this](kj::Own<kj::AsyncIoStream> s) {
    std::string ip = "?", addr = "?";
    try {
      struct sockaddr_storage sa {};
      kj::uint len = sizeof sa;
      s->getpeername(reinterpret_cast<struct sockaddr*>(&sa), &len);
      char host[64] = "?";
      if (sa.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&sa);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        ip = host;
        addr = ip + ":" + std::to_string(ntohs(in->sin_port));
      }
    } catch (...) {
    }
    accepted(kj::mv(s), addr, ip);
    return accept_loop();
  });
}

void network::impl::accepted(kj::Own<kj::AsyncIoStream> s, std::string addr, std::string ip) {
  tasks->add(secure(kj::mv(s), false, kj::mv(addr), kj::mv(ip)).then([](connection*) {}));
}

// TLS first, within the handshake timeout; an address that keeps failing waits longer.
kj::Promise<connection*> network::impl::secure(kj::Own<kj::AsyncIoStream> s, bool outbound,
                                               std::string addr, std::string ip) {
  auto& timer = KJ_ASSERT_NONNULL(io).provider->getTimer();
  kj::Duration delay = 0 * kj::MILLISECONDS;
  if (!outbound)
    delay = backoff.delay(ip, std::chrono::steady_clock::now()).count() * kj::MILLISECONDS;
#ifdef CASCADE_BENCH_PLAINTEXT
  // Benchmark build only (meson option bench_plaintext): no TLS, to measure what it costs.
  (void)delay;
  auto& plain = add_connection(kj::mv(s), outbound, addr);
  return &plain;
#endif
  auto counters = std::make_shared<byte_counters>(); // the console's bytes in/out
  auto tls = tls_ctx->wrap(kj::heap<counting_stream>(kj::mv(s), counters), outbound);
  auto& ref = *tls;
  // The slowdown comes before the timeout starts, so a slowed address can still get in.
  auto hs = timer.afterDelay(delay).then(
      [&timer, &ref]() { return timer.timeoutAfter(handshake_timeout, ref.handshake()); });
  return hs.then(
      [this, tls = kj::mv(tls), outbound, addr, &timer, counters]() mutable -> connection* {
        auto* t = tls.get();
        auto& c = add_connection(kj::mv(tls), outbound, addr);
        c.tls = t;
        c.counters = counters;
        c.since_ns = std::chrono::steady_clock::now().time_since_epoch().count();
        if (!outbound && denied(t->peer_device())) {
          drop(c.id, "device " + core::format_device_id(t->peer_device()) + " is denied");
          return nullptr;
        }
        // The hello must follow within the same limit, or the connection goes.
        auto id = c.id;
        tasks->add(timer.afterDelay(handshake_timeout).then([this, id]() {
          auto it = conns.find(id);
          if (it != conns.end() && !it->second->up)
            drop(id, "no hello within the handshake timeout");
        }));
        return &c;
      },
      [this, outbound, addr, ip](kj::Exception&& e) -> connection* {
        if (!outbound)
          backoff.failed(ip, std::chrono::steady_clock::now());
        else
          note_dial_error(addr, e.getDescription().cStr());
        events.on_log(outbound ? 1 : 3, "refused " + addr + ": " + e.getDescription().cStr());
        return nullptr;
      });
}

void network::impl::attach(kj::AsyncIoContext& ctx) {
  io = ctx;
  tls_ctx = kj::heap<tls_context>(cfg.private_key_pem);
  tasks = kj::heap<kj::TaskSet>(*this);
  dials.attach(ctx.provider->getTimer(), *tasks);
  tasks->add(inbox.attach(*ctx.lowLevelProvider));
}

void network::impl::detach(kj::WaitScope& ws) {
  // Drop every connection, then let the loop run the deferred teardown.
  std::vector<session_id> ids;
  for (auto& [id, c] : conns)
    ids.push_back(id);
  for (auto id : ids)
    drop(id, "shutting down");
  kj::evalLater([]() {}).wait(ws);
  fetches.clear();
  update_calls.clear();
  offer_calls.clear();
  have_calls.clear();
  dials.close(); // dial slots released while the tasks go pump nothing
  tasks = nullptr;
  dials.clear(); // their dial loops went with the tasks
  targets.clear();
  backoff.clear();
  conns.clear();
  receiver = nullptr;
  inbox.detach();
  io = nullptr;
}

void network::impl::run(std::promise<std::uint16_t>& bound) {
  auto ctx = kj::setupAsyncIo();
  try {
    attach(ctx);
  } catch (const std::exception& e) {
    detach(ctx.waitScope);
    bound.set_exception(std::make_exception_ptr(std::runtime_error(e.what())));
    return;
  }
  try {
    auto addr =
        ctx.provider->getNetwork().parseAddress(cfg.listen_addr, cfg.port).wait(ctx.waitScope);
    receiver = addr->listen();
    bound.set_value(static_cast<std::uint16_t>(receiver->getPort()));
  } catch (kj::Exception& e) {
    detach(ctx.waitScope);
    bound.set_exception(std::make_exception_ptr(
        std::runtime_error("cannot listen on " + cfg.listen_addr + ":" + std::to_string(cfg.port) +
                           ": " + e.getDescription().cStr())));
    return;
  }
  auto paf = kj::newPromiseAndFulfiller<void>();
  stop_fulfiller = kj::mv(paf.fulfiller);
  tasks->add(accept_loop());
  paf.promise.wait(ctx.waitScope);
  detach(ctx.waitScope);
}

network::network(network_config cfg, listener& l)
    : impl_(std::make_unique<impl>(std::move(cfg), l)) {}

network::~network() {
  stop();
}

std::uint16_t network::start() {
  std::promise<std::uint16_t> bound;
  auto f = bound.get_future();
  impl_->thread = std::thread([this, &bound]() { impl_->run(bound); });
  try {
    return f.get();
  } catch (...) {
    impl_->thread.join();
    throw;
  }
}

void network::stop() {
  if (!impl_->thread.joinable())
    return;
  impl_->post([i = impl_.get()]() {
    KJ_IF_MAYBE (f, i->stop_fulfiller) {
      (*f)->fulfill();
    }
  });
  impl_->inbox.close();
  impl_->thread.join();
}

kj::Promise<void> network::impl::heartbeat(session_id s) {
  auto& timer = KJ_ASSERT_NONNULL(io).provider->getTimer();
  return timer.afterDelay(heartbeat_interval).then([this, s, &timer]() -> kj::Promise<void> {
    auto it = conns.find(s);
    if (it == conns.end())
      return kj::READY_NOW;
    wire::Peer::Client* peer = nullptr;
    KJ_IF_MAYBE (p, it->second->remote_peer) {
      peer = p;
    }
    if (peer == nullptr)
      return kj::READY_NOW;
    auto sent = std::chrono::steady_clock::now();
    return timer.timeoutAfter(heartbeat_timeout, peer->pingRequest().send().ignoreResult())
        .then(
            [this, s, sent]() {
              note_rtt(s, (std::chrono::steady_clock::now() - sent).count());
              return heartbeat(s);
            },
            [this, s](kj::Exception&& e) {
              drop(s, std::string("peer stopped answering (") + e.getDescription().cStr() + ")");
            });
  });
}

void network::subscribe(session_id s, std::uint64_t epoch, std::uint64_t from) {
  impl_->post([i = impl_.get(), s, epoch, from]() {
    auto it = i->conns.find(s);
    if (it == i->conns.end())
      return;
    KJ_IF_MAYBE (peer, it->second->remote_peer) {
      auto req = peer->subscribeRequest();
      req.setEpoch(epoch);
      req.setFrom(from);
      i->tasks->add(req.send().ignoreResult());
    }
  });
}

void network::send_update(session_id s, std::vector<wire_entry> entries, std::uint64_t from,
                          std::uint64_t last, std::function<void(bool ok, bool need_full)> done) {
  auto shared = std::make_shared<std::vector<wire_entry>>(std::move(entries));
  impl_->post([i = impl_.get(), s, shared, from, last, done = std::move(done)]() {
    auto* peer = i->peer_of(s);
    if (peer == nullptr) {
      done(false, false);
      return;
    }
    auto req = peer->updateRequest();
    auto list = req.initRecords(static_cast<unsigned>(shared->size()));
    for (unsigned k = 0; k < shared->size(); ++k)
      to_wire((*shared)[k], list[k]);
    req.setLast(last);
    req.setFrom(from);
    i->tasks->add(req.send().then([done](auto&& r) { done(true, r.getNeedFull()); },
                                  [done](kj::Exception&&) { done(false, false); }));
  });
}

void network::complete_update(session_id s, call_id call, bool ok, bool need_full) {
  impl_->post([i = impl_.get(), s, call, ok, need_full]() {
    if (ok)
      i->update_calls.answer(s, call, need_full);
    else
      i->update_calls.fail(s, call, KJ_EXCEPTION(FAILED, "update rejected"));
  });
}

void network::deny(const core::device_id& d) {
  impl_->post([i = impl_.get(), d]() {
    i->denied_devices.insert(d);
    std::vector<session_id> doomed;
    for (auto& [id, c] : i->conns)
      if (c->remote == d)
        doomed.push_back(id);
    for (auto id : doomed)
      i->drop(id, "device " + core::format_device_id(d) + " is denied");
  });
}

std::uint32_t protocol_version() {
  return wire::PROTOCOL_VERSION;
}

void network::close_session(session_id s, std::string reason) {
  impl_->post([i = impl_.get(), s, reason]() { i->drop(s, reason); });
}

} // namespace cascade::rpc
