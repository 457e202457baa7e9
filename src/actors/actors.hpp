// Every actor of a node, its messages and how to spawn it (DESIGN.md §5). Data flows one way:
// watcher -> index (-> scanner) -> peer -> (remote) -> peer -> index -> transfer -> index.
// Actors are thin: decisions live in src/core, disk in src/io, the network in src/rpc.
#pragma once

#include <caf/all.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/device_id.hpp"
#include "core/fetch_plan.hpp"
#include "core/index_store.hpp"
#include "core/introspection.hpp"
#include "core/modes.hpp"
#include "core/partials.hpp"
#include "core/record.hpp"
#include "io/file_space.hpp"
#include "io/hasher.hpp"
#include "io/mdns.hpp"
#include "io/tmp_dir.hpp"
#include "io/versions.hpp"
#include "io/watcher.hpp"
#include "rpc/console_server.hpp"
#include "rpc/transport.hpp"

namespace cascade::actors {

// --- atoms (CAF 0.17: at most 10 characters) ---
using fs_events_atom = caf::atom_constant<caf::atom("fs_events")>;    // watcher <- libuv thread
using overflow_atom = caf::atom_constant<caf::atom("overflow")>;      // watcher <- libuv thread
using tick_atom = caf::atom_constant<caf::atom("tick")>;              // watcher -> itself
using scan_atom = caf::atom_constant<caf::atom("scan")>;              // watcher -> index: paths
using rescan_atom = caf::atom_constant<caf::atom("rescan")>;          // -> index: walk everything
using rescan_path_atom = caf::atom_constant<caf::atom("rescanpath")>; // console -> index: counts
using hash_atom = caf::atom_constant<caf::atom("hash")>;              // index -> scanner
using hashed_atom = caf::atom_constant<caf::atom("hashed")>;          // scanner -> index
using up_atom = caf::atom_constant<caf::atom("sess_up")>;             // session came up
using down_atom = caf::atom_constant<caf::atom("sess_down")>;         // session went down
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;    // remote wants our index
using update_atom = caf::atom_constant<caf::atom("update")>;          // records from a peer
using changed_atom = caf::atom_constant<caf::atom("changed")>;        // index -> peers: new records
using get_atom = caf::atom_constant<caf::atom("get_upd")>;         // peer -> index: records since
using sent_atom = caf::atom_constant<caf::atom("sent")>;           // KJ -> peer: batch acked
using progress_atom = caf::atom_constant<caf::atom("progress")>;   // peer -> index: where we are
using pieces_atom = caf::atom_constant<caf::atom("pieces")>;       // KJ -> transfer: bytes
using done_atom = caf::atom_constant<caf::atom("done")>;           // KJ -> transfer: stream end
using finished_atom = caf::atom_constant<caf::atom("finished")>;   // transfer -> index
using retry_atom = caf::atom_constant<caf::atom("retry")>;         // index -> itself: transfers
using round_atom = caf::atom_constant<caf::atom("round")>;         // transfer -> itself: pull
using installs_atom = caf::atom_constant<caf::atom("installs")>;   // index -> itself
using flush_atom = caf::atom_constant<caf::atom("flush_del")>;     // index -> itself
using offer_atom = caf::atom_constant<caf::atom("offer")>;         // peer offers a push
using ds_answer_atom = caf::atom_constant<caf::atom("ds_answer")>; // KJ -> relay: offer answer
using ds_sent_atom = caf::atom_constant<caf::atom("ds_sent")>;     // KJ -> relay: frame left
using ds_failed_atom = caf::atom_constant<caf::atom("ds_failed")>; // KJ -> relay: push broke
using ds_tick_atom = caf::atom_constant<caf::atom("ds_tick")>;     // relay -> itself: judge pace
using status_atom = caf::atom_constant<caf::atom("status")>;       // any actor: actor_status
using children_atom = caf::atom_constant<caf::atom("children")>;   // -> node, index: actors below
using summary_atom = caf::atom_constant<caf::atom("summary")>;     // console -> index: totals
using files_atom = caf::atom_constant<caf::atom("files")>;         // console -> index: records
using ignored_atom = caf::atom_constant<caf::atom("ignored")>;     // console -> index: on disk
using conflicts_atom = caf::atom_constant<caf::atom("conflicts")>; // console -> index
using errors_atom = caf::atom_constant<caf::atom("errors")>;       // console -> node: last errors
using ask_atom = caf::atom_constant<caf::atom("ask")>;             // console server -> console
using netsnap_atom = caf::atom_constant<caf::atom("netsnap")>; // KJ -> console, index: peer stats
using timeout_atom = caf::atom_constant<caf::atom("timeout")>; // console -> itself
using found_atom = caf::atom_constant<caf::atom("found")>;     // Avahi -> discovery
using lost_atom = caf::atom_constant<caf::atom("lost")>;       // Avahi -> discovery
using unwatched_atom = caf::atom_constant<caf::atom("unwatched")>;   // watcher -> index: rescan
using have_atom = caf::atom_constant<caf::atom("have")>;             // a peer asks what we hold
using have_reply_atom = caf::atom_constant<caf::atom("have_reply")>; // KJ -> transfer: an answer
using unread_atom = caf::atom_constant<caf::atom("unread")>;         // index -> itself: look again
using ignores_atom = caf::atom_constant<caf::atom("ignores")>;       // libuv -> index: reloaded
using db_tick_atom = caf::atom_constant<caf::atom("db_tick")>;       // index -> itself: store fault
using versions_atom = caf::atom_constant<caf::atom("versions")>;     // console -> index: list
using clean_versions_atom = caf::atom_constant<caf::atom("cleanvers")>; // index -> itself
using restore_atom = caf::atom_constant<caf::atom("restore")>;          // console -> index
using pause_atom = caf::atom_constant<caf::atom("pause")>;              // console -> index: user's
using suspend_atom = caf::atom_constant<caf::atom("suspend")>;          // index -> transfer: pause
using mode_list_atom = caf::atom_constant<caf::atom("modelist")>;       // console -> index
using mode_act_atom = caf::atom_constant<caf::atom("modeact")>;         // console -> index

// The error a transfer stopped by the user's pause reports: not a failure (no backoff).
inline constexpr const char* transfer_paused = "paused";

// What every actor of one node shares; immutable after start.
struct node_context {
  io::folder* folder = nullptr;
  std::string state_dir; // absolute
  std::string marker;    // absolute path whose absence halts the folder (DESIGN.md §2)
  // state_dir/tmp, opened and checked at start; every temp file goes through it
  const io::tmp_dir* tmp = nullptr;
  // What transfers and uploads read and write: the folder and tmp above on disk
  // (io::disk_space), or all in memory in the actor tests (io::memory_space).
  const io::file_space* files = nullptr;
  // Actors that block on files (index, scanner, transfers, uploads) get a thread each; false
  // runs them on the scheduler, for the actor tests under CAF's test coordinator.
  bool detach_io = true;
  core::device_id self{};
  core::short_id self_short = 0;
  rpc::transport* net = nullptr; // rpc::network in a node, a fake in tests/actor
  const io::fs_watcher* fs = nullptr;        // for its watch count (thread-safe)
  const io::ignore_rules* ignores = nullptr; // .cascadeignore (thread-safe; null: none)
  core::partial_files* partials = nullptr;   // temp files of transfers (thread-safe)
  std::size_t max_transfers = 4;             // transfer slots: uploads, offers and pulls at once
  // DIR/.cascade/versions, where peers' deletions and overwrites are kept; nullptr: off.
  io::versions_dir* versions = nullptr;
  std::int64_t keep_versions_s = 0; // versions older than this are removed
  // The cap on all versions' bytes (0: none); nullopt: 10% of the folder's indexed bytes.
  std::optional<std::uint64_t> versions_cap;
  // --mode (issue 14.3): stored in the index database when given; unset: the stored one.
  std::optional<core::folder_mode> mode;
};

// A file the transfer actor has finished (or failed) writing into the state directory.
struct transfer_result {
  core::file_record record;
  std::string tmp_path;
  std::string error; // empty on success
  std::uint64_t bytes_fetched = 0;
  std::uint64_t bytes_copied = 0;
  std::size_t chunks_held = 0; // verified in tmp_path (kept for a retry when it failed)
  std::optional<core::device_id> bad_source; // a peer that sent bytes not matching the record
};

// Everything a transfer needs to start.
// Where a file goes next in the push cascade (DESIGN.md §4): the chain still to serve, the
// devices that have or get it, and the sessions this node could push to.
struct relay_plan {
  std::vector<core::device_id> rest;
  std::vector<core::device_id> visited; // includes this node
  std::vector<std::pair<core::device_id, rpc::session_id>> peers;
};

// What the index knew of a local file when a transfer was planned: chunks copied from it are
// trusted (not hashed again) while it still is exactly that file (inode, size, mtime).
struct source_stamp {
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

struct transfer_job {
  core::file_record record;
  // Pushed: the upstream. Pulled: the peer that announced the version (presumed to hold it
  // whole if it does not answer the have query), 0 if it is not connected.
  rpc::session_id session = 0;
  std::vector<core::chunk_copy> copies;
  std::map<std::string, source_stamp> trusted; // by source path (files of the folder only)
  std::vector<std::size_t> missing;
  std::string tmp_path;
  // Pushed to us (an accepted offer): the chunks arrive on their own; relay them onward.
  std::optional<rpc::call_id> offer_call;
  relay_plan relay;
  // Resumed: the chunks of tmp_path an earlier attempt verified (sized like record.chunks).
  std::vector<bool> verified;
  // Pulled: every connected peer, asked what it holds (Peer.have) before the fetches start.
  std::vector<std::pair<core::device_id, rpc::session_id>> sources;
  // Sources that sent bytes not matching the record for this file: asked only for the rest.
  std::set<core::device_id> suspects;
};

} // namespace cascade::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cascade::io::watch_event>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cascade::rpc::wire_entry>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cascade::rpc::piece>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::optional<cascade::io::hashed_file>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::rpc::session_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::actors::transfer_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::core::device_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::io::mdns_service)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::rpc::wire_entry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cascade::core::device_id>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::core::actor_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::core::index_summary)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::core::console_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cascade::core::file_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cascade::core::conflict_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cascade::core::version_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cascade::core::peer_status>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<std::int64_t>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::core::version_vector)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::rpc::have_answer)
namespace cascade::actors {
using device_names = std::map<core::short_id, std::string>;
using device_errors = std::vector<std::pair<core::device_id, std::string>>;
// Where the console actor sends the answer to one question (ask): the console server's reply
// object, a KJ cross-thread promise fulfilled from any thread (rpc/console_handlers.cpp). A
// value with a shared pointer, not a closure: messages carry data only.
struct console_reply_to {
  std::shared_ptr<rpc::console_reply> reply;
  void operator()(core::console_answer a) const { reply->fulfil(std::move(a)); }
};
} // namespace cascade::actors
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::actors::device_names)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::actors::device_errors)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::actors::console_reply_to)

