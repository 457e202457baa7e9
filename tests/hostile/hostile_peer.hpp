// The hostile peer's shared parts (see main.cpp for what the program does): options, output,
// the session to a node (TCP, TLS, hello), records and updates, fetch serving, and one entry
// point per attack mode.
//
//   session.cpp            output helpers, TCP connect, TLS + hello, our Peer capability
//   records.cpp            records and update batches, generated chunks, streaming into a sink
//   attacks_update.cpp     bad-names, flood, oversized, max-counter
//   attacks_transfer.cpp   big-pieces, bad-chunks, bad-offer, have-liar (we serve or push bad
//                          bytes, or claim to hold what we do not)
//   attacks_fetch.cpp      bad-fetch (we fetch what we must not get)
//   attacks_handshake.cpp  stall-handshake, conn-flood, wrong-key, no-tls, hello
//   attacks_server.cpp     serve (we are the server the node dials)
//   main.cpp               command line, mode table
#pragma once

// GCC 12 reports a false maybe-uninitialized inside capnp::makeRpcServer (kj::Maybe<Client>).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cascade.capnp.h"
#include "core/chunk_delta.hpp"
#include "core/device_id.hpp"
#include "core/record.hpp"
#include "rpc/tls.hpp"

namespace hostile {

using namespace cascade;

struct options {
  std::string mode;
  std::string host = "127.0.0.1";
  std::string src;
  std::uint16_t port = 0;
  std::string key;
  std::string dir;
  std::string marker;
  std::string path;
  std::string variant = "no-key"; // serve: the proof we answer with
  std::string identity;           // a PEM file for our key (made if missing); else a fresh key
  int count = 1;
  int deadline = 90;
  double wait = 25; // stall-handshake, conn-flood: how long to wait for the node to close
};

// ------------------------------------------------------------------ output and small helpers

[[noreturn]] void usage(const std::string& why);
void say(const std::string& s);    // "hostile: ..."
void result(const std::string& s); // "RESULT ...": a verdict line the test reads
double now_s();
std::string fmt_s(double s);
core::sha256_digest sha(const std::string& s);
// Deterministic bytes for chunk `i` of a generated file (so both ends can recompute them).
void fill_block(std::uint64_t seed, std::uint8_t* out, std::size_t n);

// ------------------------------------------------------------------ connection

kj::Own<kj::AsyncIoStream> tcp_connect(kj::AsyncIoContext& io, const options& o);

using fetch_context = capnp::CallContext<wire::Peer::FetchParams, wire::Peer::FetchResults>;
using have_context = capnp::CallContext<wire::Peer::HaveParams, wire::Peer::HaveResults>;

// What the node did to our Peer capability.
struct peer_log {
  int subscribes = 0, updates = 0, fetches = 0, pings = 0, haves = 0;
  std::size_t records_in = 0;
  std::function<kj::Promise<void>(fetch_context)> on_fetch;
  std::function<kj::Promise<void>(have_context)> on_have;
};

// A Peer capability of ours that counts what the node does with it.
wire::Peer::Client make_our_peer(peer_log& log);

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
  void open();

  // Sends our hello (proof made with `key`, role "client"); returns the node's Peer.
  // Throws kj::Exception if the node refuses.
  // `proof`, if given, is sent instead of the proof for this session (a replay).
  // `ready`: also hand over our Peer (the last step of the handshake).
  wire::Peer::Client hello(const std::string& key, std::optional<core::device_id> claim = {},
                           std::uint32_t protocol = wire::PROTOCOL_VERSION,
                           std::optional<std::array<std::uint8_t, 32>> proof = {},
                           bool ready = true);
  // The RPC system over the TLS stream (hello does it too).
  void start_rpc();
  // Calls the node's Handshake.ready with our Peer; "" if it answered, else the error.
  std::string send_ready(double secs = 5);
  std::array<std::uint8_t, 32> sent_proof{}; // the proof of the last hello

  wire::Peer::Client& peer() { return KJ_ASSERT_NONNULL(peer_); }

  // Waits (bounded) until the node subscribed to us: its index then knows the session.
  bool wait_subscribed(double secs);

  // True if the connection is (or gets, within `secs`) closed by the node.
  bool wait_disconnected(double secs);

