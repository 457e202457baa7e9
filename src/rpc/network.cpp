#include "rpc/network.hpp"

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/debug.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <future>
#include <thread>

#include <arpa/inet.h>

#include "cascade.capnp.h"
#include "core/device_id.hpp"
#include "core/path.hpp"
#include "io/folder.hpp"
#include "rpc/convert.hpp"

namespace cascade::rpc {

namespace {

constexpr std::size_t max_frame_bytes = 1024 * 1024; // pieces per write: 256 KiB - 1 MiB
constexpr std::size_t max_entries_per_update = 10000;
const std::string duplicate_connection = "duplicate connection";

kj::ArrayPtr<const kj::byte> bytes_of(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

} // namespace

class handshake_impl;
class peer_impl;

// One TCP connection and its RPC system. Owned by impl::conns.
struct connection {
  session_id id = 0;
  bool outbound = false;
  bool up = false;
  std::string address;
  core::device_id remote{};
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> client;
  kj::Maybe<wire::Peer::Client> remote_peer;
  kj::Maybe<kj::Promise<void>> watch;
};

struct pending_fetch {
  session_id session = 0;
  std::shared_ptr<chunk_receiver> receiver;
  std::size_t outstanding = 0; // frames handed to the receiver, not yet consumed
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> blocked;
  bool finished = false;
  kj::Maybe<kj::Promise<void>> call;

  void finish(const std::string& error) {
    if (finished)
      return;
    finished = true;
    receiver->on_done(error);
  }
};

struct dial_target {
  std::string host;
  std::uint16_t port = 0;
  kj::Maybe<core::device_id> device; // learnt on the first successful hello
  int failures = 0;
};

struct network::impl : kj::TaskSet::ErrorHandler {
  network_config cfg;
  listener& events;
  std::thread thread;
  int efd = -1;
  std::mutex mutex;
  std::deque<std::function<void()>> queue;
  bool stopping = false;

  // KJ-thread state.
  kj::Maybe<kj::AsyncIoContext&> io;
  kj::Own<kj::ConnectionReceiver> receiver;
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> stop_fulfiller;
  kj::Own<kj::TaskSet> tasks;
  std::map<session_id, kj::Own<connection>> conns;
  std::map<fetch_id, kj::Own<pending_fetch>> fetches;
  std::map<std::pair<session_id, call_id>, kj::Own<kj::PromiseFulfiller<void>>> update_calls;
  std::vector<kj::Own<dial_target>> targets;
  session_id next_session = 1;
  call_id next_call = 1;
  fetch_id next_fetch = 1; // written by other threads under `mutex`

  impl(network_config c, listener& l) : cfg(std::move(c)), events(l) {}

  void taskFailed(kj::Exception&& e) override {
    events.on_log(3, std::string("network task failed: ") + e.getDescription().cStr());
  }

  void post(std::function<void()> fn) {
    {
      std::lock_guard lock(mutex);
      if (stopping)
        return;
      queue.push_back(std::move(fn));
    }
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(efd, &one, sizeof one);
  }

  void run(std::promise<std::uint16_t>& bound);
  kj::Promise<void> drain_queue(kj::AsyncInputStream& in, std::uint64_t& scratch);
  kj::Promise<void> accept_loop();
  kj::Promise<void> dial_loop(dial_target& t);
  bool device_connected(const core::device_id& d) const;

  connection& add_connection(kj::Own<kj::AsyncIoStream> stream, bool outbound, std::string addr);
  wire::Peer::Client make_peer(session_id s);
  void fill_hello(wire::Hello::Builder h) const;
  // Checks the peer's hello; on success marks the session up. Returns an error text or "".
  std::string accept_hello(connection& c, wire::Hello::Reader h, wire::Peer::Client peer);
  void drop(session_id s, const std::string& reason);

