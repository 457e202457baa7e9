// A hostile peer for cascade's security tests: built from the node's own schema and TLS code,
// it connects to a node and runs one attack per invocation:
//
//   hostile_peer MODE --port P --key K [--host H] [--src IP] [--dir D] [--count N]
//                     [--marker M] [--path NAME] [--wait S] [--deadline S]
//
// Modes: bad-names (hostile names and links in one update, plus one good file), flood (20000
// records in one update), oversized (lying inline data, 2 MiB chunk, 60 MiB inline file, 70 MiB
// message), big-pieces (a file served in 48 MiB frames), bad-chunks (wrong, out-of-order and
// extra bytes when fetched, then the right ones), bad-offer (push cascade: bad offers, wrong
// pushed bytes), stall-handshake (silent TCP; TLS and no hello), conn-flood (--count TLS
// connections without hello), wrong-key (bad group proof, foreign device id, protocol 99),
// no-tls (plain HTTP), bad-fetch (paths out of the folder, too many ranges, 17 stalled
// fetches), max-counter (a deletion of --path at counter 2^64-1), hello (a correct hello).
//
// It prints what happened, one line each ("hostile: ..."; verdict lines start with "RESULT "),
// and exits 0 when the attack ran as planned: the exit code is no judgement of the node, the
// test reads the node's folder, log and memory for that. Exit 1: the attack could not run
// (e.g. the hello failed where it had to succeed); exit 2: bad usage. Every wait is bounded,
// and an alarm ends the program after --deadline seconds (default 90) whatever happens.
//
// --src binds the connection to another loopback address (127.0.0.K): the node slows down
// addresses that fail handshakes, so each attack may come from an address of its own.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

// GCC 12 reports a false maybe-uninitialized inside capnp::makeRpcServer (kj::Maybe<Client>).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cascade.capnp.h"
#include "core/device_id.hpp"
#include "io/hasher.hpp"
#include "rpc/tls.hpp"

using namespace cascade;

namespace {

const std::string exporter_label = "EXPORTER-cascade-hello";

struct options {
  std::string mode;
  std::string host = "127.0.0.1";
  std::string src;
  std::uint16_t port = 0;
  std::string key;
  std::string dir;
  std::string marker;
  std::string path;
  int count = 1;
  int deadline = 90;
  double wait = 25; // stall-handshake, conn-flood: how long to wait for the node to close
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "hostile_peer: %s\nusage: hostile_peer MODE --port P --key K [--host H] [--src IP] "
               "[--dir D] [--count N] [--marker M] [--path NAME] [--wait S] [--deadline S]\nmodes: bad-names "
               "flood oversized big-pieces bad-chunks stall-handshake conn-flood wrong-key no-tls "
               "bad-fetch bad-offer max-counter hello\n",
               why.c_str());
  std::exit(2);
}

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
  return io::sha256(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()),
                                                  s.size()));
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

using fetch_context = capnp::CallContext<wire::Peer::FetchParams, wire::Peer::FetchResults>;

// What the node did to our Peer capability.
struct peer_log {
  int subscribes = 0, updates = 0, fetches = 0, pings = 0;
  std::size_t records_in = 0;
  std::function<kj::Promise<void>(fetch_context)> on_fetch;
};

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

private:
  peer_log& log_;
};

// Our bootstrap: a node never calls the dialer's bootstrap; refuse if it does.
class no_handshake final : public wire::Handshake::Server {
  kj::Promise<void> hello(HelloContext) override {
    return KJ_EXCEPTION(FAILED, "hostile peer takes no hellos");
  }
};

class session {
public:
  session(kj::AsyncIoContext& io, const options& o, rpc::tls_context& tls)
      : io_(io), o_(o), tls_ctx_(tls) {}

  kj::Timer& timer() { return io_.provider->getTimer(); }
  kj::WaitScope& ws() { return io_.waitScope; }

  template <typename T> T wait(kj::Promise<T>&& p, double secs, const char* what) {
    return timer()
        .timeoutAfter(static_cast<int64_t>(secs * 1000) * kj::MILLISECONDS, kj::mv(p))
        .wait(ws());
    (void)what;
  }

  // TCP + TLS.
  void open() {
    auto s = tcp_connect(io_, o_);
    tls_ = tls_ctx_.wrap(kj::mv(s), true);
    wait(tls_->handshake(), 15, "TLS");
  }

  // Sends our hello (proof made with `key`, role "client"); returns the node's Peer.
  // Throws kj::Exception if the node refuses.
  wire::Peer::Client hello(const std::string& key, std::optional<core::device_id> claim = {},
                           std::uint32_t protocol = wire::PROTOCOL_VERSION) {
    // Our own receive limit is raised so that capnp lets us *send* messages above the
    // node's 64 MiB limit (it refuses to send what it would not accept itself).
    capnp::ReaderOptions opts;
    opts.traversalLimitInWords = 32u << 20; // 256 MiB
    network_ = kj::heap<capnp::TwoPartyVatNetwork>(*tls_, capnp::rpc::twoparty::Side::CLIENT, opts);
    rpc_ = kj::heap<capnp::RpcSystem<capnp::rpc::twoparty::VatId>>(
        capnp::makeRpcServer(*network_, capnp::Capability::Client(kj::heap<no_handshake>())));
    capnp::MallocMessageBuilder vat;
    auto host = vat.getRoot<capnp::rpc::twoparty::VatId>();
    host.setSide(capnp::rpc::twoparty::Side::SERVER);
    auto req = rpc_->bootstrap(host).castAs<wire::Handshake>().helloRequest();
    auto h = req.initHello();
    auto id = claim ? *claim : tls_ctx_.self();
    h.setDeviceId(kj::arrayPtr(id.data(), id.size()));
    auto proof = rpc::group_proof(key, "client", tls_->exporter(exporter_label));
    h.setGroup(kj::arrayPtr(proof.data(), proof.size()));
    h.setProtocol(protocol);
    h.setIndexEpoch(0x5EED0000ULL + static_cast<std::uint64_t>(::getpid()));
    req.setPeer(kj::heap<our_peer>(log));
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
    return KJ_ASSERT_NONNULL(peer_);
  }

