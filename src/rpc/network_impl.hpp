// The KJ side of rpc::network, shared by network.cpp (thread, connections, dialing),
// services.cpp (the Cap'n Proto servers), streams.cpp (fetches and pushes) and peer_stats.cpp
// (the console's view). Only the KJ thread touches what is declared here; other threads reach it
// through the inbox and the atomic id counters alone.
//
// State with rules of its own lives in classes that keep them: the inbox (inbox.hpp), the
// calls waiting for our actors with their per-session caps (call_table.hpp), the dial budget
// (dial_budget.hpp) and the handshake slowdown per address (core::handshake_backoff). What
// impl holds directly are the tables of sessions, fetches, pushes and dial targets, each
// entry's life tied to a session (drop() ends them all).
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "cascade.capnp.h"
#include "core/discovery.hpp"
#include "core/handshake_backoff.hpp"
#include "core/rate.hpp"
#include "rpc/call_table.hpp"
#include "rpc/counting_stream.hpp"
#include "rpc/dial_budget.hpp"
#include "rpc/inbox.hpp"
#include "rpc/message_stream.hpp"
#include "rpc/network.hpp"
#include "rpc/tls.hpp"

namespace cascade::rpc {

inline constexpr std::size_t max_frame_bytes = 1024 * 1024; // pieces per write: 256 KiB - 1 MiB
// Bytes of `-> stream` calls in flight per stream. capnp lets one more message than the window
// go, so 1 MiB keeps two frames on the wire (its default of 64 KiB: one frame at a time, waiting
// for each acknowledgement); more gained nothing and hid a slow downstream's lag from the relay.
inline constexpr std::size_t stream_window_bytes = 1024 * 1024;
inline constexpr std::size_t max_entries_per_update = 10000;
inline constexpr int max_concurrent_fetches = 16; // served to one peer at once
inline constexpr long max_pending_have = 64;      // unanswered have queries of one peer
// Calls of one peer waiting for our answer: a peer has at most two index updates in flight
// (actors/peer.cpp) and offers at most as many files as it has transfer slots (16), so more
// means it misbehaves.
inline constexpr long max_pending_updates = 4;
inline constexpr long max_pending_offers = 64;
inline constexpr unsigned max_ranges_per_fetch = 65536;
inline constexpr kj::Duration heartbeat_interval = 2 * kj::SECONDS;
inline constexpr kj::Duration heartbeat_timeout = 6 * kj::SECONDS;
inline constexpr kj::Duration handshake_timeout = 10 * kj::SECONDS;
// A LAN peer answers a SYN within milliseconds; 5 s still covers two lost SYNs (resent after
// 1 s and 3 s). Without it an address that black-holes holds a dial slot for minutes.
inline constexpr kj::Duration connect_timeout = 5 * kj::SECONDS;
inline const std::string exporter_label = "EXPORTER-cascade-hello";
inline const std::string duplicate_connection = "duplicate connection";

class handshake_impl;
class peer_impl;

// One TCP connection and its RPC system. Owned by impl::conns.
struct connection {
  session_id id = 0;
  bool outbound = false;
  bool verified = false; // the peer's hello checked out (its proof, id, deny list)
  bool up = false;       // verified, and the peer has our Peer: the session runs
  bool closing = false;  // the losing duplicate, closed shortly after its hello
  std::uint64_t remote_epoch = 0;
  std::string address;
  core::device_id remote{};
  kj::Own<kj::AsyncIoStream> stream;
  tls_stream* tls = nullptr; // the same object as `stream`
  int serving = 0;           // fetches we are streaming to this peer
  kj::Own<rpc_link> client;
  kj::Maybe<wire::Peer::Client> remote_peer;
  kj::Maybe<kj::Promise<void>> watch;
  // For the console (peer_stats.cpp): bytes on the wire, heartbeat round trip, rates.
  std::shared_ptr<byte_counters> counters = std::make_shared<byte_counters>();
  std::int64_t rtt_ns = -1;
  std::int64_t since_ns = 0; // steady clock, when the connection was made
  core::rate_meter rate_in, rate_out;
};

struct pending_fetch {
  session_id session = 0;
  std::shared_ptr<chunk_receiver> receiver;
  std::size_t outstanding = 0; // frames handed to the receiver, not yet consumed
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> blocked;
  bool finished = false;
  kj::Maybe<kj::Promise<void>> call; // a pull's Peer.fetch call (none for an accepted offer)
  bool call_ended = false;

  void finish(const std::string& error) {
    if (finished)
      return;
    finished = true;
    receiver->on_done(error);
  }
};

struct pending_push {
  session_id session = 0;
  std::shared_ptr<push_observer> observer;
  kj::Maybe<wire::ChunkSink::Client> sink;
  kj::Maybe<kj::ForkedPromise<void>> tail; // the frames sent so far, in order
  bool failed = false;
  bool dropping = false; // finished early: frames still queued are skipped

  void fail(const std::string& error) {
    if (failed)
      return;
    failed = true;
    observer->on_failed(error);
  }
};

struct dial_target {
  std::string host;
  std::uint16_t port = 0;
  kj::Maybe<core::device_id> device; // learnt on the first successful hello
  int failures = 0;
  bool wanted = true;   // false once discovery saw the service go: no more redials
  bool running = false; // a dial loop is active for it
  bool via_static = false, via_discovery = false; // who asked for it (the console's "found")
  std::string last_error;
};

struct network::impl : kj::TaskSet::ErrorHandler {
  struct have_reply {
    bool complete = false;
    std::vector<bool> chunks;
  };