  kj::Promise<void> serve_fetch(wire::ChunkSink::Client sink, std::string path,
                                std::vector<core::byte_range> ranges, std::size_t idx,
                                std::uint64_t pos);
  kj::Promise<void> on_update(session_id s, wire::Peer::UpdateParams::Reader p);
};

// The bootstrap capability: the first call on every connection.
class handshake_impl final : public wire::Handshake::Server {
public:
  handshake_impl(network::impl& n, session_id s) : net_(n), session_(s) {}

  kj::Promise<void> hello(HelloContext ctx) override {
    auto it = net_.conns.find(session_);
    if (it == net_.conns.end())
      return kj::READY_NOW;
    auto params = ctx.getParams();
    auto err = net_.accept_hello(*it->second, params.getHello(), params.getPeer());
    if (!err.empty() && err != duplicate_connection) {
      net_.drop(session_, err);
      return KJ_EXCEPTION(DISCONNECTED, err);
    }
    auto res = ctx.getResults();
    net_.fill_hello(res.initHello());
    res.setPeer(net_.make_peer(session_));
    if (!err.empty()) {
      // Answer first, so the dialer learns who we are and stops redialing; then close.
      auto& timer = KJ_ASSERT_NONNULL(net_.io).provider->getTimer();
      net_.tasks->add(timer.afterDelay(100 * kj::MILLISECONDS).then([n = &net_, s = session_, err]() {
        n->drop(s, err);
      }));
    }
    return kj::READY_NOW;
  }

private:
  network::impl& net_;
  session_id session_;
};

class peer_impl final : public wire::Peer::Server {
public:
  peer_impl(network::impl& n, session_id s) : net_(n), session_(s) {}

  kj::Promise<void> subscribe(SubscribeContext ctx) override {
    auto p = ctx.getParams();
    net_.events.on_subscribe(session_, p.getEpoch(), p.getFrom());
    return kj::READY_NOW;
  }

  kj::Promise<void> update(UpdateContext ctx) override {
    return net_.on_update(session_, ctx.getParams());
  }

  kj::Promise<void> fetch(FetchContext ctx) override {
    auto p = ctx.getParams();
    std::string path(p.getPath().cStr());
    if (core::validate_path(path) != core::path_error::ok || net_.cfg.folder == nullptr)
      return KJ_EXCEPTION(FAILED, "bad path in fetch");
    std::vector<core::byte_range> ranges;
    for (auto r : p.getRanges())
      ranges.push_back({r.getOffset(), r.getLength()});
    return net_.serve_fetch(p.getSink(), std::move(path), std::move(ranges), 0, 0);
  }

  kj::Promise<void> ping(PingContext) override { return kj::READY_NOW; }

private:
  network::impl& net_;
  session_id session_;
};

// Receives one fetch's pieces and holds the sender back while the receiver is behind.
class sink_impl final : public wire::ChunkSink::Server {
public:
  sink_impl(network::impl& n, fetch_id f) : net_(n), fetch_(f) {}

  kj::Promise<void> write(WriteContext ctx) override {
    auto it = net_.fetches.find(fetch_);
    if (it == net_.fetches.end() || it->second->finished)
      return KJ_EXCEPTION(DISCONNECTED, "fetch cancelled");
    auto& f = *it->second;
    std::vector<piece> out;
    for (auto p : ctx.getParams().getPieces()) {
      auto d = p.getData();
      out.push_back({p.getOffset(),
                     std::make_shared<const std::vector<std::uint8_t>>(d.begin(), d.end())});
    }
    ++f.outstanding;
    f.receiver->on_pieces(std::move(out));
    if (f.outstanding <= net_.cfg.sink_credit)
      return kj::READY_NOW;
    auto paf = kj::newPromiseAndFulfiller<void>();
    f.blocked = kj::mv(paf.fulfiller);
    return kj::mv(paf.promise);
  }

