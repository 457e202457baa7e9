// The hostile peer's connection to a node: output helpers, TCP (optionally from another
// loopback source address), TLS, and the hello with our own Peer capability.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <stdexcept>

#include "hostile_peer.hpp"
#include "io/hasher.hpp"

namespace hostile {

namespace {

const std::string exporter_label = "EXPORTER-cascade-hello";

class our_peer final : public wire::Peer::Server {
public:
  explicit our_peer(peer_log& l) : log_(l) {}
  kj::Promise<void> subscribe(SubscribeContext) override {
    ++log_.subscribes;
    return kj::READY_NOW;
  }
  kj::Promise<void> update(UpdateContext ctx) override {
    ++log_.updates;
    log_.records_in += ctx.getParams().getRecords().size();
    return kj::READY_NOW;
  }
  kj::Promise<void> fetch(FetchContext ctx) override {
    ++log_.fetches;
    if (log_.on_fetch)
      return log_.on_fetch(ctx);
    return KJ_EXCEPTION(FAILED, "no such file here");
  }
  kj::Promise<void> ping(PingContext) override {
    ++log_.pings;
    return kj::READY_NOW;
  }
  kj::Promise<void> have(HaveContext ctx) override {
    ++log_.haves;
    if (log_.on_have)
      return log_.on_have(ctx);
    // An attack that serves fetches claims the file whole (a node asks only peers that say they
    // hold chunks, and presumes only a silent announcer whole); the others hold nothing.
    if (log_.on_fetch)
      ctx.getResults().setComplete(true);
    return kj::READY_NOW;
  }

private:
  peer_log& log_;
};

// Our bootstrap: a node never calls the dialer's bootstrap; refuse if it does.
class no_handshake final : public wire::Handshake::Server {
  kj::Promise<void> hello(HelloContext) override {
    return KJ_EXCEPTION(FAILED, "hostile peer takes no hellos");
  }
};

} // namespace

wire::Peer::Client make_our_peer(peer_log& log) {
  return kj::heap<our_peer>(log);
}

// ------------------------------------------------------------------ output and small helpers

void say(const std::string& s) {
  std::printf("hostile: %s\n", s.c_str());
  std::fflush(stdout);
}

void result(const std::string& s) {
  std::printf("RESULT %s\n", s.c_str());
  std::fflush(stdout);
}

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string fmt_s(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2fs", s);
  return b;
}

core::sha256_digest sha(const std::string& s) {
  return io::sha256(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

// Deterministic bytes for chunk `i` of a generated file (so both ends can recompute them).
void fill_block(std::uint64_t seed, std::uint8_t* out, std::size_t n) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 0x1234567;
  for (std::size_t i = 0; i < n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(out + i, &x, std::min<std::size_t>(8, n - i));
  }
}

// ------------------------------------------------------------------ connection

kj::Own<kj::AsyncIoStream> tcp_connect(kj::AsyncIoContext& io, const options& o) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  if (!o.src.empty()) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, o.src.c_str(), &a.sin_addr) != 1)
      usage("bad --src " + o.src);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("bind " + o.src + ": " + std::strerror(errno));
  }
  sockaddr_in d{};
  d.sin_family = AF_INET;
  d.sin_port = htons(o.port);
  if (inet_pton(AF_INET, o.host.c_str(), &d.sin_addr) != 1)
    usage("bad --host " + o.host);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&d), sizeof d) != 0) {
    int e = errno;
    ::close(fd);
    throw std::runtime_error("connect " + o.host + ":" + std::to_string(o.port) + ": " +
                             std::strerror(e));
  }
  return io.lowLevelProvider->wrapSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
}

void session::open() {
  auto s = tcp_connect(io_, o_);
  tls_ = tls_ctx_.wrap(kj::mv(s), true);
  wait(tls_->handshake(), 15, "TLS");
}