  wire::Peer::Client& peer() { return KJ_ASSERT_NONNULL(peer_); }

  // Waits (bounded) until the node subscribed to us: its index then knows the session.
  bool wait_subscribed(double secs) {
    double end = now_s() + secs;
    while (log.subscribes == 0 && now_s() < end)
      timer().afterDelay(20 * kj::MILLISECONDS).wait(ws());
    return log.subscribes > 0;
  }

  // True if the connection is (or gets, within `secs`) closed by the node.
  bool wait_disconnected(double secs) {
    if (!network_)
      return false;
    if (disconnected_)
      return true;
    auto p = network_->onDisconnect().then([]() { return true; },
                                          [](kj::Exception&&) { return true; });
    return timer()
        .timeoutAfter(static_cast<int64_t>(secs * 1000) * kj::MILLISECONDS, kj::mv(p))
        .then([](bool b) { return b; }, [](kj::Exception&&) { return false; })
        .wait(ws()) && (disconnected_ = true);
  }

  void sleep(double secs) {
    timer().afterDelay(static_cast<int64_t>(secs * 1000) * kj::MILLISECONDS).wait(ws());
  }

  // Raw access for the stall attacks.
  rpc::tls_stream& tls() { return *tls_; }

  peer_log log;

private:
  kj::AsyncIoContext& io_;
  const options& o_;
  rpc::tls_context& tls_ctx_;
  kj::Own<rpc::tls_stream> tls_;
  kj::Own<capnp::TwoPartyVatNetwork> network_;
  kj::Own<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc_;
  bool disconnected_ = false;
  kj::Maybe<wire::Peer::Client> peer_;
};

// ------------------------------------------------------------------ records

struct rec {
  std::string path;
  wire::FileType type = wire::FileType::FILE;
  std::uint64_t size = 0;
  std::uint32_t mode = 0644;
  bool deleted = false;
  std::vector<core::chunk> chunks;
  std::string target;
  bool has_data = false;
  std::string data;        // when has_data
  std::size_t fake_data = 0; // > 0: carry this many bytes of data instead of `data`
  std::uint64_t counter = 0;  // > 0: our version counter for this record (else the next one)
};

rec file_inline(std::string path, std::string content, std::uint32_t mode = 0644) {
  rec r;
  r.path = std::move(path);
  r.size = content.size();
  r.mode = mode;
  if (!content.empty())
    r.chunks.push_back({0, static_cast<std::uint32_t>(content.size()), sha(content)});
  r.has_data = true;
  r.data = std::move(content);
  return r;
}

rec symlink_rec(std::string path, std::string target) {
  rec r;
  r.path = std::move(path);
  r.type = wire::FileType::SYMLINK;
  r.mode = 0777;
  r.target = std::move(target);
  return r;
}

rec dir_rec(std::string path) {
  rec r;
  r.path = std::move(path);
  r.type = wire::FileType::DIR;
  r.mode = 0755;
  return r;
}

struct writer {
  core::short_id me;
  std::uint64_t seq = 0;
  std::uint64_t counter = 0;
  std::int64_t mtime = 1'700'000'000'000'000'000LL;

  void fill(const rec& r, wire::Record::Builder b) {
    b.setPath(capnp::Text::Reader(r.path.data(), r.path.size()));
    b.setType(r.type);
    b.setSize(r.size);
    b.setMtimeNs(mtime);
    b.setMode(r.mode);
    b.setDeleted(r.deleted);
    auto v = b.initVersion(1);
    v[0].setDevice(me);
    v[0].setValue(r.counter > 0 ? r.counter : ++counter);
    b.setSequence(++seq);
    b.setModifiedBy(me);
    auto cl = b.initChunks(static_cast<unsigned>(r.chunks.size()));
    for (unsigned i = 0; i < r.chunks.size(); ++i) {
      cl[i].setOffset(r.chunks[i].offset);
      cl[i].setLength(r.chunks[i].length);
      cl[i].setHash(kj::arrayPtr(r.chunks[i].hash.data(), 32));
    }
    if (!r.target.empty())
      b.setSymlinkTarget(capnp::Text::Reader(r.target.data(), r.target.size()));
    b.setHasData(r.has_data);
    if (r.fake_data > 0) {
      auto d = b.initData(static_cast<unsigned>(r.fake_data));
      std::memset(d.begin(), 'A', d.size());
    } else if (r.has_data) {
      b.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(r.data.data()), r.data.size()));
    }
  }
};

// Sends one update batch; returns "" if the node acknowledged it, else the error.
std::string send_update(session& s, writer& w, const std::vector<rec>& recs, double secs = 30) {
  auto req = s.peer().updateRequest();
  auto list = req.initRecords(static_cast<unsigned>(recs.size()));
  for (unsigned i = 0; i < recs.size(); ++i)
    w.fill(recs[i], list[i]);
  req.setLast(w.seq);
  try {
    s.wait(req.send().ignoreResult(), secs, "update");
    return "";
  } catch (kj::Exception& e) {
    return e.getDescription().cStr();
  }
}

// Sends an update, retrying a few times while the node's index has not seen the session yet.
std::string send_update_retry(session& s, writer& w, const std::vector<rec>& recs) {
  std::string err;
  for (int attempt = 0; attempt < 5; ++attempt) {
    err = send_update(s, w, recs);
    if (err.empty() || err.find("update rejected") == std::string::npos)
      return err;
    s.sleep(0.3);
  }
  return err;
}

// A file of `size` bytes cut in chunks of `chunk` bytes; content from fill_block(seed + i).
std::vector<core::chunk> chunks_of(std::uint64_t size, std::uint32_t chunk, std::uint64_t seed) {
  std::vector<core::chunk> out;
  std::vector<std::uint8_t> buf(chunk);
  for (std::uint64_t off = 0, i = 0; off < size; off += chunk, ++i) {
    auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(chunk, size - off));
    buf.resize(n);
    fill_block(seed + i, buf.data(), n);
    out.push_back({off, n, io::sha256(buf)});
  }
  return out;
}