namespace cascade::actors {

// --- typed interfaces: every message an actor of a node takes, and what it answers ---
// CAF checks each at compile time: a behaviour handles exactly its interface, and every send,
// request and anon_send matches one of the receiver's signatures (argument types exactly: no
// implicit conversion, e.g. std::size_t is not int). Messages an actor sends itself (ticks,
// retries) are part of its interface too.

// status() -> actor_status: every actor answers it (the console's `status`, `actors`, `top`).
using status_if = caf::replies_to<status_atom>::with<core::actor_status>;
// Any actor, as the console asks it: every interface below converts to this one.
using status_actor = caf::typed_actor<status_if>;
// children() -> the actors below (the console asks each for its status).
using children_if = caf::replies_to<children_atom>::with<std::vector<status_actor>>;
using parent_actor = caf::typed_actor<children_if>;

} // namespace cascade::actors
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<cascade::actors::status_actor>)
namespace cascade::actors {

// The scanner (detached: it reads whole files). hash(path) is answered with a message back to
// the sender: hashed(path, result), nullopt if the file could not be read.
using scanner_actor =
    caf::typed_actor<caf::replies_to<hash_atom, std::string>::with<hashed_atom, std::string,
                                                                   std::optional<io::hashed_file>>,
                     status_if>;

// What the watcher sends the index (tests/actor stands in for the index with this alone):
//  scan(paths, seen_at): look at paths, seen_at the wall-clock ns of each one's first event;
//  rescan(): walk everything (the kernel's queue overflowed);
//  unwatched(roots): trees without inotify watches, walked periodically.
using scan_sink_actor =
    caf::typed_actor<caf::reacts_to<scan_atom, std::vector<std::string>, std::vector<std::int64_t>>,
                     caf::reacts_to<rescan_atom>,
                     caf::reacts_to<unwatched_atom, std::vector<std::string>>>;

// The watcher: fs_events(events), overflow() and unwatched(roots) from the libuv thread;
// tick() from itself, when the next coalesced path is due.
using watcher_actor = caf::typed_actor<
    caf::reacts_to<fs_events_atom, std::vector<io::watch_event>>, caf::reacts_to<overflow_atom>,
    caf::reacts_to<unwatched_atom, std::vector<std::string>>, caf::reacts_to<tick_atom>, status_if>;

// The owner of a push downstream (relay.hpp): the network's answers about the push, posted by
// its push_observer from the network thread:
//  ds_answer(accepted): the peer took the offer or declined it;
//  ds_sent(frames): frames left for the peer (room for more);
//  ds_failed(error): the push broke.
using push_owner_actor = caf::typed_actor<caf::reacts_to<ds_answer_atom, bool>,
                                          caf::reacts_to<ds_sent_atom, std::size_t>,
                                          caf::reacts_to<ds_failed_atom, std::string>>;

// An upload: the source of a push cascade, driven by the network's answers and by the index's
// ds_tick() every second (judge the peer's pace even when nothing comes back from it).
// No timer of its own: a delayed message holds its actor, and so a detached actor's thread,
// until it is due.
using upload_actor = push_owner_actor::extend<caf::reacts_to<ds_tick_atom>, status_if>;

// A transfer: what the downstream takes, and from the network thread
//  pieces(stream, pieces) / done(stream, error): a fetch's or the offer's frames and its end;
//  have_reply(source, round, answer): what a peer holds of the version (pull rounds);
// from the index suspend(): the user's pause (chunks kept); from itself round() (the next pull
// round) and ds_tick() (judge the downstream's pace).
using transfer_actor = push_owner_actor::extend<
    caf::reacts_to<pieces_atom, std::size_t, std::vector<rpc::piece>>,
    caf::reacts_to<done_atom, std::size_t, std::string>,
    caf::reacts_to<have_reply_atom, std::size_t, std::size_t, rpc::have_answer>,
    caf::reacts_to<round_atom>, caf::reacts_to<suspend_atom>, caf::reacts_to<ds_tick_atom>,
    status_if>;

// A peer (one per session):
//  subscribe(epoch, from): the peer asks for our records from `from` (supervisor);
//  changed(): the index has new records (index; from itself after an empty batch);
//  sent(ok, need_full, had_deltas, last, round): the network's answer to a batch we sent;
//  update(call, entries, from, last): the peer's records (supervisor), answered through the
//  network;
//  down(): the session ended (index): the actor quits.
using peer_actor = caf::typed_actor<
    caf::reacts_to<subscribe_atom, std::uint64_t, std::uint64_t>, caf::reacts_to<changed_atom>,
    caf::reacts_to<sent_atom, bool, bool, bool, std::uint64_t, std::uint64_t>,
    caf::reacts_to<update_atom, rpc::call_id, std::vector<rpc::wire_entry>, std::uint64_t,
                   std::uint64_t>,
    caf::reacts_to<down_atom>, status_if>;

// The index (detached: it owns SQLite and applies changes to disk). Besides scan_sink_actor:
//  scan(paths): look at paths (no first-event times); ignores(): .cascadeignore changed;
//  hashed(path, result): a scanner result;
//  up(info, peer) / down(session): sessions, so transfers know whom to fetch from;
//  update(session, entries, from, last) -> (recorded, need_full): records from a peer, decided
//  and applied; not recorded when `from` is above what we read of the peer (a batch pipelined
//  behind one we refused); need_full when a delta's base is missing;
//  get(from, device, deltas) -> (entries, last): our records for a peer;
//  progress(device) -> (epoch, seq): how far we read a peer's index;
//  finished(result): a transfer ended;
//  offer(session, call, entry, rest, visited): a peer offers to push a file (answered through
//  the network); have(session, call, path, version): a peer asks what we hold of a version;
//  netsnap(rows): the network's peer statistics (link rates for relay plans);
//  from itself: installs(), flush() (held deletions), unread(), db_tick(), retry() (transfers
//  due), clean_versions() (old versions: at start, then hourly), ds_tick() (every second while
//  uploads run: each is told to judge its peer's pace);
//  for the console: summary() -> index_summary; children() -> transfers and uploads;
//  files(glob) -> (file_infos, truncated, device names); ignored(glob) -> (paths, truncated):
//  what the ignore patterns hide on disk; conflicts() -> conflict_infos; versions(glob) ->
//  version_infos; restore(path, time) -> (message, error); pause(on) -> (message, error): the
//  user's pause (true) or resume (false), kept in the database; mode_list(local, glob) ->
//  (paths, changes, truncated): out-of-sync (false), local-changes (true); mode_act(revert) ->
//  (message, error): override (false) or revert (true); rescan_path(path) -> (scanned,
//  changes, hashing, error): walk path ("" everything).
using index_actor = scan_sink_actor::extend<
    caf::reacts_to<scan_atom, std::vector<std::string>>, caf::reacts_to<ignores_atom>,
    caf::reacts_to<hashed_atom, std::string, std::optional<io::hashed_file>>,
    caf::reacts_to<up_atom, rpc::session_info, peer_actor>,
    caf::reacts_to<down_atom, rpc::session_id>,
    caf::replies_to<update_atom, rpc::session_id, std::vector<rpc::wire_entry>, std::uint64_t,
                    std::uint64_t>::with<bool, bool>,
    caf::replies_to<get_atom, std::uint64_t, core::device_id,
                    bool>::with<std::vector<rpc::wire_entry>, std::uint64_t>,
    caf::replies_to<progress_atom, core::device_id>::with<std::uint64_t, std::uint64_t>,
    caf::reacts_to<finished_atom, transfer_result>,
    caf::reacts_to<offer_atom, rpc::session_id, rpc::call_id, rpc::wire_entry,
                   std::vector<core::device_id>, std::vector<core::device_id>>,
    caf::reacts_to<have_atom, rpc::session_id, rpc::call_id, std::string, core::version_vector>,
    caf::reacts_to<netsnap_atom, std::vector<core::peer_status>>, caf::reacts_to<installs_atom>,
    caf::reacts_to<flush_atom>, caf::reacts_to<unread_atom>, caf::reacts_to<db_tick_atom>,
    caf::reacts_to<retry_atom>, caf::reacts_to<clean_versions_atom>, caf::reacts_to<ds_tick_atom>,
    status_if,
    caf::replies_to<summary_atom>::with<core::index_summary>, children_if,
    caf::replies_to<files_atom, std::string>::with<std::vector<core::file_info>, bool,
                                                   device_names>,
    caf::replies_to<ignored_atom, std::string>::with<std::vector<std::string>, bool>,
    caf::replies_to<conflicts_atom>::with<std::vector<core::conflict_info>>,
    caf::replies_to<versions_atom, std::string>::with<std::vector<core::version_info>>,
    caf::replies_to<restore_atom, std::string, std::string>::with<std::string, std::string>,
    caf::replies_to<pause_atom, bool>::with<std::string, std::string>,
    caf::replies_to<mode_list_atom, bool, std::string>::with<std::vector<std::string>,
                                                             std::vector<std::string>, bool>,
    caf::replies_to<mode_act_atom, bool>::with<std::string, std::string>,
    caf::replies_to<rescan_path_atom, std::string>::with<std::uint64_t, std::uint64_t,
                                                         std::uint64_t, std::string>>;

// The supervisor: the books of the sessions. up(info, peer) / down(session, reason) from the
//  network's listener (which routes everything else straight to the peer actor or the index);
//  for the console children() -> peer actors, errors() -> why each device's last session ended.
using supervisor_actor = caf::typed_actor<
    caf::reacts_to<up_atom, rpc::session_info, peer_actor>,
    caf::reacts_to<down_atom, rpc::session_id, std::string>, status_if, children_if,
    caf::replies_to<errors_atom>::with<device_errors>>;

// Discovery: found(service) and lost(name) from Avahi's thread.
using discovery_actor = caf::typed_actor<caf::reacts_to<found_atom, io::mdns_service>,
                                         caf::reacts_to<lost_atom, std::string>, status_if>;

// The console: ask(query, reply) from the console thread; netsnap(id, rows) from the network
// thread (a sweep's peer statistics); timeout(id) from itself (the sweep goes on without them).
using console_actor =
    caf::typed_actor<caf::reacts_to<ask_atom, core::console_query, console_reply_to>,
                     caf::reacts_to<netsnap_atom, std::uint64_t, std::vector<core::peer_status>>,
                     caf::reacts_to<timeout_atom, std::uint64_t>, status_if>;

} // namespace cascade::actors
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cascade::actors::peer_actor)

