// The hostile peer as a server the node dials (`--peer` or discovery): it takes the node's
// connections and tries every Peer method it can reach, before, during and after the hello:
//
//   before  right after TLS it calls the node's own bootstrap (hello, and ready with our Peer),
//           holding back its answer to the node's hello;
//   during  inside the node's hello call: any capability that came with it;
//   after   it answers the hello (with our Peer), then whatever capability the node hands over
//           in ready.
//
// Connections alternate between "before" and "during/after". The variant decides the proof
// in our answer: no-key (random bytes), wrong-key (--key is a key of another group), replay
// (the node's own proof reflected in the first connection, a proof the node sent in an earlier
// connection afterwards), member (the right key: a positive control, the node must let us in
// and its Peer must answer), denied (the right key and an identity the node has denied).
//
// It ends after --count connections or --wait seconds without a new one, then prints verdict
// lines: connections, capabilities of the node received, calls answered, bytes and records
// received.
#include <random>

#include "hostile_peer.hpp"

namespace hostile {

namespace {

struct tally : probe_tally {
  int connections = 0;
  std::vector<std::array<std::uint8_t, 32>> node_proofs;
  peer_log log; // what the node did to our Peer
};

} // namespace

namespace {

// Counts what the node writes into our sink.
class counting_sink final : public wire::ChunkSink::Server {
public:
  explicit counting_sink(probe_tally& t) : t_(t) {}
  kj::Promise<void> write(WriteContext ctx) override {
    for (auto p : ctx.getParams().getPieces())
      t_.bytes += p.getData().size();
    return kj::READY_NOW;
  }
  kj::Promise<void> done(DoneContext) override { return kj::READY_NOW; }

private:
  probe_tally& t_;
};

} // namespace

// One call, bounded; counted as answered or refused.
kj::Promise<void> attempt(ctx& c, probe_tally& t, const std::string& stage, const std::string& method,
                          kj::Promise<void> call) {
  return c.io.provider->getTimer()
      .timeoutAfter(3 * kj::SECONDS, kj::mv(call))
      .then(
          [&t, stage, method]() {
            ++t.answered;
            say(stage + ": Peer." + method + " ANSWERED");
          },
          [&t, stage, method](kj::Exception&& e) {
            ++t.refused;
            say(stage + ": Peer." + method + " refused (" + e.getDescription().cStr() + ")");
          });
}

kj::Promise<void> try_everything(ctx& c, probe_tally& t, wire::Peer::Client peer,
                                 std::string stage) {
  ++t.node_peers;
  auto path = c.o.path.empty() ? std::string("secret.txt") : c.o.path;
  writer w{core::short_of(c.tls.self())};
  auto fetch = peer.fetchRequest();
  fetch.setPath(path);
  auto rl = fetch.initRanges(1);
  rl[0].setOffset(0);
  rl[0].setLength(1024); // the test's file is larger: a served fetch sends exactly this
  fetch.setSink(kj::heap<counting_sink>(t));
  auto have = peer.haveRequest();
  have.setPath(path);
  auto v = have.initVersion(1);
  v[0].setDevice(1);
  v[0].setValue(1);
  auto sub = peer.subscribeRequest();
  sub.setEpoch(0);
  sub.setFrom(0);
  auto upd = peer.updateRequest();
  w.fill(file_inline("planted-by-hostile.txt", "planted"), upd.initRecords(1)[0]);
  upd.setLast(w.seq);
  auto off = peer.offerRequest();
  rec big;
  big.path = "offered-by-hostile.bin";
  big.size = 1 << 20;
  big.chunks = chunks_of(big.size, 128 * 1024, 7);
  w.fill(big, off.initRecord());
  auto ping = peer.pingRequest();
  // Sent at once, answered in any order: a node that serves any of them leaks.
  kj::Vector<kj::Promise<void>> calls;
  calls.add(attempt(c, t, stage, "fetch", fetch.send().ignoreResult()));
  calls.add(attempt(c, t, stage, "have",
                    have.send().then([&t](capnp::Response<wire::Peer::HaveResults> r) {
                      if (r.getComplete() || r.getChunks().size() > 0)
                        say("the node told what it holds of the path");
                    })));
  calls.add(attempt(c, t, stage, "subscribe", sub.send().ignoreResult()));
  calls.add(attempt(c, t, stage, "update", upd.send().ignoreResult()));
  calls.add(attempt(c, t, stage, "offer",
                    off.send().then([](capnp::Response<wire::Peer::OfferResults> r) {
                      if (r.hasSink())
                        say("the node accepted our offer");
                    })));
  calls.add(attempt(c, t, stage, "ping", ping.send().ignoreResult()));
  return kj::joinPromises(calls.releaseAsArray()).attach(kj::mv(peer));
}

namespace {

// Our bootstrap, as the node's dial target.
class rogue_handshake final : public wire::Handshake::Server {
public:
  rogue_handshake(ctx& c, tally& t, std::array<std::uint8_t, 32> exporter, bool before,
                  kj::Own<kj::PromiseFulfiller<void>> done)
      : c_(c), t_(t), exporter_(exporter), before_(before), done_(kj::mv(done)) {}