// ------------------------------------------------------------------ fetch serving

struct range {
  std::uint64_t offset, length;
};

std::vector<range> ranges_of(wire::Peer::FetchParams::Reader p) {
  std::vector<range> out;
  for (auto r : p.getRanges())
    out.push_back({r.getOffset(), r.getLength()});
  return out;
}

// Streams `pieces` (offset, bytes) into the sink in order, then done(""). Stops quietly at the
// first failed write (the node cancelled the fetch).
kj::Promise<void> stream_pieces(wire::ChunkSink::Client sink,
                                std::shared_ptr<std::vector<std::pair<std::uint64_t, std::string>>> pieces,
                                std::size_t idx, std::shared_ptr<std::string> outcome) {
  if (idx >= pieces->size()) {
    auto d = sink.doneRequest();
    d.setError("");
    return d.send().ignoreResult().then([outcome]() { *outcome = "done acknowledged"; },
                                         [outcome](kj::Exception&& e) {
                                           *outcome = std::string("done failed: ") +
                                                      e.getDescription().cStr();
                                         });
  }
  auto req = sink.writeRequest();
  auto list = req.initPieces(1);
  auto& [off, bytes] = (*pieces)[idx];
  list[0].setOffset(off);
  list[0].setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
  return req.send().then(
      [sink, pieces, idx, outcome]() mutable {
        return stream_pieces(kj::mv(sink), pieces, idx + 1, outcome);
      },
      [outcome](kj::Exception&& e) {
        *outcome = std::string("write refused: ") + e.getDescription().cStr();
      });
}

// ------------------------------------------------------------------ attacks

struct ctx {
  kj::AsyncIoContext& io;
  const options& o;
  rpc::tls_context& tls;
};

std::string another_key() {
  // A well-formed group key of the right shape that is not the node's.
  std::array<std::uint8_t, 32> raw{};
  std::mt19937_64 rng(static_cast<std::uint64_t>(::getpid()) * 7919 + 17);
  for (auto& b : raw)
    b = static_cast<std::uint8_t>(rng());
  return "cas1-" + core::base32_encode(raw.data(), raw.size());
}

std::unique_ptr<session> connect_with_key(ctx& c, const std::string& key) {
  auto s = std::make_unique<session>(c.io, c.o, c.tls);
  s->open();
  s->hello(key);
  return s;
}

int attack_bad_names(ctx& c) {
  if (c.o.dir.empty())
    usage("bad-names needs --dir OUTSIDE (a directory outside the node's folder)");
  auto s = connect_with_key(c, c.o.key);
  say("hello accepted");
  if (!s->wait_subscribed(5))
    say("the node did not subscribe within 5s (sending anyway)");
  writer w{core::short_of(c.tls.self())};
  const std::string pwn = "pwned by hostile_peer\n";
  const std::string marker = c.o.marker.empty() ? "hostile-marker" : c.o.marker;
  std::vector<rec> recs;
  // Links first: a valid symlink out of the folder, and one whose target climbs out.
  recs.push_back(symlink_rec("link", c.o.dir));
  recs.push_back(symlink_rec("escape", "../../etc"));
  // Names every validator must refuse.
  std::vector<std::string> bad = {
      c.o.dir + "/" + marker + "-absolute", // absolute, pointing into the test's scratch
      "/etc/" + marker,
      "../" + marker + "-dotdot",
      "a/../../" + marker + "-dotdot2",
      "a//b",
      "a/",
      "./a",
      "a/.",
      "",
      ".",
      "..",
      "a\\b",
      "..\\..\\" + marker + "-backslash",
      std::string("nul\0byte", 8),
      "ctrl\x01char",
      "tab\tname",
      "x\n2000-01-01T00:00:00.000Z INFO  FORGED-LOG-LINE " + marker,
      "del\x7f",
      "bad\xff\xfeutf8",
      "overlong\xc0\xae\xc0\xae",
      "surrogate\xed\xa0\x80",
      std::string(300, 'c'),
      std::string(5000, 'p'),
      ".cascade/identity",
      ".cascade/group.key",
      ".cascade/x",
      ".cascade",
  };
  // A long path of valid components (5000 bytes in total).
  {
    std::string p;
    while (p.size() < 5000)
      p += std::string(100, 'd') + "/";
    p += "leaf";
    bad.push_back(p);
  }
  for (auto& n : bad)
    recs.push_back(file_inline(n, pwn));
  // Valid names that lead through the links: must never be written through them.
  recs.push_back(file_inline("link/" + marker + "-via-link", pwn));
  recs.push_back(dir_rec("link/" + marker + "-dir-via-link"));
  {
    rec del;
    del.path = "link/victim";
    del.deleted = true;
    recs.push_back(del);
  }
  recs.push_back(file_inline("escape/" + marker + "-via-escape", pwn));
  // A bad type value on the wire.
  {
    rec r = dir_rec("badtype");
    r.type = static_cast<wire::FileType>(7);
    recs.push_back(r);
  }
  // Inline data that lies about the size, chunks that do not tile, a short hash.
  {
    rec r = file_inline("lying-size.txt", pwn);
    r.size = 3;
    recs.push_back(r);
    rec q = file_inline("gap-chunks.txt", pwn);
    q.chunks[0].offset = 1;
    recs.push_back(q);
  }
  // Setuid, setgid and sticky bits asked for by a peer.
  recs.push_back(file_inline("modes.sh", "#!/bin/sh\necho hi\n", 06777));
  // And one good file, which must be applied.
  recs.push_back(file_inline("good.txt", "good file from the hostile peer " + marker + "\n"));
  auto err = send_update_retry(*s, w, recs);
  if (!err.empty()) {
    result("update failed: " + err);
    return 1;
  }
  result("update acknowledged (" + std::to_string(recs.size()) + " records)");
  // Same names again, each in a batch of its own, so one bad record cannot hide another.
  int refused = 0;
  for (auto& n : bad) {
    auto e = send_update(*s, w, {file_inline(n, pwn)}, 10);
    if (!e.empty())
      ++refused;
  }
  say("single-record batches sent: " + std::to_string(bad.size()) + ", " +
      std::to_string(refused) + " refused by RPC error");
  bool dropped = s->wait_disconnected(0.5);
  result(dropped ? "disconnected" : "still connected");
  return 0;
}

