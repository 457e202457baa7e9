#include "rpc/network.hpp"

#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "core/device_id.hpp"
#include "io/log.hpp"
#include "rpc/convert.hpp"
#include "rpc/network_impl.hpp"

namespace cascade::rpc {

namespace {
std::string t_host_of(const std::string& addr) {
  return addr.substr(0, addr.rfind(':'));
}
} // namespace

// One queued closure that throws is logged and dropped; the queue keeps draining (a bridge that
// stopped here would leave every later call from the actors unanswered).
void run_queued(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const kj::Exception& e) {
    io::log_error("network: a queued call failed: " + std::string(e.getDescription().cStr()));
  } catch (const std::exception& e) {
    io::log_error(std::string("network: a queued call failed: ") + e.what());
  } catch (...) {
    io::log_error("network: a queued call failed with an unknown exception");
  }
}

void run_batch(const std::deque<std::function<void()>>& batch) {
  for (auto& fn : batch)
    run_queued(fn);
}

kj::Promise<void> network::impl::drain_queue(kj::AsyncInputStream& in, std::uint64_t& scratch) {
  return in.read(&scratch, sizeof scratch).then([this, &in, &scratch]() {
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard lock(mutex);
      batch.swap(queue);
    }
    run_batch(batch);
    return drain_queue(in, scratch);
  });
}

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
  if (!outbound) {
    auto& f = failures_by_ip[ip];
    if (f.count > 0 && timer.now() - f.last < 60 * kj::SECONDS)
      delay = std::min<int64_t>(10000, 100LL << std::min(f.count, 7)) * kj::MILLISECONDS;
  }
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
          note_failure(ip);
        else
          note_dial_error(addr, e.getDescription().cStr());
        events.on_log(outbound ? 1 : 3, "refused " + addr + ": " + e.getDescription().cStr());
        return nullptr;
      });
}

void network::impl::note_failure(const std::string& ip) {
  auto& f = failures_by_ip[ip];
  f.count++;
  f.last = KJ_ASSERT_NONNULL(io).provider->getTimer().now();
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
  return secure(kj::mv(s), true, addr, t_host_of(addr))
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

void network::impl::attach(kj::AsyncIoContext& ctx) {
  io = ctx;
  tls_ctx = kj::heap<tls_context>(cfg.private_key_pem);
  tasks = kj::heap<kj::TaskSet>(*this);
  queue_in = ctx.lowLevelProvider->wrapInputFd(efd);
  tasks->add(drain_queue(*queue_in, queue_scratch));
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
  dial_closing = true; // dial slots released while the tasks go pump nothing
  tasks = nullptr;
  dial_waiters.clear(); // their dial loops went with the tasks
  targets.clear();
  failures_by_ip.clear();
  conns.clear();
  receiver = nullptr;
  queue_in = nullptr;
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
    : impl_(std::make_unique<impl>(std::move(cfg), l)) {
  impl_->efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

network::~network() {
  stop();
  if (impl_->efd >= 0)
    ::close(impl_->efd);
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
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->thread.join();
}

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

void network::send_update(session_id s, std::vector<wire_entry> entries, std::uint64_t last,
                          std::function<void(bool ok, bool need_full)> done) {
  auto shared = std::make_shared<std::vector<wire_entry>>(std::move(entries));
  impl_->post([i = impl_.get(), s, shared, last, done = std::move(done)]() {
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
    i->tasks->add(req.send().then([done](auto&& r) { done(true, r.getNeedFull()); },
                                  [done](kj::Exception&&) { done(false, false); }));
  });
}

void network::complete_update(session_id s, call_id call, bool ok, bool need_full) {
  impl_->post([i = impl_.get(), s, call, ok, need_full]() {
    auto it = i->update_calls.find({s, call});
    if (it == i->update_calls.end())
      return;
    if (ok)
      it->second->fulfill(kj::cp(need_full));
    else
      it->second->reject(KJ_EXCEPTION(FAILED, "update rejected"));
    i->update_calls.erase(it);
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

std::uint32_t protocol_version() { return wire::PROTOCOL_VERSION; }

void network::close_session(session_id s, std::string reason) {
  impl_->post([i = impl_.get(), s, reason]() { i->drop(s, reason); });
}

} // namespace cascade::rpc