  kj::Promise<void> hello(HelloContext ctx) override {
    auto p = ctx.getParams();
    std::array<std::uint8_t, 32> theirs{};
    auto g = p.getHello().getGroup();
    std::copy_n(g.begin(), std::min<std::size_t>(g.size(), 32), theirs.begin());
    auto replay = t_.node_proofs.empty() ? theirs : t_.node_proofs.back();
    t_.node_proofs.push_back(theirs);
    kj::Promise<void> first = kj::READY_NOW;
    if (p.hasPeer()) {
      say("the node's hello carries its Peer capability");
      first = try_everything(c_, t_, p.getPeer(), "during hello");
    } else {
      say("the node's hello carries no capability");
    }
    if (before_) // hold our answer while the calls of the "before" stage run
      first = first.then([this]() { return c_.io.provider->getTimer().afterDelay(kj::SECONDS); });
    return first.then([this, ctx, replay]() mutable {
      auto res = ctx.getResults();
      auto h = res.initHello();
      h.setDeviceId(kj::arrayPtr(c_.tls.self().data(), 32));
      std::array<std::uint8_t, 32> proof{};
      auto variant = c_.o.variant;
      if (variant == "no-key") {
        std::random_device rd;
        for (auto& b : proof)
          b = static_cast<std::uint8_t>(rd());
      } else if (variant == "replay") {
        proof = replay;
      } else { // wrong-key: --key is another group's; member, denied: the right key
        proof = rpc::group_proof(c_.o.key, "server", exporter_);
      }
      h.setGroup(kj::arrayPtr(proof.data(), proof.size()));
      h.setProtocol(wire::PROTOCOL_VERSION);
      h.setIndexEpoch(0x5EED0000ULL + static_cast<std::uint64_t>(::getpid()));
      res.setPeer(make_our_peer(t_.log));
    });
  }

