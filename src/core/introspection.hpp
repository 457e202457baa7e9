// What a node tells its debug console (DESIGN.md §9): plain structs that actors fill, the
// network snapshots and the console server turns into Cap'n Proto (schema/console.capnp).
// Pure data, so that actors, rpc and app share them without seeing each other's libraries.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/device_id.hpp"
#include "core/faults.hpp"
#include "core/ignore.hpp"
#include "core/latency.hpp"
#include "core/record.hpp"
#include "core/versions.hpp"

namespace cascade::core {

// One in-flight file, as its transfer actor sees it.
struct transfer_status {
  std::string path;
  std::uint64_t size = 0;
  std::uint64_t fetched = 0;            // verified bytes received
  std::uint64_t copied = 0;             // bytes copied from local files
  double rate = 0;                      // received bytes/s over the last seconds
  std::uint64_t upstream_session = 0;   // the session it comes from (0: none)
  std::string upstream;                 // its device id, filled by whoever knows the session
  std::vector<std::string> downstreams; // devices it is relayed to
  std::int64_t started_ns = 0;          // wall clock
};

// Every actor answers `status` with this, about itself.
struct actor_status {
  std::string kind;          // watcher, index, scanner, discovery, node, peer, transfer, console
  std::string name;          // e.g. the peer's device id or the transfer's path
  std::string state;         // one line of the actor's own words
  std::uint64_t mailbox = 0; // messages waiting behind this answer
  bool answered = true;      // false: no answer in time (the actor is busy or gone)
  std::vector<std::pair<std::string, std::uint64_t>> counters; // named numbers, stable keys
  std::optional<transfer_status> transfer;                     // transfers only

  std::uint64_t counter(std::string_view key, std::uint64_t fallback = 0) const {
    for (auto& [k, v] : counters)
      if (k == key)
        return v;
    return fallback;
  }
};

inline actor_status status_of(std::string kind, std::string name, std::uint64_t mailbox) {
  actor_status s;
  s.kind = std::move(kind);
  s.name = std::move(name);
  s.mailbox = mailbox;
  return s;
}

// The index's view of the folder.
struct index_summary {
  std::uint64_t files = 0, dirs = 0, bytes = 0, deleted = 0;
  std::uint64_t sequence = 0, epoch = 0;
  std::uint64_t needed_files = 0, needed_bytes = 0; // remote versions not applied yet
  std::uint64_t transfers = 0, waiting = 0, hashing = 0, deletes_held = 0;
  bool halted = false;
  bool paused = false;       // by the user (console `pause`)
  std::string mode;          // the folder mode: send-receive, send-only, receive-only
  std::vector<fault> faults; // the index's current faults (a full disk, failed installs, ...)
  latency_summary latency;   // every record applied here
  std::vector<std::pair<device_id, latency_summary>> latency_by_peer; // by the sending peer
};

// One peer: a live session, a dial target, or a device whose session ended.
struct peer_status {
  std::uint64_t session = 0; // 0: not connected
  std::optional<device_id> device;
  std::string address; // host:port
  std::string found;   // "static", "discovered", "static+discovered" or "inbound"
  std::string state;   // "connected", "dialing" or "disconnected"
  bool outbound = false;
  std::int64_t rtt_ns = -1;                  // heartbeat round trip; -1 before the first
  std::uint64_t bytes_in = 0, bytes_out = 0; // on the wire (TLS included)
  double rate_in = 0, rate_out = 0;          // bytes/s over the last seconds
  std::int64_t connected_ns = 0;             // how long the session has been up
  std::string last_error;
  std::optional<latency_summary> latency; // records from this peer applied here
};

// One index record and what we know of who holds it.
struct file_info {
  file_record record;
  std::vector<std::string> has;      // devices known to hold this version (us first)
  std::vector<std::string> sent_to;  // connected peers we have sent the record to
  std::string received_from;         // empty: a local change
  std::optional<file_record> needed; // a remote version not applied yet
  std::string needed_from;
};

struct conflict_info {
  std::string path, original, device; // device: the short id in the name (the loser's)
  std::string time;                   // YYYYMMDD-HHMMSS (UTC) from the name
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

// Splits "dir/a.sync-conflict-20240102-030405-ABCDEFG.txt" into its parts; nullopt if the
// name is not a conflict copy.
std::optional<conflict_info> parse_conflict_name(std::string_view path);

// --- the console's questions and answers ---

enum class console_query_kind {
  status,
  peers,
  actors,
  files,
  conflicts,
  rescan,
  log_level,
  deny,
  versions,
  restore,
  ignores,
  ignored_files,
  pause,
  resume,
  out_of_sync,    // send-only: where the group differs (arg: glob)
  override_group, // send-only: our state over the group's
  local_changes,  // receive-only: what we changed and did not announce (arg: glob)
  revert_local    // receive-only: the group's state back
};

struct console_query {
  console_query_kind kind = console_query_kind::status;
  std::string arg; // files, versions, ignored_files: glob; rescan, restore: path; log_level: level;
                   // deny: id
  std::string arg2; // restore: the version's time (YYYYMMDD-HHMMSS), empty for the newest
};

struct node_status {
  std::string device_id, group, folder, state_dir;
  index_summary index;
  std::uint64_t watcher_pending = 0;
  std::uint64_t peers_connected = 0, peers_behind = 0; // behind: not sent everything yet
  bool in_sync = false;
  std::int64_t uptime_ns = 0;
  std::string log_level;
  std::vector<fault> faults; // every current fault of the node, oldest first
};

struct console_answer {
  std::string error; // non-empty: the command failed; the rest is unset
  std::string message;
  node_status status;
  std::vector<peer_status> peers;
  std::vector<actor_status> actors;
  std::vector<file_info> files;
  bool truncated = false;
  std::vector<conflict_info> conflicts;
  std::vector<version_info> versions;
  std::map<short_id, std::string> device_names; // version vector ids -> device ids we know
  // rescan: entries looked at, changes recorded, files still being hashed
  std::uint64_t scanned = 0, changes = 0, hashing = 0;
  std::string previous;                        // log_level: the level before
  std::vector<ignore_pattern> ignore_patterns; // ignores: the active patterns
  std::vector<std::string> ignore_warnings;
  std::vector<std::string> paths; // ignored_files, out_of_sync, local_changes (truncated too)
  std::vector<std::string> path_changes; // out_of_sync, local_changes: what differs, per path
};

} // namespace cascade::core