wire::Peer::Client session::hello(const std::string& key, std::optional<core::device_id> claim,
                                  std::uint32_t protocol,
                                  std::optional<std::array<std::uint8_t, 32>> replay,
                                  bool ready) {
  start_rpc();
  capnp::MallocMessageBuilder vat;
  auto host = vat.getRoot<capnp::rpc::twoparty::VatId>();
  host.setSide(capnp::rpc::twoparty::Side::SERVER);
  auto req = rpc_->bootstrap(host).castAs<wire::Handshake>().helloRequest();
  auto h = req.initHello();
  auto id = claim ? *claim : tls_ctx_.self();
  h.setDeviceId(kj::arrayPtr(id.data(), id.size()));
  auto proof = replay ? *replay : rpc::group_proof(key, "client", tls_->exporter(exporter_label));
  sent_proof = proof;
  h.setGroup(kj::arrayPtr(proof.data(), proof.size()));
  h.setProtocol(protocol);
  h.setIndexEpoch(0x5EED0000ULL + static_cast<std::uint64_t>(::getpid()));
  auto resp = wait(req.send(), 15, "hello");
  auto theirs = resp.getHello();
  if (theirs.getDeviceId().size() != 32 ||
      !std::equal(theirs.getDeviceId().begin(), theirs.getDeviceId().end(),
                  tls_->peer_device().begin()))
    say("warning: the node's hello names another device than its TLS key");
  auto expect = rpc::group_proof(key, "server", tls_->exporter(exporter_label));
  auto g = theirs.getGroup();
  if (g.size() != 32 || !std::equal(g.begin(), g.end(), expect.begin()))
    say("warning: the node's group proof does not match our key");
  peer_ = resp.getPeer();
  // Our Peer goes to the node in ready, after its hello (protocol 2).
  if (ready) {
    auto err = send_ready(15);
    if (!err.empty())
      throw KJ_EXCEPTION(DISCONNECTED, "ready refused: " + err);
  }
  return KJ_ASSERT_NONNULL(peer_);
}

void session::start_rpc() {
  if (rpc_)
    return;
  // Our own receive limit is raised so that capnp lets us *send* messages above the
  // node's 64 MiB limit (it refuses to send what it would not accept itself).
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = 32u << 20; // 256 MiB
  network_ = kj::heap<capnp::TwoPartyVatNetwork>(*tls_, capnp::rpc::twoparty::Side::CLIENT, opts);
  rpc_ = kj::heap<capnp::RpcSystem<capnp::rpc::twoparty::VatId>>(
      capnp::makeRpcServer(*network_, capnp::Capability::Client(kj::heap<no_handshake>())));
}

std::string session::send_ready(double secs) {
  start_rpc();
  capnp::MallocMessageBuilder vat;
  auto host = vat.getRoot<capnp::rpc::twoparty::VatId>();
  host.setSide(capnp::rpc::twoparty::Side::SERVER);
  auto req = rpc_->bootstrap(host).castAs<wire::Handshake>().readyRequest();
  req.setPeer(kj::heap<our_peer>(log));
  try {
    wait(req.send().ignoreResult(), secs, "ready");
    return "";
  } catch (kj::Exception& e) {
    return e.getDescription().cStr();
  }
}

bool session::wait_subscribed(double secs) {
  double end = now_s() + secs;
  while (log.subscribes == 0 && now_s() < end)
    timer().afterDelay(20 * kj::MILLISECONDS).wait(ws());
  return log.subscribes > 0;
}

bool session::wait_disconnected(double secs) {
  if (!network_)
    return false;
  if (disconnected_)
    return true;
  auto p =
      network_->onDisconnect().then([]() { return true; }, [](kj::Exception&&) { return true; });
  return timer()
             .timeoutAfter(static_cast<int64_t>(secs * 1000) * kj::MILLISECONDS, kj::mv(p))
             .then([](bool b) { return b; }, [](kj::Exception&&) { return false; })
             .wait(ws()) &&
         (disconnected_ = true);
}

void session::sleep(double secs) {
  timer().afterDelay(static_cast<int64_t>(secs * 1000) * kj::MILLISECONDS).wait(ws());
}

std::unique_ptr<session> connect_with_key(ctx& c, const std::string& key) {
  auto s = std::make_unique<session>(c.io, c.o, c.tls);
  s->open();
  s->hello(key);
  return s;
}

} // namespace hostile