  network_config cfg;
  listener& events;
  std::thread thread;
  rpc::inbox inbox; // closures from other threads
  // Ids handed out by other threads (fetch, offer) before their closure runs here.
  std::atomic<fetch_id> next_fetch{1};
  std::atomic<network::push_id> next_push{1};

  // KJ-thread state.
  kj::Maybe<kj::AsyncIoContext&> io;
  kj::Own<kj::ConnectionReceiver> receiver;
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> stop_fulfiller;
  kj::Own<kj::TaskSet> tasks;
  kj::Own<tls_context> tls_ctx;
  core::handshake_backoff backoff; // inbound handshakes that failed, per IP
  std::set<core::device_id> denied_devices;
  bool denied(const core::device_id& d) const { return denied_devices.count(d) > 0; }
  std::map<session_id, kj::Own<connection>> conns;
  std::map<fetch_id, kj::Own<pending_fetch>> fetches;
  std::map<network::push_id, kj::Own<pending_push>> pushes;
  // Peers' calls waiting for our actors, each kind with its cap per session.
  call_table<bool> update_calls{max_pending_updates};   // fulfilled with need_full
  call_table<fetch_id> offer_calls{max_pending_offers}; // 0: declined
  call_table<have_reply> have_calls{max_pending_have};
  std::vector<kj::Own<dial_target>> targets;
  dial_budget dials;
  session_id next_session = 1;
  call_id next_call = 1;

  impl(network_config c, listener& l)
      : cfg(std::move(c)), events(l), denied_devices(cfg.denied.begin(), cfg.denied.end()) {}

  void taskFailed(kj::Exception&& e) override {
    events.on_log(3, std::string("network task failed: ") + e.getDescription().cStr());
  }

  void post(std::function<void()> fn) { inbox.post(std::move(fn)); }

  void run(std::promise<std::uint16_t>& bound);
  // The KJ side on the calling thread's event loop: TLS context, tasks and the queue from other
  // threads (drained by that loop). run() does this on the network thread; tests on their own.
  // Throws std::runtime_error for a bad key.
  void attach(kj::AsyncIoContext& ctx);
  // Drops every connection and frees every KJ object, before the loop goes.
  void detach(kj::WaitScope& ws);
  // A stream we accepted (a TCP connection, or an in-memory pipe in tests): TLS, then the
  // peer's hello.
  void accepted(kj::Own<kj::AsyncIoStream> s, std::string addr, std::string ip);
  // A stream we dialed to `t`: TLS, our hello, ready; resolves when the session ends.
  kj::Promise<void> dial_over(kj::Own<kj::AsyncIoStream> s, dial_target& t);
  kj::Promise<void> accept_loop();
  kj::Promise<void> dial_loop(dial_target& t);
  // parseAddress + connect of one attempt, within the dial budget and connect_timeout.
  kj::Promise<kj::Own<kj::AsyncIoStream>> connect_limited(dial_target& t);
  // A slot of the dial budget for one attempt of `t`.
  kj::Promise<void> dial_slot(const dial_target& t);
  // A target nobody wants any more goes once its loop has ended (bounded by what is tracked).
  void erase_target_later(dial_target& t);
  bool device_connected(const core::device_id& d) const;
  // The session's Peer capability once its hello is done; null otherwise.
  wire::Peer::Client* peer_of(session_id s) {
    auto it = conns.find(s);
    if (it == conns.end())
      return nullptr;
    KJ_IF_MAYBE (p, it->second->remote_peer) {
      return p;
    }
    return nullptr;
  }
  kj::Promise<void> heartbeat(session_id s);
  // Console statistics (peer_stats.cpp).
  void note_rtt(session_id s, std::int64_t rtt_ns);
  void note_dial_error(const std::string& addr, const std::string& why);
  std::vector<core::peer_status> snapshot();

  connection& add_connection(kj::Own<kj::AsyncIoStream> stream, bool outbound, std::string addr);
  wire::Peer::Client make_peer(session_id s);
  wire::ChunkSink::Client make_sink(fetch_id f);
  void fill_hello(wire::Hello::Builder h, connection& c) const;
  kj::Promise<connection*> secure(kj::Own<kj::AsyncIoStream> s, bool outbound, std::string addr,
                                  std::string ip);
  // Checks the peer's hello (protocol, group proof, device id, deny list); sets c.remote.
  // Returns an error text or "".
  std::string check_hello(connection& c, wire::Hello::Reader h);
  // True if another session with the same device wins over `c` (else that one is dropped).
  bool loses_duplicate(connection& c);
  // Marks a verified session up with the peer's capability. Returns an error text or "".
  std::string go_up(connection& c, wire::Peer::Client peer, std::uint64_t epoch);
  void drop(session_id s, const std::string& reason);

  // Streams ranges of `path` (of the partial file `partial` while it exists, if set).
  kj::Promise<void> serve_fetch(wire::ChunkSink::Client sink, std::string path, std::string partial,
                                std::vector<core::byte_range> ranges, std::size_t idx,
                                std::uint64_t pos);
  kj::Promise<bool> on_update(session_id s, wire::Peer::UpdateParams::Reader p); // needFull
  void end_push(network::push_id p);
  // Forgets a fetch (never from inside one of its own continuations): once it is finished and
  // its call, if any, has ended, so that finished streams do not pile up.
  void forget_fetch(fetch_id f);
  void forget_fetch_if_over(fetch_id f);
};

} // namespace cascade::rpc