int attack_flood(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  int n = c.o.count > 1 ? c.o.count : 20000;
  std::vector<rec> recs;
  for (int i = 0; i < n; ++i) {
    rec r;
    r.path = "flood/" + std::to_string(i);
    recs.push_back(r); // empty file: no chunks
  }
  double t0 = now_s();
  auto err = send_update(*s, w, recs, 20);
  say("update of " + std::to_string(n) + " records: " + (err.empty() ? "acknowledged" : err));
  bool dropped = s->wait_disconnected(5);
  result(std::string(dropped ? "disconnected" : "NOT disconnected") + " after " +
         fmt_s(now_s() - t0));
  return 0;
}

int attack_oversized(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  // 1. Inline data of 60 MiB on a record that claims 22 bytes.
  {
    rec r = file_inline("inline-lie.bin", "twenty-two bytes long\n");
    r.fake_data = 60u << 20;
    auto e = send_update_retry(*s, w, {r});
    result("inline 60 MiB under a 22-byte record: " + (e.empty() ? "acknowledged" : e));
  }
  // 2. A chunk of 2 MiB (the node allows 1 MiB).
  {
    rec r;
    r.path = "bigchunk.bin";
    r.size = 2u << 20;
    r.chunks = chunks_of(r.size, 2u << 20, 99);
    auto e = send_update(*s, w, {r});
    result("2 MiB chunk: " + (e.empty() ? "acknowledged" : e));
  }
  // 3. 60 MiB of inline data that matches its size (a "small file" of 60 MiB).
  {
    rec r;
    r.path = "inline-huge.bin";
    r.size = 60u << 20;
    r.chunks = chunks_of(r.size, 1u << 20, 7);
    r.has_data = true;
    r.data.resize(r.size);
    for (std::size_t i = 0; i < r.chunks.size(); ++i)
      fill_block(7 + i, reinterpret_cast<std::uint8_t*>(r.data.data()) + r.chunks[i].offset,
                 r.chunks[i].length);
    auto e = send_update(*s, w, {r});
    result("inline 60 MiB file with a matching size: " + (e.empty() ? "acknowledged" : e));
  }
  // 4. A message above capnp's 64 MiB limit: the node must drop the connection.
  {
    rec r = file_inline("too-big.bin", "x");
    r.fake_data = 70u << 20;
    double t0 = now_s();
    auto e = send_update(*s, w, {r}, 20);
    bool dropped = s->wait_disconnected(5);
    result("70 MiB message: " + (e.empty() ? std::string("acknowledged") : e) + "; " +
           (dropped ? "disconnected" : "NOT disconnected") + " after " + fmt_s(now_s() - t0));
  }
  return 0;
}

// Streams generated content, one piece of up to piece_bytes per write.
struct big_gen {
  explicit big_gen(wire::ChunkSink::Client s) : sink(kj::mv(s)) {}
  wire::ChunkSink::Client sink;
  std::vector<range> rs;
  std::size_t idx = 0;
  std::uint64_t pos = 0;
  std::shared_ptr<std::string> done;
  std::uint64_t* sent = nullptr;
  std::uint64_t piece_bytes = 0;
  std::uint64_t seed = 0;
};

kj::Promise<void> big_step(std::shared_ptr<big_gen> g) {
  if (g->idx >= g->rs.size()) {
    auto d = g->sink.doneRequest();
    d.setError("");
    return d.send().ignoreResult().then([g]() { *g->done = "served"; },
                                        [g](kj::Exception&& e) {
                                          *g->done = e.getDescription().cStr();
                                        });
  }
  auto& rg = g->rs[g->idx];
  auto n = std::min<std::uint64_t>(rg.length - g->pos, g->piece_bytes);
  auto off = rg.offset + g->pos;
  auto req = g->sink.writeRequest();
  auto pl = req.initPieces(1);
  pl[0].setOffset(off);
  auto d = pl[0].initData(static_cast<unsigned>(n));
  // Chunks are 1 MiB and ranges start on chunk boundaries.
  for (std::uint64_t o = 0; o < n; o += 1u << 20)
    fill_block(g->seed + (off + o) / (1u << 20), d.begin() + o,
               static_cast<std::size_t>(std::min<std::uint64_t>(1u << 20, n - o)));
  g->pos += n;
  *g->sent += n;
  if (g->pos == rg.length) {
    ++g->idx;
    g->pos = 0;
  }
  return req.send().then([g]() { return big_step(g); },
                         [g](kj::Exception&& e) { *g->done = e.getDescription().cStr(); });
}

// Announces a large file with 1 MiB chunks, then serves it (correct bytes) in pieces of
// `--count` MiB each (default 48): frames far above the node's own 1 MiB.
int attack_big_pieces(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  const std::uint64_t piece_mib = c.o.count > 1 ? static_cast<std::uint64_t>(c.o.count) : 48;
  const std::uint64_t size = 8 * piece_mib << 20;
  const std::uint64_t seed = 1000;
  rec r;
  r.path = c.o.path.empty() ? "bomb.bin" : c.o.path;
  r.size = size;
  r.chunks = chunks_of(size, 1u << 20, seed);
  auto done = std::make_shared<std::string>();
  std::uint64_t bytes_sent = 0;
  s->log.on_fetch = [&, done](fetch_context fc) -> kj::Promise<void> {
    auto p = fc.getParams();
    auto rs = ranges_of(p);
    say("fetch of " + std::string(p.getPath().cStr()) + ": " + std::to_string(rs.size()) +
        " ranges");
    auto g = std::make_shared<big_gen>(p.getSink());
    g->rs = rs;
    g->done = done;
    g->sent = &bytes_sent;
    g->piece_bytes = piece_mib << 20;
    g->seed = seed;
    return big_step(g);
  };
  auto e = send_update_retry(*s, w, {r});
  say("announced " + r.path + " (" + std::to_string(size >> 20) + " MiB): " +
      (e.empty() ? "acknowledged" : e));
  double end = now_s() + 60;
  while (done->empty() && now_s() < end && !s->wait_disconnected(0.1)) {
  }
  result("big pieces of " + std::to_string(piece_mib) + " MiB: " +
         (done->empty() ? std::string("unfinished") : *done) + ", " +
         std::to_string(bytes_sent >> 20) + " MiB sent");
  s->sleep(1.0);
  return 0;
}

