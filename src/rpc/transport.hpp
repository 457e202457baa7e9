// What the actors see of the peer network: the values that cross it and `transport`, the calls
// they make. rpc::network (network.hpp) is the real one: a KJ thread that owns every Cap'n Proto
// and KJ object; tests/actor drives the actors through a fake. Every call queues work and never
// blocks; answers come back through `listener`, `chunk_receiver`, `push_observer` and the
// callbacks passed in, on the network's thread, and must only post messages (anon_send). No KJ
// or Cap'n Proto type crosses this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/chunk_delta.hpp"
#include "core/device_id.hpp"
#include "core/fetch_plan.hpp"
#include "core/introspection.hpp"
#include "core/record.hpp"
#include "io/buffer_pool.hpp"

namespace cascade::rpc {

using session_id = std::uint64_t;
using call_id = std::uint64_t;
using fetch_id = std::uint64_t;

// A record as it travels: small files carry their content.
// The peer protocol's version (schema/cascade.capnp), as hellos and mDNS TXT `v=` carry it.
std::uint32_t protocol_version();

struct wire_entry {
  core::file_record record;
  bool has_data = false;
  std::string data;
  // Set: record.chunks is empty on the wire and this edit of the base version's list stands
  // for it (the receiver rebuilds the list, or asks for the batch again in full).
  std::optional<core::chunk_delta> delta;
};

// Frame bytes: an immutable slice of a pooled block (io::frame_pool), shared by the disk write,
// every forward and the message that sends it.
using buffer = io::buffer;

struct piece {
  std::uint64_t offset = 0;
  buffer data;
};

struct session_info {
  session_id id = 0;
  core::device_id device{};
  std::uint64_t epoch = 0; // of the peer's index
  std::string address;     // "host:port"
  bool outbound = false;
};

class listener {
public:
  virtual ~listener() = default;
  virtual void on_session_up(const session_info& s) = 0;
  virtual void on_session_down(session_id s, const std::string& reason) = 0;
  // The peer asks for our records above `from` of index `epoch`.
  virtual void on_subscribe(session_id s, std::uint64_t epoch, std::uint64_t from) = 0;
  // A batch of records from the peer; answer with network::complete_update(s, call).
  // The records cover the peer's sequences in (from, last].
  virtual void on_update(session_id s, call_id call, std::vector<wire_entry> entries,
                         std::uint64_t from, std::uint64_t last) = 0;
  // Logged problems (bad input, failed dials), one line each.
  virtual void on_log(int level, const std::string& line) = 0;
  // The peer offers to push a file (push cascade); answer with network::accept_offer or
  // network::decline_offer.
  virtual void on_offer(session_id s, call_id call, wire_entry entry,
                        std::vector<core::device_id> rest,
                        std::vector<core::device_id> visited) = 0;
  // Pull repair: the peer asks what we hold of version `v` of `path`; answer with
  // network::answer_have(s, call, ...).
  virtual void on_have(session_id s, call_id call, std::string path, core::version_vector v) = 0;
};

// What a peer holds of one version of a file (Peer.have).
struct have_answer {
  bool ok = false;          // false: the peer did not answer (error in `error`)
  bool complete = false;    // the whole file
  std::vector<bool> chunks; // per chunk when partial; empty: none
  std::string error;
};

// The sending side of a push: told whether the peer took the offer, and when each pushed frame
// has left (the stream's flow control took it), so the pusher keeps a bounded window.
class push_observer {
public:
  virtual ~push_observer() = default;
  virtual void on_answer(bool accepted) = 0;
  virtual void on_sent(std::size_t frames) = 0;
  virtual void on_failed(const std::string& error) = 0;
};

class chunk_receiver {
public:
  virtual ~chunk_receiver() = default;
  // The sink holds these against its credit until network::consumed(fetch, n).
  virtual void on_pieces(std::vector<piece> pieces) = 0;
  // Once: empty error when every range arrived.
  virtual void on_done(const std::string& error) = 0;
};

class transport {
public:
  virtual ~transport() = default;

