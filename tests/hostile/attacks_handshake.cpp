// Attacks on the handshake: connections that stall before or after TLS, a flood of them,
// wrong group keys, device ids and protocol versions, plain text instead of TLS; and a
// correct hello (to check an address is still let in).
#include <unistd.h>

#include <algorithm>
#include <array>
#include <random>

#include "hostile_peer.hpp"

namespace hostile {

namespace {

std::string another_key() {
  // A well-formed group key of the right shape that is not the node's.
  std::array<std::uint8_t, 32> raw{};
  std::mt19937_64 rng(static_cast<std::uint64_t>(::getpid()) * 7919 + 17);
  for (auto& b : raw)
    b = static_cast<std::uint8_t>(rng());
  return "cas1-" + core::base32_encode(raw.data(), raw.size());
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
        break;         // our own timeout
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
std::vector<double> close_times(kj::AsyncIoContext& io,
                                const std::vector<kj::AsyncInputStream*>& ss, double secs) {
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

} // namespace

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
      say(std::string("TLS handshake ") + std::to_string(i) +
          " failed: " + e.getDescription().cStr());
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
  if (!c.o.key.empty()) {
    // A recorded hello replayed in another session (or relayed by a man in the middle, whose
    // two TLS sessions differ): its proof is bound to the first session's exporter.
    session first(c.io, c.o, c.tls);
    first.open();
    first.hello(c.o.key);
    auto recorded = first.sent_proof;
    session second(c.io, c.o, c.tls);
    second.open();
    double t0 = now_s();
    std::string outcome;
    try {
      second.hello(c.o.key, {}, wire::PROTOCOL_VERSION, recorded);
      outcome = "ACCEPTED";
    } catch (kj::Exception& e) {
      outcome = std::string("refused (") + e.getDescription().cStr() + ")";
    }
    bool dropped = second.wait_disconnected(3);
    auto& l = second.log;
    result("replayed proof from another session: " + outcome + "; " +
           (dropped ? "disconnected" : "NOT disconnected") + " after " + fmt_s(now_s() - t0) +
           "; calls from the node: subscribe " + std::to_string(l.subscribes) + ", update " +
           std::to_string(l.updates) + " (" + std::to_string(l.records_in) + " records), fetch " +
           std::to_string(l.fetches) + ", ping " + std::to_string(l.pings));
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

// A member that breaks the handshake's order: calls on the node's Peer before its ready, a
// second ready, and (on a fresh connection) ready before hello. Each must be refused and end
// the connection; none of the early calls may be answered.
int attack_early_calls(ctx& c) {
  {
    session s(c.io, c.o, c.tls);
    s.open();
    auto peer = s.hello(c.o.key, {}, wire::PROTOCOL_VERSION, {}, false);
    probe_tally t;
    s.wait(try_everything(c, t, peer, "before ready"), 10, "calls");
    bool dropped = s.wait_disconnected(3);
    result("calls before ready: answered " + std::to_string(t.answered) + ", refused " +
           std::to_string(t.refused) + ", bytes " + std::to_string(t.bytes) + "; " +
           (dropped ? "disconnected" : "NOT disconnected"));
  }
  {
    session s(c.io, c.o, c.tls);
    s.open();
    s.hello(c.o.key);
    auto err = s.send_ready();
    bool dropped = s.wait_disconnected(3);
    result("second ready: " + (err.empty() ? std::string("ACCEPTED") : "refused") + "; " +
           (dropped ? "disconnected" : "NOT disconnected"));
  }
  {
    session s(c.io, c.o, c.tls);
    s.open();
    auto err = s.send_ready();
    bool dropped = s.wait_disconnected(3);
    result("ready before hello: " + (err.empty() ? std::string("ACCEPTED") : "refused") + "; " +
           (dropped ? "disconnected" : "NOT disconnected") + ", records " +
           std::to_string(s.log.records_in) + ", subscribes " + std::to_string(s.log.subscribes));
  }
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

} // namespace hostile