// Announces a file of content X and serves wrong bytes; after --count failures it serves X.
int attack_bad_chunks(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  const std::uint64_t size = 200 * 1024 + 123;
  const std::uint32_t chunk = 64 * 1024;
  const std::uint64_t seed = 4242;
  std::string good(size, '\0');
  for (std::uint64_t off = 0, i = 0; off < size; off += chunk, ++i)
    fill_block(seed + i, reinterpret_cast<std::uint8_t*>(good.data()) + off,
               static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - off)));
  rec r;
  r.path = c.o.path.empty() ? "chunky.bin" : c.o.path;
  r.size = size;
  r.chunks = chunks_of(size, chunk, seed);
  const int bad_rounds = c.o.count > 1 ? c.o.count : 4;
  {
    auto h = sha(good);
    std::string hex;
    for (auto b : h) {
      char x[3];
      std::snprintf(x, sizeof x, "%02x", b);
      hex += x;
    }
    say("content sha256 " + hex);
  }
  int round = 0;
  std::vector<std::shared_ptr<std::string>> outcomes;
  s->log.on_fetch = [&](fetch_context fc) -> kj::Promise<void> {
    auto p = fc.getParams();
    auto rs = ranges_of(p);
    int k = round++;
    auto pieces = std::make_shared<std::vector<std::pair<std::uint64_t, std::string>>>();
    std::string how;
    for (auto& rg : rs) {
      std::string bytes = good.substr(rg.offset, rg.length);
      pieces->push_back({rg.offset, bytes});
    }
    switch (k < bad_rounds ? k % 4 : -1) {
    case 0: // flipped bits in the last chunk: the hash must catch it
      how = "corrupted bytes";
      for (auto& [off, b] : *pieces)
        if (!b.empty())
          b[b.size() - 1] ^= 0x5a;
      break;
    case 1: // another file's bytes, same length
      how = "foreign bytes";
      for (auto& [off, b] : *pieces)
        for (auto& ch : b)
          ch = static_cast<char>(~ch);
      break;
    case 2: // out of order: second half first
      how = "out of order";
      if (!pieces->empty()) {
        auto& [off, b] = (*pieces)[0];
        auto half = b.size() / 2;
        std::pair<std::uint64_t, std::string> a{off, b.substr(0, half)}, z{off + half, b.substr(half)};
        (*pieces)[0] = z;
        pieces->insert(pieces->begin() + 1, a);
      }
      break;
    case 3: // correct bytes and then more than was asked
      how = "extra bytes";
      if (!pieces->empty())
        pieces->push_back({rs.back().offset + rs.back().length, std::string(4096, 'E')});
      break;
    default:
      how = "correct bytes";
    }
    say("fetch " + std::to_string(k + 1) + " of " + std::string(p.getPath().cStr()) + ": serving " +
        how);
    auto out = std::make_shared<std::string>();
    outcomes.push_back(out);
    // Split each range into 16 KiB pieces, as a real sender might.
    auto split = std::make_shared<std::vector<std::pair<std::uint64_t, std::string>>>();
    for (auto& [off, b] : *pieces)
      for (std::size_t i = 0; i < b.size(); i += 16384)
        split->push_back({off + i, b.substr(i, 16384)});
    return stream_pieces(p.getSink(), split, 0, out).then([out, k]() {
      say("fetch " + std::to_string(k + 1) + ": " + *out);
    });
  };
  auto e = send_update_retry(*s, w, {r});
  say("announced " + r.path + " (" + std::to_string(size) + " bytes): " +
      (e.empty() ? "acknowledged" : e));
  double end = now_s() + 30;
  while (now_s() < end && (round <= bad_rounds || outcomes.size() <= static_cast<std::size_t>(bad_rounds) ||
                           outcomes.back()->empty()))
    if (s->wait_disconnected(0.05))
      break;
  s->sleep(1.0);
  result("fetches served: " + std::to_string(round) + " (" + std::to_string(bad_rounds) +
         " bad), last: " + (outcomes.empty() ? std::string("none") : *outcomes.back()));
  return 0;
}

// Reads from a stream until EOF or `secs`; returns (closed, seconds, bytes read).
struct read_outcome {
  bool closed = false;
  double secs = 0;
  std::size_t bytes = 0;
};

read_outcome read_until_closed(kj::AsyncIoContext& io, kj::AsyncInputStream& in, double secs) {
  double t0 = now_s();
  read_outcome r;
  auto buf = kj::heapArray<kj::byte>(4096);
  auto& timer = io.provider->getTimer();
  while (now_s() - t0 < secs) {
    auto left = static_cast<int64_t>((secs - (now_s() - t0)) * 1000) + 1;
    try {
      auto n = timer.timeoutAfter(left * kj::MILLISECONDS, in.tryRead(buf.begin(), 1, buf.size()))
                   .wait(io.waitScope);
      if (n == 0) {
        r.closed = true;
        break;
      }
      r.bytes += n;
    } catch (kj::Exception& e) {
      if (e.getType() == kj::Exception::Type::OVERLOADED && now_s() - t0 >= secs - 0.01)
        break; // our own timeout
      r.closed = true; // reset by the node
      break;
    }
  }
  r.secs = now_s() - t0;
  return r;
}

kj::Promise<void> drain(kj::AsyncInputStream& s, kj::byte* buf) {
  return s.tryRead(buf, 1, 4096).then([&s, buf](size_t n) -> kj::Promise<void> {
    if (n == 0)
      return kj::READY_NOW;
    return drain(s, buf);
  });
}

