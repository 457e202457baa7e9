// The Cap'n Proto servers of a connection: the handshake, the peer service and chunk sinks.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include "core/partials.hpp"
#include "core/path.hpp"
#include "io/folder.hpp"
#include "rpc/convert.hpp"
#include "rpc/network_impl.hpp"

namespace cascade::rpc {

namespace {
std::array<std::uint8_t, 32> exporter_of(const connection& c) {
  return c.tls ? c.tls->exporter(exporter_label) : std::array<std::uint8_t, 32>{};
}
} // namespace

// The listener's bootstrap capability (the dialer's refuses both methods). See the Handshake
// interface in cascade.capnp for the order: nothing of ours is handed over before the peer's
// proof has checked out.
class handshake_impl final : public wire::Handshake::Server {
public:
  handshake_impl(network::impl& n, session_id s) : net_(n), session_(s) {}

  kj::Promise<void> hello(HelloContext ctx) override {
    auto* c = connection_of("hello");
    if (c == nullptr)
      return KJ_EXCEPTION(DISCONNECTED, "refused");
    if (c->verified) {
      net_.drop(session_, "it sent a second hello");
      return KJ_EXCEPTION(DISCONNECTED, "refused");
    }
    auto params = ctx.getParams();
    auto err = net_.check_hello(*c, params.getHello());
    if (!err.empty()) {
      net_.drop(session_, err);
      return KJ_EXCEPTION(DISCONNECTED, err);
    }
    // The dialer is a member of the group: it may have our Peer now. Our session is up once it
    // has checked our proof in turn and called ready.
    c->verified = true;
    c->remote_epoch = params.getHello().getIndexEpoch();
    auto res = ctx.getResults();
    net_.fill_hello(res.initHello(), *c);
    res.setPeer(net_.make_peer(session_));
    if (net_.loses_duplicate(*c)) {
      // Answer first, so the dialer learns who we are and stops redialing; then close.
      c->closing = true;
      auto& timer = KJ_ASSERT_NONNULL(net_.io).provider->getTimer();
      net_.tasks->add(timer.afterDelay(100 * kj::MILLISECONDS).then([n = &net_, s = session_]() {
        n->drop(s, duplicate_connection);
      }));
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> ready(ReadyContext ctx) override {
    auto* c = connection_of("ready");
    if (c == nullptr)
      return KJ_EXCEPTION(DISCONNECTED, "refused");
    if (!c->verified || c->up) {
      net_.drop(session_, c->up ? "it sent a second ready" : "it sent ready before its hello");
      return KJ_EXCEPTION(DISCONNECTED, "refused");
    }
    if (c->closing)
      return kj::READY_NOW;
    auto err = net_.go_up(*c, ctx.getParams().getPeer(), c->remote_epoch);
    if (!err.empty()) {
      net_.drop(session_, err);
      return KJ_EXCEPTION(DISCONNECTED, err);
    }
    return kj::READY_NOW;
  }

private:
  // The connection if this bootstrap may be called on it; otherwise drops it (a dialed peer
  // never calls the dialer's bootstrap) and returns null.
  connection* connection_of(const char* method) {
    auto it = net_.conns.find(session_);
    if (it == net_.conns.end())
      return nullptr;
    if (it->second->outbound) {
      net_.drop(session_, std::string("the peer we dialed called our ") + method);
      return nullptr;
    }
    return it->second.get();
  }

  network::impl& net_;
  session_id session_;
};

// Our side of a session. It reaches a peer only after that peer's proof checked out, and every
// method still refuses (and drops the connection) unless the session is up: defence in depth,
// so that no path, record or byte leaves before both proofs are done.
class peer_impl final : public wire::Peer::Server {
public:
  peer_impl(network::impl& n, session_id s) : net_(n), session_(s) {}

  kj::Promise<void> subscribe(SubscribeContext ctx) override {
    if (!up("subscribe"))
      return refused();
    auto p = ctx.getParams();
    net_.events.on_subscribe(session_, p.getEpoch(), p.getFrom());
    return kj::READY_NOW;
  }

  kj::Promise<void> update(UpdateContext ctx) override {
    if (!up("update"))
      return refused();
    return net_.on_update(session_, ctx.getParams()).then([ctx](bool need_full) mutable {
      ctx.getResults().setNeedFull(need_full);
    });
  }

  kj::Promise<void> fetch(FetchContext ctx) override {
    if (!up("fetch"))
      return refused();
    auto p = ctx.getParams();
    std::string path(p.getPath().cStr());
    auto it = net_.conns.find(session_);
    if (it == net_.conns.end())
      return KJ_EXCEPTION(DISCONNECTED, "session gone");
    auto& conn = *it->second;
    if (core::validate_path(path) != core::path_error::ok || net_.cfg.folder == nullptr) {
      net_.events.on_log(3, "refused a fetch of a bad path from " + conn.address);
      return KJ_EXCEPTION(FAILED, "bad path in fetch");
    }
    if (conn.serving >= max_concurrent_fetches || p.getRanges().size() > max_ranges_per_fetch) {
      net_.drop(session_, "peer broke the limit of " + std::to_string(max_concurrent_fetches) +
                              " concurrent fetches of " + std::to_string(max_ranges_per_fetch) +
                              " ranges");
      return KJ_EXCEPTION(FAILED, "limit");
    }
    std::vector<core::byte_range> ranges;
    for (auto r : p.getRanges())
      ranges.push_back({r.getOffset(), r.getLength()});
    // A repair asking for a version we are still receiving (or stopped receiving) is served
    // from our partial file, if every byte asked for is verified there.
    std::string partial;
    if (p.hasVersion() && p.getVersion().size() > 0 && net_.cfg.partials != nullptr) {
      auto v = from_wire(p.getVersion());
      if (!v)
        return KJ_EXCEPTION(FAILED, "bad version in fetch");
      if (auto tmp = net_.cfg.partials->source_for(path, *v, ranges))
        partial = std::move(*tmp);
    }
    ++conn.serving;
    auto s = session_;
    auto* net = &net_;
    return net_
        .serve_fetch(p.getSink(), std::move(path), std::move(partial), std::move(ranges), 0, 0)
        .attach(kj::defer([net, s]() {
          if (auto i = net->conns.find(s); i != net->conns.end())
            --i->second->serving;
        }));
  }

  kj::Promise<void> ping(PingContext) override {
    if (!up("ping"))
      return refused();
    return kj::READY_NOW;
  }

  kj::Promise<void> offer(OfferContext ctx) override {
    if (!up("offer"))
      return refused();
    auto p = ctx.getParams();
    std::string why;
    auto entry = from_wire(p.getRecord(), why);
    auto ids = [](capnp::List<capnp::Data>::Reader list, std::vector<core::device_id>& out) {
      for (auto d : list) {
        if (d.size() != 32 || out.size() >= 1024)
          return false;
        core::device_id id;
        std::copy(d.begin(), d.end(), id.begin());
        out.push_back(id);
      }
      return true;
    };
    std::vector<core::device_id> rest, visited;
    if (!entry || !ids(p.getRest(), rest) || !ids(p.getVisited(), visited)) {
      net_.events.on_log(3, "refused a malformed offer: " + why);
      return kj::READY_NOW; // declined
    }
    auto call = net_.next_call++;
    auto answer = net_.offer_calls.open(session_, call);
    if (answer == nullptr) {
      net_.drop(session_, "peer broke the limit of " + std::to_string(max_pending_offers) +
                              " pending offers");
      return KJ_EXCEPTION(FAILED, "limit");
    }
    net_.events.on_offer(session_, call, std::move(*entry), std::move(rest), std::move(visited));
    return KJ_ASSERT_NONNULL(answer).then([ctx, n = &net_](fetch_id f) mutable {
      if (f != 0)
        ctx.getResults().setSink(n->make_sink(f));
    });
  }

  kj::Promise<void> have(HaveContext ctx) override {
    if (!up("have"))
      return refused();
    auto p = ctx.getParams();
    std::string path(p.getPath().cStr());
    auto v = from_wire(p.getVersion());
    if (core::validate_path(path) != core::path_error::ok || !v || v->empty()) {
      net_.events.on_log(3, "refused a malformed have query");
      return KJ_EXCEPTION(FAILED, "bad have query");
    }
    auto call = net_.next_call++;
    auto answer = net_.have_calls.open(session_, call);
    if (answer == nullptr) {
      net_.drop(session_, "peer broke the limit of " + std::to_string(max_pending_have) +
                              " unanswered have queries");
      return KJ_EXCEPTION(FAILED, "limit");
    }
    net_.events.on_have(session_, call, std::move(path), std::move(*v));
    return KJ_ASSERT_NONNULL(answer).then([ctx](network::impl::have_reply r) mutable {
      auto res = ctx.getResults();
      res.setComplete(r.complete);
      if (!r.complete && !r.chunks.empty()) {
        auto bytes = pack_bits(r.chunks);
        res.setChunks(kj::arrayPtr(bytes.data(), bytes.size()));
      }
    });
  }

private:
  // True if the session is up; otherwise the connection is dropped, naming the method.
  bool up(const char* method) {
    auto it = net_.conns.find(session_);
    if (it == net_.conns.end())
      return false;
    if (it->second->up)
      return true;
    net_.drop(session_, std::string("it called Peer.") + method + " before the session was up");
    return false;
  }
  static kj::Promise<void> refused() { return KJ_EXCEPTION(DISCONNECTED, "session not up"); }

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
    auto& pool = io::frame_pool();
    for (auto p : ctx.getParams().getPieces()) {
      auto d = p.getData();
      // The message was read into a pooled block: the pieces share it (no copy).
      out.push_back({p.getOffset(), pool.share_or_copy({d.begin(), d.size()})});
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
    if (it != net_.fetches.end()) {
      it->second->finish(ctx.getParams().getError().cStr());
      net_.forget_fetch_if_over(fetch_);
    }
    return kj::READY_NOW;
  }

private:
  network::impl& net_;
  fetch_id fetch_;
};

void network::impl::fill_hello(wire::Hello::Builder h, connection& c) const {
  h.setDeviceId(kj::arrayPtr(tls_ctx->self().data(), tls_ctx->self().size()));
  auto proof = group_proof(cfg.group_key, c.outbound ? "client" : "server", exporter_of(c));
  h.setGroup(kj::arrayPtr(proof.data(), proof.size()));
  h.setProtocol(wire::PROTOCOL_VERSION);
  h.setIndexEpoch(cfg.epoch);
}

wire::Peer::Client network::impl::make_peer(session_id s) {
  return kj::heap<peer_impl>(*this, s);
}

wire::ChunkSink::Client network::impl::make_sink(fetch_id f) {
  return kj::heap<sink_impl>(*this, f);
}

bool network::impl::device_connected(const core::device_id& d) const {
  for (auto& [id, c] : conns)
    if (c->up && c->remote == d)
      return true;
  return false;
}

std::string network::impl::check_hello(connection& c, wire::Hello::Reader h) {
  auto group = h.getGroup();
  auto dev = h.getDeviceId();
  if (h.getProtocol() != wire::PROTOCOL_VERSION)
    return "protocol version " + std::to_string(h.getProtocol()) + " is not ours";
  auto expect = group_proof(cfg.group_key, c.outbound ? "server" : "client", exporter_of(c));
  if (group.size() != expect.size() ||
      CRYPTO_memcmp(group.begin(), expect.data(), expect.size()) != 0) {
    if (!c.outbound)
      backoff.failed(c.address.substr(0, c.address.rfind(':')), std::chrono::steady_clock::now());
    return "peer does not hold our group key";
  }
  if (dev.size() != 32)
    return "malformed device id";
  if (c.tls == nullptr) // only in the plaintext benchmark build
    std::copy(dev.begin(), dev.end(), c.remote.begin());
  else if (!std::equal(dev.begin(), dev.end(), c.tls->peer_device().begin()))
    return "its device id does not match its TLS key";
  else
    c.remote = c.tls->peer_device();
  if (denied(c.remote))
    return "device " + core::format_device_id(c.remote) + " is denied";
  if (c.remote == cfg.self)
    return "connected to ourselves";
  return "";
}

// Two connections to one device (both dialed at once): keep the one dialed by the smaller id,
// a rule both sides apply alike.
bool network::impl::loses_duplicate(connection& c) {
  for (auto& [id, other] : conns) {
    if (id == c.id || !other->up || other->remote != c.remote)
      continue;
    auto dialer_of = [&](const connection& x) { return x.outbound ? cfg.self : x.remote; };
    if (dialer_of(c) < dialer_of(*other)) {
      drop(id, duplicate_connection);
      return false;
    }
    return true;
  }
  return false;
}

std::string network::impl::go_up(connection& c, wire::Peer::Client peer, std::uint64_t epoch) {
  if (loses_duplicate(c))
    return duplicate_connection;
  c.remote_peer = kj::mv(peer);
  c.up = true;
  if (!c.outbound)
    backoff.succeeded(c.address.substr(0, c.address.rfind(':')));
  tasks->add(heartbeat(c.id));
  events.on_session_up({c.id, c.remote, epoch, c.address, c.outbound});
  return "";
}

connection& network::impl::add_connection(kj::Own<kj::AsyncIoStream> stream, bool outbound,
                                          std::string addr) {
  auto c = kj::heap<connection>();
  c->id = next_session++;
  c->outbound = outbound;
  c->address = std::move(addr);
  c->stream = kj::mv(stream);
  c->client = kj::heap<rpc_link>(*c->stream, kj::heap<handshake_impl>(*this, c->id),
                                 outbound ? capnp::rpc::twoparty::Side::CLIENT
                                          : capnp::rpc::twoparty::Side::SERVER,
                                 stream_window_bytes);
  auto id = c->id;
  c->watch = c->client->onDisconnect()
                 .then([this, id]() { drop(id, "connection closed"); },
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
  std::vector<fetch_id> lost;
  for (auto& [id, f] : fetches)
    if (f->session == s) {
      f->finish("connection lost: " + reason);
      lost.push_back(id);
    }
  for (auto id : lost)
    forget_fetch_if_over(id);
  update_calls.drop_session(s);
  offer_calls.drop_session(s);
  have_calls.drop_session(s);
  for (auto& [id, p] : pushes)
    if (p->session == s) {
      p->fail("connection lost: " + reason);
      end_push(id);
    }
  if (own->up)
    events.on_session_down(s, reason);
  else
    events.on_log(reason == duplicate_connection || reason == "shutting down" ? 1 : 3,
                  "connection " + own->address + " closed before handshake: " + reason);
  // Destroying the RPC system from inside its own callbacks is unsafe: defer it.
  tasks->add(kj::evalLater([c = kj::mv(own)]() mutable { c = nullptr; }));
}

// Forgets a push once its continuations have run (never from inside one).
void network::impl::end_push(network::push_id p) {
  tasks->add(kj::evalLater([this, p]() {
    auto it = pushes.find(p);
    if (it == pushes.end())
      return;
    auto own = kj::mv(it->second);
    pushes.erase(it);
    tasks->add(kj::evalLater([o = kj::mv(own)]() mutable { o = nullptr; }));
  }));
}

kj::Promise<bool> network::impl::on_update(session_id s, wire::Peer::UpdateParams::Reader p) {
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
  auto answer = update_calls.open(s, call);
  if (answer == nullptr) {
    drop(s, "peer broke the limit of " + std::to_string(max_pending_updates) +
                " pending index updates");
    return KJ_EXCEPTION(FAILED, "limit");
  }
  events.on_update(s, call, std::move(entries), p.getFrom(), p.getLast());
  return kj::mv(KJ_ASSERT_NONNULL(answer));
}

} // namespace cascade::rpc