  void sleep(double secs);

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

// What every attack gets.
struct ctx {
  kj::AsyncIoContext& io;
  const options& o;
  rpc::tls_context& tls;
};

// A session that said hello with `key` (throws kj::Exception if the node refuses).
std::unique_ptr<session> connect_with_key(ctx& c, const std::string& key);

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
  std::string data;          // when has_data
  std::size_t fake_data = 0; // > 0: carry this many bytes of data instead of `data`
  std::uint64_t counter = 0; // > 0: our version counter for this record (else the next one)
  // Set: the chunk list goes as this delta (base: our counter delta_base) instead of `chunks`.
  std::optional<std::vector<core::delta_step>> delta;
  std::uint64_t delta_base = 0;
};

rec file_inline(std::string path, std::string content, std::uint32_t mode = 0644);
rec symlink_rec(std::string path, std::string target);
rec dir_rec(std::string path);

struct writer {
  core::short_id me;
  std::uint64_t seq = 0;
  std::uint64_t counter = 0;
  std::int64_t mtime = 1'700'000'000'000'000'000LL;

  void fill(const rec& r, wire::Record::Builder b);
};

// Sends one update batch; returns "" if the node acknowledged it, else the error.
std::string send_update(session& s, writer& w, const std::vector<rec>& recs, double secs = 30);

// Sends an update, retrying a few times while the node's index has not seen the session yet.
std::string send_update_retry(session& s, writer& w, const std::vector<rec>& recs);
// Sends one batch; "needFull" or "recorded" if the node answered, else the error.
std::string send_update_answer(session& s, writer& w, const std::vector<rec>& recs);

// A file of `size` bytes cut in chunks of `chunk` bytes; content from fill_block(seed + i).
std::vector<core::chunk> chunks_of(std::uint64_t size, std::uint32_t chunk, std::uint64_t seed);

// ------------------------------------------------------------------ fetch serving

struct range {
  std::uint64_t offset, length;
};

std::vector<range> ranges_of(wire::Peer::FetchParams::Reader p);

// Streams `pieces` (offset, bytes) into the sink in order, then done(""). Stops quietly at the
// first failed write (the node cancelled the fetch).
kj::Promise<void>
stream_pieces(wire::ChunkSink::Client sink,
              std::shared_ptr<std::vector<std::pair<std::uint64_t, std::string>>> pieces,
              std::size_t idx, std::shared_ptr<std::string> outcome);

// ------------------------------------------------------------------ probing a node's Peer

// What calls on a node's Peer capability got (attacks_server.cpp).
struct probe_tally {
  int node_peers = 0; // capabilities of the node's Peer that reached us
  int answered = 0;   // calls on them the node answered
  int refused = 0;
  std::size_t bytes = 0; // file bytes the node streamed to us
};

// One call, bounded (3 s), counted as answered or refused and said.
kj::Promise<void> attempt(ctx& c, probe_tally& t, const std::string& stage,
                          const std::string& method, kj::Promise<void> call);
// Every method of the node's Peer at once (fetch and have of --path, subscribe, an update, an
// offer, ping), each counted.
kj::Promise<void> try_everything(ctx& c, probe_tally& t, wire::Peer::Client peer,
                                 std::string stage);

// ------------------------------------------------------------------ attacks (one per mode)

int attack_bad_names(ctx& c); // attacks_update.cpp
int attack_flood(ctx& c);
int attack_oversized(ctx& c);
int attack_max_counter(ctx& c);
int attack_bad_delta(ctx& c);
int attack_big_pieces(ctx& c); // attacks_transfer.cpp
int attack_bad_chunks(ctx& c);
int attack_bad_offer(ctx& c);
int attack_have_liar(ctx& c);
int attack_bad_fetch(ctx& c); // attacks_fetch.cpp
int attack_stall(ctx& c);     // attacks_handshake.cpp
int attack_conn_flood(ctx& c);
int attack_wrong_key(ctx& c);
int attack_no_tls(ctx& c);
int attack_hello(ctx& c);
int attack_early_calls(ctx& c);
int attack_serve(ctx& c); // attacks_server.cpp

} // namespace hostile