  // Keeps a connection to host:port, redialing with backoff while that device is not
  // otherwise connected.
  // `expected`: the device mDNS says is there (no dial while it is connected anyway);
  // `delay_ms`: wait first (the peer is expected to dial us).
  virtual void dial(const std::string& host, std::uint16_t port,
                    std::optional<core::device_id> expected = std::nullopt, int delay_ms = 0) = 0;
  // Stops redialing host:port (its service vanished); a live connection stays.
  virtual void forget(const std::string& host, std::uint16_t port) = 0;
  // The dial budget (core::dial_limiter) as it stands: any thread.
  struct dial_stats {
    std::uint64_t attempts = 0;        // connection attempts started
    std::uint64_t waited = 0;          // attempts that had to wait for the budget
    int pending = 0, peak_pending = 0; // TCP connects in progress, now and at most
    std::size_t waiting = 0;           // dial loops waiting for the budget now
  };
  virtual dial_stats dial_statistics() const = 0;
  virtual void subscribe(session_id s, std::uint64_t epoch, std::uint64_t from) = 0;
  // Our records with sequences in (from, last]; `done(ok, need_full)` runs on the network
  // thread once the peer acknowledged the batch (ok false: refused, or the session went down).
  virtual void send_update(session_id s, std::vector<wire_entry> entries, std::uint64_t from,
                           std::uint64_t last,
                           std::function<void(bool ok, bool need_full)> done) = 0;
  // need_full: a delta's base was missing; the peer sends the batch again without deltas.
  virtual void complete_update(session_id s, call_id call, bool ok, bool need_full = false) = 0;
  // Pulls `ranges` of `path`; with a non-empty `version` the peer may serve them from its
  // partial file of that version.
  virtual fetch_id fetch(session_id s, std::string path, std::vector<core::byte_range> ranges,
                         std::shared_ptr<chunk_receiver> receiver,
                         core::version_vector version = {}) = 0;
  // Asks the peer what it holds of version `v` of `path` (`chunks` chunks long); `done` runs
  // on the network thread (it must only post the answer on) once, also on failure and at the
  // latest after `timeout`.
  virtual void have(session_id s, std::string path, core::version_vector v, std::size_t chunks,
                    std::chrono::milliseconds timeout, std::function<void(have_answer)> done) = 0;
  virtual void answer_have(session_id s, call_id call, bool complete,
                           std::vector<bool> chunks) = 0;
  virtual void consumed(fetch_id f, std::size_t frames) = 0;
  virtual void cancel_fetch(fetch_id f) = 0;
  virtual void close_session(session_id s, std::string reason) = 0;

  // Push cascade, receiving side: a sink for an offered file; its pieces go to `receiver`,
  // credit comes back through consumed(returned id, n) as for fetches.
  virtual fetch_id accept_offer(session_id s, call_id call,
                                std::shared_ptr<chunk_receiver> receiver) = 0;
  virtual void decline_offer(session_id s, call_id call) = 0;

  // Push cascade, sending side: offers `entry` to the peer; then push() frames of verified
  // bytes (the buffers are referenced, not copied) and finish_push() once.
  using push_id = std::uint64_t;
  virtual push_id offer(session_id s, wire_entry entry, std::vector<core::device_id> rest,
                        std::vector<core::device_id> visited,
                        std::shared_ptr<push_observer> observer) = 0;
  virtual void push(push_id p, std::vector<piece> pieces) = 0;
  // With `drop_queued`, frames pushed but not yet sent are skipped (a peer handed to repair).
  virtual void finish_push(push_id p, std::string error, bool drop_queued = false) = 0;
  // Drops the device's connections now and refuses it from now on.
  virtual void deny(const core::device_id& d) = 0;

  // Peer statistics for the console (peer_stats.cpp): one row per session and per dial target
  // not connected. `done` runs on the network thread and must only post the rows on; it is
  // dropped unrun if the network is stopping.
  virtual void snapshot(std::function<void(std::vector<core::peer_status>)> done) = 0;
};

} // namespace cascade::rpc