namespace cascade::actors {

// --- spawning ---

// The index. `store` is the index database, opened by the spawner (io::open_index_store in a
// node, core::memory_store in tests/actor); the index owns it from here on.
// Spawns an actor that blocks on files: detached (a thread of its own) on a node, on the
// scheduler when ctx.detach_io is false (the actor tests' coordinator).
template <class F, class... Ts>
auto spawn_io(caf::actor_system& sys, const node_context& ctx, F fun, Ts&&... xs) {
  if (!ctx.detach_io)
    return sys.spawn(fun, std::forward<Ts>(xs)...);
  return sys.spawn<caf::detached>(fun, std::forward<Ts>(xs)...);
}

index_actor spawn_index(caf::actor_system& sys, const node_context& ctx, scanner_actor scanner,
                        std::unique_ptr<core::index_store> store);

// Pushes a file we hold to the first peer of `relay` that takes it (the source of the push
// cascade; detached: it reads the file), then ends.
upload_actor spawn_upload(caf::actor_system& sys, const node_context& ctx, core::file_record record,
                          relay_plan relay);

// Hashes files on its own thread.
scanner_actor spawn_scanner(caf::actor_system& sys, const node_context& ctx);

// Coalesces file system events (core::coalescer) and sends scan(paths, seen_at) to the index,
// seen_at being the wall-clock time (ns) of each path's first event (propagation latency).
watcher_actor spawn_watcher(caf::actor_system& sys, scan_sink_actor index,
                            const node_context* ctx = nullptr);

// One per session: subscribes to the peer's index and streams ours to it.
peer_actor spawn_peer(caf::actor_system& sys, const node_context& ctx, rpc::session_info info,
                      index_actor index);

// One per in-flight file (detached): copies local chunks, asks every peer what it holds of the
// version (complete or partial), fetches the rest from all of them at once (core::plan_repair),
// verifies every chunk, writes the temp file, fsyncs, then reports finished(result) to the
// index. A pushed file instead arrives through the offer's sink and is relayed on.
transfer_actor spawn_transfer(caf::actor_system& sys, const node_context& ctx, transfer_job job,
                              index_actor index);

// Keeps the books of the sessions for the console: up(info, peer) and down(session, reason)
// from the listener; status, children (the peer actors) and errors (each device's last).
supervisor_actor spawn_supervisor(caf::actor_system& sys);

// Dials the peers of our group that mDNS finds (TXT id, g = group tag, v = protocol).
discovery_actor spawn_discovery(caf::actor_system& sys, const node_context& ctx,
                                std::string group_tag);

// The network's listener: spawns a peer actor per session and posts every callback straight to
// the actor that decides (a session's records to its peer actor; offers and `have` queries to
// the index), sessions coming and going also to the supervisor.
std::unique_ptr<rpc::listener> make_listener(caf::actor_system& sys, const node_context& ctx,
                                             supervisor_actor supervisor, index_actor index);

// The actors the console asks (discovery may be null).
struct console_refs {
  watcher_actor watcher;
  index_actor index;
  scanner_actor scanner;
  supervisor_actor supervisor;
  discovery_actor discovery;
};

// Answers the debug console: gathers every actor's status, the index's records and the
// network's peer statistics, each with a deadline, into one console_answer.
console_actor spawn_console(caf::actor_system& sys, const node_context& ctx, console_refs refs,
                            std::string group_tag);

// What the console server calls (on its own thread). `deny` records and applies a denial
// (app/deny.hpp and network::deny); it runs on the console thread, where blocking is fine.
struct console_hooks {
  std::function<void(const core::device_id&)> deny;
};
std::unique_ptr<rpc::console_backend> make_console_backend(console_actor console,
                                                           console_hooks hooks);

// What the guardian reports to (main): `stopping` is true once a clean stop began; `failed`
// is called at most once per failure, on a CAF thread, with one line naming the actor.
struct guard_hooks {
  virtual ~guard_hooks() = default;
  virtual bool stopping() const = 0;
  virtual void failed(const std::string& line) = 0;
};

// Monitors the named long-lived actors (null ones are skipped), each by the interface they all
// share; see guardian.cpp. The guardian itself takes no message (it only monitors), so it has
// no typed interface: a plain caf::actor.
caf::actor spawn_guardian(caf::actor_system& sys,
                          std::vector<std::pair<std::string, status_actor>> watched,
                          std::shared_ptr<guard_hooks> hooks);

} // namespace cascade::actors