// Waits at most `secs` for the node to close each stream; returns for each the seconds until
// it was closed (EOF or reset), or -1 if it was still open.
std::vector<double> close_times(kj::AsyncIoContext& io, const std::vector<kj::AsyncInputStream*>& ss,
                                double secs) {
  auto when = std::make_shared<std::vector<double>>(ss.size(), -1.0);
  auto bufs = std::make_shared<std::vector<std::array<kj::byte, 4096>>>(ss.size());
  double t0 = now_s();
  kj::Vector<kj::Promise<void>> ps;
  for (std::size_t i = 0; i < ss.size(); ++i) {
    auto mark = [when, i, t0]() { (*when)[i] = now_s() - t0; };
    // Eager: a join runs its branches' continuations only when all are done otherwise.
    ps.add(drain(*ss[i], (*bufs)[i].data())
               .then([mark]() { mark(); }, [mark](kj::Exception&&) { mark(); })
               .eagerlyEvaluate(nullptr));
  }
  io.provider->getTimer()
      .timeoutAfter(static_cast<int64_t>(secs * 1000) * kj::MILLISECONDS,
                    kj::joinPromises(ps.releaseAsArray()))
      .then([]() {}, [](kj::Exception&&) {})
      .wait(io.waitScope);
  return *when;
}

std::string summarize(const std::vector<double>& t) {
  int closed = 0;
  double last = 0;
  for (auto x : t)
    if (x >= 0) {
      ++closed;
      last = std::max(last, x);
    }
  return std::to_string(closed) + "/" + std::to_string(t.size()) + " closed, last after " +
         fmt_s(last);
}

int attack_stall(ctx& c) {
  // Variant 1: TCP only, nothing sent. Variant 2: TLS done, no hello. Watched side by side.
  int n = std::max(1, c.o.count);
  std::vector<kj::Own<kj::AsyncIoStream>> raw;
  std::vector<kj::Own<rpc::tls_stream>> tls;
  for (int i = 0; i < n; ++i)
    raw.push_back(tcp_connect(c.io, c.o));
  for (int i = 0; i < n; ++i) {
    auto t = c.tls.wrap(tcp_connect(c.io, c.o), true);
    try {
      c.io.provider->getTimer().timeoutAfter(15 * kj::SECONDS, t->handshake()).wait(c.io.waitScope);
    } catch (kj::Exception& e) {
      say(std::string("TLS handshake ") + std::to_string(i) + " failed: " +
          e.getDescription().cStr());
    }
    tls.push_back(kj::mv(t));
  }
  say("opened " + std::to_string(n) + " silent TCP and " + std::to_string(n) +
      " TLS-without-hello connections");
  std::vector<kj::AsyncInputStream*> all;
  for (auto& s : raw)
    all.push_back(s.get());
  for (auto& s : tls)
    all.push_back(s.get());
  auto t = close_times(c.io, all, c.o.wait);
  result("silent TCP: " + summarize({t.begin(), t.begin() + n}));
  result("TLS without hello: " + summarize({t.begin() + n, t.end()}));
  return 0;
}

int attack_wrong_key(ctx& c) {
  struct variant {
    const char* name;
    std::string key;
    bool claim_other;
    std::uint32_t protocol;
  };
  std::vector<variant> vs = {
      {"another group key", another_key(), false, wire::PROTOCOL_VERSION},
      {"empty group key", "", false, wire::PROTOCOL_VERSION},
  };
  if (!c.o.key.empty()) {
    vs.push_back({"right key, device id not ours", c.o.key, true, wire::PROTOCOL_VERSION});
    vs.push_back({"right key, protocol 99", c.o.key, false, 99});
  }
  int n = std::max(1, c.o.count);
  for (int round = 0; round < n; ++round) {
    for (auto& v : vs) {
      if (round > 0 && std::string(v.name) != "another group key")
        continue;
      session s(c.io, c.o, c.tls);
      s.open();
      double t0 = now_s();
      std::string outcome;
      try {
        std::optional<core::device_id> claim;
        if (v.claim_other) {
          core::device_id other{};
          other.fill(0x42);
          claim = other;
        }
        s.hello(v.key, claim, v.protocol);
        outcome = "ACCEPTED";
      } catch (kj::Exception& e) {
        outcome = std::string("refused (") + e.getDescription().cStr() + ")";
      }
      bool dropped = s.wait_disconnected(3);
      s.sleep(0.3);
      auto& l = s.log;
      result(std::string(v.name) + ": " + outcome + "; " +
             (dropped ? "disconnected" : "NOT disconnected") + " after " + fmt_s(now_s() - t0) +
             "; calls from the node: subscribe " + std::to_string(l.subscribes) + ", update " +
             std::to_string(l.updates) + " (" + std::to_string(l.records_in) + " records), fetch " +
             std::to_string(l.fetches) + ", ping " + std::to_string(l.pings));
    }
  }
  return 0;
}

int attack_no_tls(ctx& c) {
  auto s = tcp_connect(c.io, c.o);
  std::string req = "GET / HTTP/1.0\r\nHost: cascade\r\n\r\n";
  s->write(req.data(), req.size()).wait(c.io.waitScope);
  auto r = read_until_closed(c.io, *s, 15);
  result(std::string(r.closed ? "closed" : "NOT closed") + " after " + fmt_s(r.secs) + ", " +
         std::to_string(r.bytes) + " bytes back");
  return 0;
}

// Sink that keeps what it receives; `stall` holds every write forever.
class keep_sink final : public wire::ChunkSink::Server {
public:
  keep_sink(std::string& into, std::string& error, bool& finished, bool stall)
      : into_(into), error_(error), finished_(finished), stall_(stall) {}
  kj::Promise<void> write(WriteContext ctx) override {
    for (auto p : ctx.getParams().getPieces())
      into_.append(reinterpret_cast<const char*>(p.getData().begin()), p.getData().size());
    if (stall_)
      return kj::NEVER_DONE;
    return kj::READY_NOW;
  }
  kj::Promise<void> done(DoneContext ctx) override {
    error_ = ctx.getParams().getError().cStr();
    finished_ = true;
    return kj::READY_NOW;
  }

private:
  std::string& into_;
  std::string& error_;
  bool& finished_;
  bool stall_;
};