  kj::Promise<void> done(DoneContext ctx) override {
    auto it = net_.fetches.find(fetch_);
    if (it != net_.fetches.end())
      it->second->finish(ctx.getParams().getError().cStr());
    return kj::READY_NOW;
  }

private:
  network::impl& net_;
  fetch_id fetch_;
};

void network::impl::fill_hello(wire::Hello::Builder h) const {
  h.setDeviceId(kj::arrayPtr(cfg.self.data(), cfg.self.size()));
  h.setGroup(bytes_of(cfg.group_proof));
  h.setProtocol(wire::PROTOCOL_VERSION);
  h.setIndexEpoch(cfg.epoch);
}

wire::Peer::Client network::impl::make_peer(session_id s) { return kj::heap<peer_impl>(*this, s); }

bool network::impl::device_connected(const core::device_id& d) const {
  for (auto& [id, c] : conns)
    if (c->up && c->remote == d)
      return true;
  return false;
}

std::string network::impl::accept_hello(connection& c, wire::Hello::Reader h,
                                        wire::Peer::Client peer) {
  auto group = h.getGroup();
  auto dev = h.getDeviceId();
  if (h.getProtocol() != wire::PROTOCOL_VERSION)
    return "protocol version " + std::to_string(h.getProtocol()) + " is not ours";
  if (group.size() != cfg.group_proof.size() ||
      !std::equal(group.begin(), group.end(), bytes_of(cfg.group_proof).begin()))
    return "peer is in another group (its key differs from ours)";
  if (dev.size() != 32)
    return "malformed device id";
  std::copy(dev.begin(), dev.end(), c.remote.begin());
  if (c.remote == cfg.self)
    return "connected to ourselves";
  // Two connections to one device (both dialed at once): keep the one dialed by the smaller id,
  // a rule both sides apply alike.
  for (auto& [id, other] : conns) {
    if (id == c.id || !other->up || other->remote != c.remote)
      continue;
    auto dialer_of = [&](const connection& x) { return x.outbound ? cfg.self : x.remote; };
    if (dialer_of(c) < dialer_of(*other)) {
      drop(id, duplicate_connection);
      break;
    }
    return duplicate_connection;
  }
  c.remote_peer = kj::mv(peer);
  c.up = true;
  events.on_session_up({c.id, c.remote, h.getIndexEpoch(), c.address, c.outbound});
  return "";
}

connection& network::impl::add_connection(kj::Own<kj::AsyncIoStream> stream, bool outbound,
                                          std::string addr) {
  auto c = kj::heap<connection>();
  c->id = next_session++;
  c->outbound = outbound;
  c->address = std::move(addr);
  c->stream = kj::mv(stream);
  c->client = kj::heap<capnp::TwoPartyClient>(
      *c->stream, kj::heap<handshake_impl>(*this, c->id),
      outbound ? capnp::rpc::twoparty::Side::CLIENT : capnp::rpc::twoparty::Side::SERVER);
  auto id = c->id;
  c->watch = c->client->onDisconnect().then(
      [this, id]() { drop(id, "connection closed"); },
      [this, id](kj::Exception&& e) { drop(id, e.getDescription().cStr()); })
                 .eagerlyEvaluate(nullptr);
  auto& ref = *c;
  conns.emplace(id, kj::mv(c));
  return ref;
}

void network::impl::drop(session_id s, const std::string& reason) {
  auto it = conns.find(s);
  if (it == conns.end())
    return;
  auto own = kj::mv(it->second);
  conns.erase(it);
  for (auto& [id, f] : fetches)
    if (f->session == s)
      f->finish("connection lost: " + reason);
  for (auto i = update_calls.begin(); i != update_calls.end();)
    i = i->first.first == s ? update_calls.erase(i) : std::next(i);
  if (own->up)
    events.on_session_down(s, reason);
  else
    events.on_log(reason == duplicate_connection ? 1 : 2,
                  "connection " + own->address + " closed before handshake: " + reason);
  // Destroying the RPC system from inside its own callbacks is unsafe: defer it.
  tasks->add(kj::evalLater([c = kj::mv(own)]() mutable { c = nullptr; }));
}

kj::Promise<void> network::impl::on_update(session_id s, wire::Peer::UpdateParams::Reader p) {
  auto records = p.getRecords();
  if (records.size() > max_entries_per_update) {
    drop(s, "update with " + std::to_string(records.size()) + " entries exceeds the limit");
    return KJ_EXCEPTION(FAILED, "too many entries");
  }
  std::vector<wire_entry> entries;
  entries.reserve(records.size());
  for (auto r : records) {
    std::string why;
    if (auto e = from_wire(r, why))
      entries.push_back(std::move(*e));
    else
      events.on_log(3, "rejected a record from session " + std::to_string(s) + ": " + why);
  }
  auto call = next_call++;
  auto paf = kj::newPromiseAndFulfiller<void>();
  update_calls.emplace(std::make_pair(s, call), kj::mv(paf.fulfiller));
  events.on_update(s, call, std::move(entries), p.getLast());
  return kj::mv(paf.promise);
}

kj::Promise<void> network::impl::serve_fetch(wire::ChunkSink::Client sink, std::string path,
                                             std::vector<core::byte_range> ranges,
                                             std::size_t idx, std::uint64_t pos) {
  if (idx >= ranges.size()) {
    auto req = sink.doneRequest();
    req.setError("");
    return req.send().ignoreResult();
  }
  // TODO(perf): read on a worker thread instead of the KJ thread.
  auto fd = cfg.folder->open_read(path);
  auto req = sink.writeRequest();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> parts; // (offset, length)
  std::size_t bytes = 0;
  while (idx < ranges.size() && bytes < max_frame_bytes) {
    auto& r = ranges[idx];
    auto take = std::min<std::uint64_t>(r.length - pos, max_frame_bytes - bytes);
    parts.emplace_back(r.offset + pos, take);
    bytes += take;
    pos += take;
    if (pos == r.length) {
      ++idx;
      pos = 0;
    }
  }
  auto list = req.initPieces(static_cast<unsigned>(parts.size()));
  for (unsigned i = 0; i < parts.size(); ++i) {
    list[i].setOffset(parts[i].first);
    auto data = list[i].initData(static_cast<unsigned>(parts[i].second));
    std::size_t got = 0;
    while (fd && got < data.size()) {
      auto n = ::pread(fd.get(), data.begin() + got, data.size() - got,
                       static_cast<off_t>(parts[i].first + got));
      if (n <= 0)
        break;
      got += static_cast<std::size_t>(n);
    }
    if (got < data.size()) {
      auto done = sink.doneRequest();
      done.setError("cannot read " + path + " (changed or removed on the sender)");
      return done.send().ignoreResult();
    }
  }
  return req.send().then([this, sink, path = kj::mv(path), ranges = kj::mv(ranges), idx,
                          pos]() mutable {
    return serve_fetch(kj::mv(sink), kj::mv(path), kj::mv(ranges), idx, pos);
  });
}

kj::Promise<void> network::impl::drain_queue(kj::AsyncInputStream& in, std::uint64_t& scratch) {
  return in.read(&scratch, sizeof scratch).then([this, &in, &scratch]() {
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard lock(mutex);
      batch.swap(queue);
    }
    for (auto& fn : batch)
      fn();
    return drain_queue(in, scratch);
  });
}

kj::Promise<void> network::impl::accept_loop() {
  return receiver->accept().then([this](kj::Own<kj::AsyncIoStream> s) {
    std::string addr = "?";
    try {
      struct sockaddr_storage sa{};
      kj::uint len = sizeof sa;
      s->getpeername(reinterpret_cast<struct sockaddr*>(&sa), &len);
      char host[64] = "?";
      if (sa.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&sa);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        addr = std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
      }
    } catch (...) {
    }
    add_connection(kj::mv(s), false, addr);
    return accept_loop();
  });
}