  kj::Promise<void> ready(ReadyContext ctx) override {
    say("the node called ready: it handed over its Peer");
    return try_everything(c_, t_, ctx.getParams().getPeer(), "after hello").then([this]() {
      done_->fulfill(); // nothing more to try on this connection
    });
  }

private:
  ctx& c_;
  tally& t_;
  std::array<std::uint8_t, 32> exporter_;
  bool before_;
  kj::Own<kj::PromiseFulfiller<void>> done_;
};

// A connection's objects live until the attack ends: calls still pending when the node closed
// it may complete later.
struct conn_state {
  kj::Own<rpc::tls_stream> tls;
  kj::Own<capnp::TwoPartyVatNetwork> net;
  kj::Own<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc;
};

// One connection of the node, until it closes it or `secs` pass.
void serve_one(ctx& c, tally& t, conn_state& st, kj::Own<kj::AsyncIoStream> s, bool before,
               double secs) {
  auto& ws = c.io.waitScope;
  auto& timer = c.io.provider->getTimer();
  st.tls = c.tls.wrap(kj::mv(s), false);
  auto& tls = st.tls;
  try {
    timer.timeoutAfter(10 * kj::SECONDS, tls->handshake()).wait(ws);
  } catch (kj::Exception& e) {
    say(std::string("TLS with the node failed: ") + e.getDescription().cStr());
    return;
  }
  say(std::string("connection ") + std::to_string(t.connections) + " from the node " +
      core::format_device_id(tls->peer_device()).substr(0, 7) +
      (before ? ": stage before" : ": stages during and after"));
  st.net = kj::heap<capnp::TwoPartyVatNetwork>(*tls, capnp::rpc::twoparty::Side::SERVER);
  auto& net = *st.net;
  auto done = kj::newPromiseAndFulfiller<void>();
  st.rpc = kj::heap(capnp::makeRpcServer(
      net, kj::heap<rogue_handshake>(c, t, tls->exporter("EXPORTER-cascade-hello"), before,
                                     kj::mv(done.fulfiller))));
  auto& rpc = *st.rpc;
  kj::Vector<kj::Promise<void>> work;
  if (before) {
    capnp::MallocMessageBuilder vat;
    auto id = vat.getRoot<capnp::rpc::twoparty::VatId>();
    id.setSide(capnp::rpc::twoparty::Side::CLIENT);
    auto boot = rpc.bootstrap(id).castAs<wire::Handshake>();
    auto ready = boot.readyRequest();
    ready.setPeer(make_our_peer(t.log));
    work.add(attempt(c, t, "before hello", "(bootstrap) ready", ready.send().ignoreResult()));
    auto hello = boot.helloRequest();
    auto h = hello.initHello();
    h.setDeviceId(kj::arrayPtr(c.tls.self().data(), 32));
    auto proof = rpc::group_proof(c.o.key, "client", tls->exporter("EXPORTER-cascade-hello"));
    h.setGroup(kj::arrayPtr(proof.data(), proof.size()));
    h.setProtocol(wire::PROTOCOL_VERSION);
    hello.setPeer(make_our_peer(t.log));
    work.add(attempt(c, t, "before hello", "(bootstrap) hello",
                     hello.send().then([&t](capnp::Response<wire::Handshake::HelloResults> r) {
                       if (r.hasPeer())
                         ++t.node_peers, say("the node's bootstrap hello handed over its Peer");
                     })));
  }
  auto closed =
      net.onDisconnect().then([]() {}, [](kj::Exception&&) {}).exclusiveJoin(kj::mv(done.promise));
  try {
    timer
        .timeoutAfter(static_cast<int64_t>(secs * 1000) * kj::MILLISECONDS,
                      kj::joinPromises(work.releaseAsArray()).then([c = kj::mv(closed)]() mutable {
                        return kj::mv(c);
                      }))
        .wait(ws);
    say("the node closed the connection, or every call was tried");
  } catch (kj::Exception&) {
    say("the connection is still open after " + fmt_s(secs));
  }
}

} // namespace

int attack_serve(ctx& c) {
  auto& ws = c.io.waitScope;
  auto& timer = c.io.provider->getTimer();
  auto addr = c.io.provider->getNetwork().parseAddress(c.o.host, c.o.port).wait(ws);
  auto listener = addr->listen();
  say("listening on " + c.o.host + ":" + std::to_string(c.o.port) + ", variant " + c.o.variant);
  tally t;
  std::vector<std::unique_ptr<conn_state>> conns;
  while (t.connections < c.o.count) {
    kj::Own<kj::AsyncIoStream> s;
    try {
      s = timer
              .timeoutAfter(static_cast<int64_t>(c.o.wait * 1000) * kj::MILLISECONDS,
                            listener->accept())
              .wait(ws);
    } catch (kj::Exception&) {
      say("no further connection within " + fmt_s(c.o.wait));
      break;
    }
    bool before = t.connections % 2 == 1;
    ++t.connections;
    conns.push_back(std::make_unique<conn_state>());
    serve_one(c, t, *conns.back(), kj::mv(s), before, 15);
  }
  result("connections " + std::to_string(t.connections));
  result("node capabilities received " + std::to_string(t.node_peers));
  result("calls answered " + std::to_string(t.answered) + ", refused " + std::to_string(t.refused));
  result("file bytes received " + std::to_string(t.bytes));
  result("records received " + std::to_string(t.log.records_in) + ", subscribes " +
         std::to_string(t.log.subscribes) + ", fetches " + std::to_string(t.log.fetches));
  return 0;
}

} // namespace hostile