int attack_bad_fetch(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  std::vector<std::string> paths = {"../outside/secret.txt",
                                    "../../outside/secret.txt",
                                    c.o.dir + "/secret.txt",
                                    "/etc/passwd",
                                    "outlink/secret.txt",
                                    "outlink",
                                    "hardlinked-dir/../secret.txt",
                                    ".cascade/identity",
                                    ".cascade/group.key",
                                    ".cascade/index.db",
                                    ".cascade",
                                    "",
                                    std::string("good.txt\0/../../outside/secret.txt", 34)};
  int leaks = 0;
  for (auto& p : paths) {
    std::string got, err;
    bool finished = false;
    auto req = s->peer().fetchRequest();
    req.setPath(capnp::Text::Reader(p.data(), p.size()));
    auto rl = req.initRanges(1);
    rl[0].setOffset(0);
    rl[0].setLength(4096);
    req.setSink(kj::heap<keep_sink>(got, err, finished, false));
    std::string outcome;
    try {
      s->wait(req.send().ignoreResult(), 10, "fetch");
      s->sleep(0.05);
      outcome = finished ? "done(" + err + ")" : "returned";
    } catch (kj::Exception& e) {
      outcome = std::string("refused (") + e.getDescription().cStr() + ")";
    }
    bool leak = !c.o.marker.empty() && got.find(c.o.marker) != std::string::npos;
    if (leak)
      ++leaks;
    std::string shown;
    for (char ch : p)
      shown += (ch >= 0x20 && ch < 0x7f) ? std::string(1, ch) : "\\x" + std::to_string(int(ch));
    say("fetch '" + shown + "': " + outcome + ", " + std::to_string(got.size()) + " bytes" +
        (leak ? " CONTAINING THE MARKER" : ""));
  }
  result("path fetches: " + std::to_string(paths.size()) + ", leaks " + std::to_string(leaks));
  // Too many ranges in one fetch: the node must drop us.
  {
    auto req = s->peer().fetchRequest();
    req.setPath(c.o.path.empty() ? "big.bin" : c.o.path);
    auto rl = req.initRanges(65537);
    for (unsigned i = 0; i < rl.size(); ++i) {
      rl[i].setOffset(0);
      rl[i].setLength(1);
    }
    std::string got, err;
    bool finished = false;
    req.setSink(kj::heap<keep_sink>(got, err, finished, false));
    std::string outcome;
    try {
      s->wait(req.send().ignoreResult(), 10, "fetch");
      outcome = "served";
    } catch (kj::Exception& e) {
      outcome = std::string("refused (") + e.getDescription().cStr() + ")";
    }
    bool dropped = s->wait_disconnected(3);
    result("65537 ranges: " + outcome + "; " + (dropped ? "disconnected" : "NOT disconnected"));
  }
  // 17 fetches at once whose sinks never take a write: the 17th breaks the limit.
  {
    auto s2 = connect_with_key(c, c.o.key);
    s2->wait_subscribed(5);
    std::vector<std::string> got(20), err(20);
    std::vector<char> fin(20, 0);
    std::vector<kj::Promise<void>> calls;
    int failed = 0;
    for (int i = 0; i < 17; ++i) {
      auto req = s2->peer().fetchRequest();
      req.setPath(c.o.path.empty() ? "big.bin" : c.o.path);
      auto rl = req.initRanges(1);
      rl[0].setOffset(0);
      rl[0].setLength(4u << 20);
      req.setSink(kj::heap<keep_sink>(got[i], err[i], reinterpret_cast<bool&>(fin[i]), true));
      calls.push_back(req.send().ignoreResult().catch_([&failed](kj::Exception&&) { ++failed; }));
      s2->sleep(0.05);
    }
    bool dropped = s2->wait_disconnected(5);
    result("17 stalled fetches: " + std::string(dropped ? "disconnected" : "NOT disconnected"));
  }
  return 0;
}

// Many connections that do TLS and then nothing, all held open at once.
int attack_conn_flood(ctx& c) {
  int n = std::max(1, c.o.count);
  std::vector<kj::Own<rpc::tls_stream>> conns;
  int failed = 0;
  double t0 = now_s();
  for (int i = 0; i < n; ++i) {
    try {
      auto t = c.tls.wrap(tcp_connect(c.io, c.o), true);
      c.io.provider->getTimer().timeoutAfter(5 * kj::SECONDS, t->handshake()).wait(c.io.waitScope);
      conns.push_back(kj::mv(t));
    } catch (std::exception&) {
      ++failed;
    } catch (kj::Exception&) {
      ++failed;
    }
  }
  say("opened " + std::to_string(conns.size()) + " TLS connections (" + std::to_string(failed) +
      " failed) in " + fmt_s(now_s() - t0));
  std::printf("READY\n");
  std::fflush(stdout);
  // Hold them while the test looks at the node; report how many the node closed.
  std::vector<kj::AsyncInputStream*> all;
  for (auto& s : conns)
    all.push_back(s.get());
  result("conn-flood: " + summarize(close_times(c.io, all, c.o.wait)));
  return 0;
}

// A deletion of an existing file (--path) under a version whose counter is the largest
// 64-bit value: concurrent with the node's own version, so the node keeps its file and
// re-announces it with a merged and bumped version; the bump cannot go above the maximum.
int attack_max_counter(ctx& c) {
  if (c.o.path.empty())
    usage("max-counter needs --path NAME (a file the node has)");
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  rec del;
  del.path = c.o.path;
  del.deleted = true;
  del.counter = UINT64_MAX;
  auto e = send_update_retry(*s, w, {del});
  bool dropped = s->wait_disconnected(2);
  result("deletion of " + c.o.path + " at counter 2^64-1: " +
         (e.empty() ? std::string("acknowledged") : e) + "; " +
         (dropped ? "disconnected" : "still connected"));
  return 0;
}