kj::Promise<void> network::impl::dial_loop(dial_target& t) {
  auto& ctx = KJ_ASSERT_NONNULL(io);
  auto& timer = ctx.provider->getTimer();
  bool skip = false;
  KJ_IF_MAYBE (d, t.device) {
    skip = device_connected(*d);
  }
  if (skip) // connected through another session (perhaps the peer dialed us): check later
    return timer.afterDelay(1 * kj::SECONDS).then([this, &t]() { return dial_loop(t); });
  auto addr = t.host + ":" + std::to_string(t.port);
  return ctx.provider->getNetwork()
      .parseAddress(t.host, t.port)
      .then([](kj::Own<kj::NetworkAddress> a) { return a->connect(); })
      .then(
          [this, &t, addr](kj::Own<kj::AsyncIoStream> s) -> kj::Promise<void> {
            auto& c = add_connection(kj::mv(s), true, addr);
            auto id = c.id;
            auto req = c.client->bootstrap().castAs<wire::Handshake>().helloRequest();
            fill_hello(req.initHello());
            req.setPeer(make_peer(id));
            return req.send().then(
                [this, &t, id](capnp::Response<wire::Handshake::HelloResults> r) -> kj::Promise<void> {
                  auto it = conns.find(id);
                  if (it == conns.end())
                    return kj::READY_NOW;
                  auto err = accept_hello(*it->second, r.getHello(), r.getPeer());
                  if (it->second->remote != core::device_id{})
                    t.device = it->second->remote; // known even for a duplicate: no redial
                  if (!err.empty()) {
                    drop(id, err);
                    return kj::READY_NOW;
                  }
                  t.failures = 0;
                  // Wait while this session lives.
                  auto watch = it->second->client->onDisconnect().then(
                      []() {}, [](kj::Exception&&) {});
                  return watch;
                });
          })
      .then([]() {}, [this, addr](kj::Exception&& e) {
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

void network::impl::run(std::promise<std::uint16_t>& bound) {
  auto ctx = kj::setupAsyncIo();
  io = ctx;
  tasks = kj::heap<kj::TaskSet>(*this);
  try {
    auto addr = ctx.provider->getNetwork().parseAddress(cfg.listen_addr, cfg.port).wait(ctx.waitScope);
    receiver = addr->listen();
    bound.set_value(static_cast<std::uint16_t>(receiver->getPort()));
  } catch (kj::Exception& e) {
    bound.set_exception(std::make_exception_ptr(std::runtime_error(
        "cannot listen on " + cfg.listen_addr + ":" + std::to_string(cfg.port) + ": " +
        e.getDescription().cStr())));
    return;
  }
  auto paf = kj::newPromiseAndFulfiller<void>();
  stop_fulfiller = kj::mv(paf.fulfiller);
  auto queue_in = ctx.lowLevelProvider->wrapInputFd(efd);
  std::uint64_t scratch = 0;
  tasks->add(drain_queue(*queue_in, scratch));
  tasks->add(accept_loop());
  paf.promise.wait(ctx.waitScope);
  // Shut down: drop every connection, then let the loop run the deferred teardown.
  std::vector<session_id> ids;
  for (auto& [id, c] : conns)
    ids.push_back(id);
  for (auto id : ids)
    drop(id, "shutting down");
  kj::evalLater([]() {}).wait(ctx.waitScope);
  fetches.clear();
  update_calls.clear();
  tasks = nullptr;
  targets.clear();
  conns.clear();
  receiver = nullptr;
  io = nullptr;
}

network::network(network_config cfg, listener& l) : impl_(std::make_unique<impl>(std::move(cfg), l)) {
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

void network::dial(const std::string& host, std::uint16_t port) {
  impl_->post([i = impl_.get(), host, port]() {
    auto t = kj::heap<dial_target>();
    t->host = host;
    t->port = port;
    auto& ref = *t;
    i->targets.push_back(kj::mv(t));
    i->tasks->add(i->dial_loop(ref));
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
                          std::function<void(bool)> done) {
  auto shared = std::make_shared<std::vector<wire_entry>>(std::move(entries));
  impl_->post([i = impl_.get(), s, shared, last, done = std::move(done)]() {
    auto it = i->conns.find(s);
    wire::Peer::Client* peer = nullptr;
    if (it != i->conns.end())
      KJ_IF_MAYBE (p, it->second->remote_peer) { peer = p; }
    if (peer == nullptr) {
      done(false);
      return;
    }
    auto req = peer->updateRequest();
    auto list = req.initRecords(static_cast<unsigned>(shared->size()));
    for (unsigned k = 0; k < shared->size(); ++k)
      to_wire((*shared)[k], list[k]);
    req.setLast(last);
    i->tasks->add(req.send().then([done](auto&&) { done(true); },
                                  [done](kj::Exception&&) { done(false); }));
  });
}

void network::complete_update(session_id s, call_id call, bool ok) {
  impl_->post([i = impl_.get(), s, call, ok]() {
    auto it = i->update_calls.find({s, call});
    if (it == i->update_calls.end())
      return;
    if (ok)
      it->second->fulfill();
    else
      it->second->reject(KJ_EXCEPTION(FAILED, "update rejected"));
    i->update_calls.erase(it);
  });
}

fetch_id network::fetch(session_id s, std::string path, std::vector<core::byte_range> ranges,
                        std::shared_ptr<chunk_receiver> receiver) {
  fetch_id id;
  {
    std::lock_guard lock(impl_->mutex);
    id = impl_->next_fetch++;
  }
  impl_->post([i = impl_.get(), s, id, path = std::move(path), ranges = std::move(ranges),
               receiver]() {
    auto f = kj::heap<pending_fetch>();
    f->session = s;
    f->receiver = receiver;
    auto it = i->conns.find(s);
    wire::Peer::Client* peer = nullptr;
    if (it != i->conns.end())
      KJ_IF_MAYBE (p, it->second->remote_peer) { peer = p; }
    if (peer == nullptr) {
      f->finish("peer not connected");
      return;
    }
    auto req = peer->fetchRequest();
    req.setPath(path);
    auto rl = req.initRanges(static_cast<unsigned>(ranges.size()));
    for (unsigned k = 0; k < ranges.size(); ++k) {
      rl[k].setOffset(ranges[k].offset);
      rl[k].setLength(ranges[k].length);
    }
    req.setSink(kj::heap<sink_impl>(*i, id));
    auto& ref = *f;
    i->fetches.emplace(id, kj::mv(f));
    ref.call = req.send().then([](auto&&) {}, [i, id](kj::Exception&& e) {
      auto it = i->fetches.find(id);
      if (it != i->fetches.end())
        it->second->finish(std::string("fetch failed: ") + e.getDescription().cStr());
    }).eagerlyEvaluate(nullptr);
  });
  return id;
}

void network::consumed(fetch_id f, std::size_t frames) {
  impl_->post([i = impl_.get(), f, frames]() {
    auto it = i->fetches.find(f);
    if (it == i->fetches.end())
      return;
    auto& p = *it->second;
    p.outstanding -= std::min(frames, p.outstanding);
    if (p.outstanding <= i->cfg.sink_credit) {
      KJ_IF_MAYBE (b, p.blocked) {
        (*b)->fulfill();
        p.blocked = nullptr;
      }
    }
  });
}

void network::cancel_fetch(fetch_id f) {
  impl_->post([i = impl_.get(), f]() {
    auto it = i->fetches.find(f);
    if (it == i->fetches.end())
      return;
    it->second->finished = true; // no callback after a cancel
    KJ_IF_MAYBE (b, it->second->blocked) {
      (*b)->reject(KJ_EXCEPTION(DISCONNECTED, "fetch cancelled"));
    }
    auto own = kj::mv(it->second);
    i->fetches.erase(it);
    i->tasks->add(kj::evalLater([o = kj::mv(own)]() mutable { o = nullptr; }));
  });
}

void network::close_session(session_id s, std::string reason) {
  impl_->post([i = impl_.get(), s, reason]() { i->drop(s, reason); });
}

} // namespace cascade::rpc