// Push cascade from a hostile upstream: offers with a bad name or an oversized relay list must
// be declined; an accepted offer streamed with wrong bytes must not be assembled (the node
// falls back to fetching, which we then serve correctly).
int attack_bad_offer(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  const std::uint64_t size = 200 * 1024 + 77;
  const std::uint32_t chunk = 64 * 1024;
  const std::uint64_t seed = 777;
  std::string good(size, '\0');
  for (std::uint64_t off = 0, i = 0; off < size; off += chunk, ++i)
    fill_block(seed + i, reinterpret_cast<std::uint8_t*>(good.data()) + off,
               static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - off)));
  {
    auto h = sha(good);
    std::string hex;
    for (auto b : h) {
      char x[3];
      std::snprintf(x, sizeof x, "%02x", b);
      hex += x;
    }
    say("content sha256 " + hex);
  }
  auto offer = [&](const rec& r, unsigned rest_n) -> std::optional<wire::ChunkSink::Client> {
    auto req = s->peer().offerRequest();
    w.fill(r, req.initRecord());
    auto rl = req.initRest(rest_n);
    for (unsigned i = 0; i < rest_n; ++i) {
      std::array<kj::byte, 32> id{};
      std::memcpy(id.data(), &i, sizeof i);
      id[31] = 0x77;
      rl.set(i, kj::arrayPtr(id.data(), id.size()));
    }
    req.initVisited(0);
    auto resp = s->wait(req.send(), 10, "offer");
    if (!resp.hasSink())
      return std::nullopt;
    return resp.getSink();
  };
  rec bad = file_inline("../offer-escape", "x");
  bad.has_data = false;
  bad.data.clear();
  result(std::string("offer of '../offer-escape': ") + (offer(bad, 0) ? "ACCEPTED" : "declined"));
  rec r;
  r.path = c.o.path.empty() ? "offered.bin" : c.o.path;
  r.size = size;
  r.chunks = chunks_of(size, chunk, seed);
  result(std::string("offer with 1025 relay ids: ") + (offer(r, 1025) ? "ACCEPTED" : "declined"));
  int fetches = 0;
  auto fetched = std::make_shared<std::string>();
  s->log.on_fetch = [&, fetched](fetch_context fc) -> kj::Promise<void> {
    auto p = fc.getParams();
    ++fetches;
    auto pieces = std::make_shared<std::vector<std::pair<std::uint64_t, std::string>>>();
    for (auto& rg : ranges_of(p))
      for (std::uint64_t o = 0; o < rg.length; o += 16384)
        pieces->push_back({rg.offset + o, good.substr(rg.offset + o,
                                                      std::min<std::uint64_t>(16384, rg.length - o))});
    say("fetch of " + std::string(p.getPath().cStr()) + ": serving correct bytes");
    return stream_pieces(p.getSink(), pieces, 0, fetched);
  };
  auto sink = offer(r, 0);
  if (!sink) {
    result("valid offer: declined (could not push wrong bytes)");
    return 0;
  }
  auto pieces = std::make_shared<std::vector<std::pair<std::uint64_t, std::string>>>();
  for (std::uint64_t o = 0; o < size; o += 16384) {
    auto b = good.substr(o, 16384);
    for (auto& ch : b)
      ch = static_cast<char>(ch ^ 0x33);
    pieces->push_back({o, b});
  }
  auto pushed = std::make_shared<std::string>();
  s->wait(stream_pieces(*sink, pieces, 0, pushed), 15, "push");
  say("pushed wrong bytes: " + *pushed);
  double end = now_s() + 10;
  while (fetched->empty() && now_s() < end && !s->wait_disconnected(0.05)) {
  }
  s->sleep(0.5);
  result("valid offer: accepted; wrong bytes pushed (" + *pushed + "); fetches afterwards " +
         std::to_string(fetches) + (fetched->empty() ? "" : " (" + *fetched + ")"));
  return 0;
}

int attack_hello(ctx& c) {
  try {
    auto s = connect_with_key(c, c.o.key);
    result("hello accepted");
  } catch (kj::Exception& e) {
    result(std::string("hello failed: ") + e.getDescription().cStr());
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (argc < 2)
    usage("no mode");
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--port")
      o.port = static_cast<std::uint16_t>(std::stoi(val()));
    else if (a == "--key")
      o.key = val();
    else if (a == "--host")
      o.host = val();
    else if (a == "--src")
      o.src = val();
    else if (a == "--dir")
      o.dir = val();
    else if (a == "--count")
      o.count = std::stoi(val());
    else if (a == "--marker")
      o.marker = val();
    else if (a == "--path")
      o.path = val();
    else if (a == "--wait")
      o.wait = std::stod(val());
    else if (a == "--deadline")
      o.deadline = std::stoi(val());
    else
      usage("unknown argument " + a);
  }
  if (o.port == 0)
    usage("--port is required");
  ::alarm(static_cast<unsigned>(o.deadline));
  std::map<std::string, int (*)(ctx&)> modes = {
      {"bad-names", attack_bad_names},   {"flood", attack_flood},
      {"oversized", attack_oversized},   {"big-pieces", attack_big_pieces},
      {"bad-chunks", attack_bad_chunks}, {"stall-handshake", attack_stall},
      {"conn-flood", attack_conn_flood}, {"wrong-key", attack_wrong_key},
      {"no-tls", attack_no_tls},         {"bad-fetch", attack_bad_fetch},
      {"hello", attack_hello},           {"max-counter", attack_max_counter},
      {"bad-offer", attack_bad_offer},
  };
  auto it = modes.find(o.mode);
  if (it == modes.end())
    usage("unknown mode " + o.mode);
  bool needs_key = o.mode != "stall-handshake" && o.mode != "conn-flood" && o.mode != "no-tls" &&
                   o.mode != "wrong-key";
  if (needs_key && o.key.empty())
    usage(o.mode + " needs --key");
  try {
    auto io = kj::setupAsyncIo();
    rpc::tls_context tls(rpc::generate_private_key());
    say("device " + core::format_device_id(tls.self()) + ", mode " + o.mode);
    ctx c{io, o, tls};
    return it->second(c);
  } catch (kj::Exception& e) {
    say(std::string("attack could not run: ") + e.getDescription().cStr());
    return 1;
  } catch (std::exception& e) {
    say(std::string("attack could not run: ") + e.what());
    return 1;
  }
}
