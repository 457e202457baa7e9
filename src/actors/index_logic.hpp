// The index actor's logic, shared by index_local.cpp (scans: local changes become records) and
// index_remote.cpp (records from peers become disk changes and transfers). Internal to actors/.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "actors/actors.hpp"
#include "core/deletion_hold.hpp"
#include "core/faults.hpp"
#include "core/fetch_plan.hpp"
#include "core/index_store.hpp"
#include "core/latency.hpp"
#include "core/modes.hpp"
#include "core/pull_schedule.hpp"
#include "core/transfer_slots.hpp"
#include "core/unique_queue.hpp"
#include "io/apply.hpp"
#include "io/ignore_rules.hpp"

namespace cascade::actors::index_detail {

// What became of a received file: in place, refused for safety (a symlink in its way), or
// failed for a cause that may pass (retried with a backoff).
enum class install_outcome { installed, refused, failed };

using core::inline_limit; // small files travel with their record
constexpr std::uint64_t hash_inline_limit = 1 << 20; // larger files go to the scanner
constexpr std::size_t batch_entries = 1000;
// Two batches are in flight per peer (actors/peer.cpp): 8 MiB of records and data at most.
// 8 MiB batches took no less time and 1.5x the RSS (tools/bench-load, 2026-12-07).
constexpr std::size_t batch_bytes = 4 << 20;
// How often running uploads judge their peer's pace (core::downstream_pace: its window is
// 1.5 s, its stall rule 30 s).
constexpr auto upload_tick = std::chrono::seconds(1);

struct session_entry {
  core::device_id device{};
  peer_actor peer;
};

struct index_state {
  static inline const char* name = "index";
  std::unique_ptr<core::index_store> db;
  std::unique_ptr<io::applier> disk;
  bool halted = false;
  std::map<rpc::session_id, session_entry> sessions;
  std::set<std::string> hashing;           // paths at the scanner
  std::set<std::string> rescan_after_hash; // changed again while being hashed
  std::map<std::string, transfer_actor> transfers;
  // Needed files and the local names they will copy chunks from (a rename): those names are
  // pinned (not deleted) from the moment the file is known to be needed until it is installed.
  std::map<std::string, std::vector<std::string>> transfer_sources; // path -> copy sources
  std::map<std::string, int> source_refs; // pinned paths: their deletions wait
  // Directories whose deletion found them not empty: tried again as their entries' deletions
  // settle (a directory rename spans batches of records).
  std::set<std::string> kept_dirs;
  core::unique_queue waiting; // needed paths without a transfer yet
  // The transfer slots (index_transfers.cpp): every upload, accepted offer and pull holds one
  // while its actor lives; the rest wait in FIFO order.
  core::transfer_slots slots{4};
  struct slot_job {
    bool upload = false;
    std::string path;
  };
  std::map<core::transfer_slots::ticket, slot_job> slot_jobs; // waiting for a slot
  // Running, monitored, and held here alone (the network holds them weakly): released when down.
  // Uploads and transfers alike, so by the interface they share.
  std::map<caf::actor_addr, std::pair<core::transfer_slots::ticket, status_actor>> slot_actors;
  std::map<std::string, core::transfer_slots::ticket> upload_tickets; // uploads waiting
  // Running uploads (also in slot_actors): ticked every second, since no timer of their own
  // may hold them (actors.hpp).
  std::map<caf::actor_addr, upload_actor> uploads;
  bool uploads_ticking = false; // a ds_tick to ourselves is on its way
  std::set<std::string> pull_queued;                                  // pulls waiting
  // When each waiting path may be pulled: the grace after an announcement (a push usually
  // arrives first) and the backoff of failed transfers and installs (core::pull_schedule).
  core::pull_schedule pulls;
  // Peers that sent bad bytes for a path: its next pulls ask them only for what no one else has.
  std::map<std::string, std::set<core::device_id>> suspects;
  std::vector<transfer_result> finished; // reported, applied by the next flush_finished
  bool finished_flush_scheduled = false;
  // Local deletions wait for a quiet moment (longer in a burst: core::deletion_hold) and a
  // marker check (an `rm -rf` of the whole folder removes files before it reaches the marker:
  // none of that may propagate).
  core::deletion_hold deletes;
  bool delete_flush_scheduled = false;
  // For the console (console_index.cpp): when the watcher first saw each path change (wall
  // ns), and how long remote changes took from their source's watcher to disk here.
  std::map<std::string, std::int64_t> seen_at;
  core::latency_tracker latency;
  std::map<core::device_id, core::latency_tracker> latency_by_peer;
  std::vector<caf::weak_actor_ptr> relays; // uploads and pushed transfers (they end on their own)
  // What we know of each peer's link for relay planning: the fastest rate seen either way
  // (network::snapshot, asked for at most once a second when an upload starts).
  std::map<core::device_id, double> link_rates;
  std::chrono::steady_clock::time_point last_snapshot{};
  // A store fault that may pass (a full disk, issue 12; index_fault.cpp): the transaction is
  // rolled back, writes pause until a retry (1 s doubling to 30 s, or at once when space comes
  // back), and what was not committed is done again: peers are asked from their committed
  // progress, the folder is rescanned, needed records are fetched again.
  core::retry_backoff db_retry;
  bool db_paused = false;             // writes wait for the next retry round
  std::int64_t db_resumed_ns = 0;     // steady: the last retry round began
  std::uint64_t db_free_at_fault = 0; // free bytes of the state directory's file system then
  bool db_tick_scheduled = false;
  // Remote records applied to disk in the open transaction, with their sender; kept as
  // `unrecorded` if a fault rolls it back, so that the rescan records the file as that record
  // instead of as a local change.
  std::map<std::string, std::pair<core::file_record, core::short_id>> applied_uncommitted;
  std::map<std::string, std::pair<core::file_record, core::short_id>> unrecorded;
  // What is wrong now, for the console's `errors` and `status` (cleared when it heals).
  core::fault_board faults;
  std::map<std::string, int> unreadable; // local files we cannot read -> errno
  bool unreadable_retry_scheduled = false;
  // The user's pause (console `pause`, index_pause.cpp; kept in the database's meta table): no
  // peer's records applied, none of ours sent, no transfer runs; local changes are recorded.
  bool user_paused = false;
  // The folder mode (index_modes.cpp) and, in receive-only, the paths whose local change is
  // recorded but not announced (also in the database's local_changes table).
  core::folder_mode mode = core::folder_mode::send_receive;
  std::set<std::string> local_changes;
  std::uint64_t versions_bytes = 0; // all versions, as of the last clean-up plus those kept since
};

using self_ptr = index_actor::stateful_pointer<index_state>;

// Answers as the index's interface (actors.hpp) declares them.
using message_reply = std::tuple<std::string, std::string>; // (message, error)
using updates_reply = std::tuple<std::vector<rpc::wire_entry>, std::uint64_t>;
using files_reply = std::tuple<std::vector<core::file_info>, bool, device_names>;
using paths_reply = std::tuple<std::vector<std::string>, bool>;
using mode_paths_reply = std::tuple<std::vector<std::string>, std::vector<std::string>, bool>;
using rescan_reply = std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::string>;

// True if `data` (the whole file) still has the record's chunk hashes.
bool chunks_match(const core::file_record& r, std::span<const std::uint8_t> data);
// True if the file on disk is what the index recorded (size, mtime, mode, inode).
bool matches(const core::stored_record& s, const io::local_stat& st);

class index_logic {
public:
  index_logic(self_ptr self, const node_context* ctx, scanner_actor scanner)
      : self_(self), ctx_(ctx), scanner_(std::move(scanner)) {}

  index_state& st() { return self_->state; }

  // The actor system's steady clock in ns (the `now` of the pure core:: helpers): the test
  // coordinator's in the actor tests, so time moves only when a test moves it.
  std::int64_t steady_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               self_->clock().now().time_since_epoch())
        .count();
  }

  // Renames reach the disk before the index says they happened.
  void commit() {
    st().disk->sync_dirs();
    db().commit();
    st().applied_uncommitted.clear();
    note_versions();
  }
  core::index_store& db() { return *st().db; }

  // The folder marker (DESIGN.md §2): without it, we stop rather than delete everything.
  bool check_marker();
  // Records a local change (bumping our counter) and tells the peers.
  void commit_local(core::file_record r, std::uint64_t inode, const core::stored_record* old);
  void mark_deleted(const core::stored_record& old);
  // Looks at one path on disk and records what changed.
  void check_path(const std::string& path);
  void hold_delete(const std::string& path);
  void hold_gone_entries(const std::string& dir);
  void flush_deletes();
  // True if a due deletion may be the old name of a file being hashed (a rename).
  bool deletions_wait_for_hashes();
  // A hash result: recorded only if the file did not change while it was read.
  void commit_hashed(const std::string& path, const std::optional<io::hashed_file>& h,
                     const core::stored_record* old);
  void on_hashed(const std::string& path, const std::optional<io::hashed_file>& h);
  void scan(const std::vector<std::string>& paths);
  // Walks the whole folder and every indexed path (start-up, or after a watcher overflow).
  void rescan();
  void notify_peers();
  void tick_uploads(); // ds_tick: every second while uploads run, each judges its peer
  // Our records above `from` for a peer, skipping those it sent us itself; a big file's chunk
  // list as a delta of the record it replaced when `deltas`.
  updates_reply get_updates(std::uint64_t from, const core::device_id& device, bool deltas);
  std::optional<rpc::session_id> session_of(const core::device_id& d);
  // Records from a peer, its sequences (from, last]: stored as needed, then decided and applied.
  // Refused when `from` is above what we have read of the peer: a batch the peer pipelined
  // behind one we refused or answered need_full, which it sends again.
  enum class update_outcome { refused, recorded, need_full };
  update_outcome on_update(rpc::session_id s, std::vector<rpc::wire_entry>& entries,
                           std::uint64_t from, std::uint64_t last);
  // Rebuilds a delta entry's chunk list from the base version we hold (our record or the one we
  // still need); false if we hold neither.
  bool resolve_delta(rpc::wire_entry& e, const core::stored_record* local);
  std::uint64_t sessions_epoch(rpc::session_id s) { return epochs_[s]; }
  void set_epoch(rpc::session_id s, std::uint64_t e) { epochs_[s] = e; }

  // True if the disk is what `local` says (a deletion: nothing there).
  bool disk_as_indexed(const core::stored_record& local);
  // Takes a winning record that the disk already matches without touching the file.
  void adopt(const core::stored_record& local, const core::file_record& remote,
             const core::device_id& from);
  // Small files of one batch: written, synced once, renamed, committed.
  void apply_inline(std::vector<std::pair<core::file_record, std::string>>& files);
  // Decides a needed record again and applies it (or queues its transfer).
  void process_needed(const std::string& path);
  // The local side must be indexed as it is on disk before a remote version replaces it;
  // otherwise an unscanned local edit would be lost. A conflict moves our copy aside first.
  bool ready_to_apply(const core::file_record& remote);
  install_outcome install(core::file_record r, const std::string& tmp); // failures logged
  void retry_later(const std::string& path);
  // A directory, symlink or deletion could not be applied: retried like a file unless refused.
  void apply_failed(const std::string& path);
  // A deletion the disk refused (`err`): a directory that is not empty waits for its entries.
  void remove_failed(const core::file_record& r, int err);
  // Pins the local names a needed file can copy from (their deletions wait for it).
  void pin_sources(const std::string& path, const core::file_record& r);
  // `path` is installed or no longer needed: its sources' held deletions may go.
  void unpin_sources(const std::string& path);
  // A remote record is now on disk: stored under its own version, never bumped.
  void settle(core::file_record r, std::uint64_t inode);
  std::string next_tmp();
  // Pulls whatever needed path is due, each in its turn for a transfer slot.
  void start_transfers();
  // A slot was granted to ticket `t`: starts its upload or pull (or gives the slot back).
  void launch(core::transfer_slots::ticket t);
  // Starts the waiters that free slots allow, oldest first.
  void grant_slots();
  // A monitored transfer or upload ended: its slot goes to the next waiter.
  void on_actor_down(const caf::actor_addr& a);
  void on_finished(transfer_result& r);
  // Applies every finished transfer reported since the last call, in one transaction.
  void flush_finished();
  void on_session_up(const rpc::session_info& info, peer_actor peer);
  void process_needed_later(const std::string& path);
  void on_session_down(rpc::session_id s);
  void on_offer(rpc::session_id s, rpc::call_id call, rpc::wire_entry& e,
                std::vector<core::device_id> rest, std::vector<core::device_id> visited);
  // A peer asks what we hold of a version (pull repair): the whole file, or a partial one.
  void on_have(rpc::session_id s, rpc::call_id call, const std::string& path,
               const core::version_vector& v);
  // Forgets the partial file of `path` (deleting it) unless it is of version `keep`.
  void drop_partial(const std::string& path, const core::version_vector* keep = nullptr);
  // Pushes a file we just recorded to our peers (the source of the cascade), once it has a
  // transfer slot.
  void start_upload(const core::file_record& r);
  // The plan a relay (or, without `upstream`, the source) continues (core::relay_scope_for).
  relay_plan relay_for(std::vector<core::device_id> rest, std::vector<core::device_id> visited,
                       std::optional<core::device_id> upstream);
  // Peer statistics: the peak rates become link knowledge for the next plan.
  void on_link_rates(const std::vector<core::peer_status>& rows);
  // Start-up: clean temp files of an earlier run, then retry what we still need.
  void start();

  // Ignore patterns (index_ignore.cpp). An ignored path is never recorded from disk, announced,
  // fetched, applied or deleted because of a peer; .cascadeignore is each node's own.
  bool ignored(const std::string& path, bool is_dir) const {
    return ctx_->ignores && ctx_->ignores->ignored(path, is_dir);
  }
  // The patterns changed: needed records of paths ignored now are dropped, the folder is
  // rescanned (paths no longer ignored are recorded as local files) and every peer is asked
  // for its whole index again (what it sent while a path was ignored was skipped).
  void on_ignores_changed();
  // A peer deleted a directory that still holds ignored entries here, and only those: the
  // directory stays and is announced again (its version now covers the deletion), so the
  // peers have it back, empty, instead of waiting for it forever. True if so.
  bool keep_dir_for_ignored(const core::file_record& deletion);

  // Runs one handler's work (index_fault.cpp). A store fault that may pass rolls back and
  // pauses writes until a retry; any other (a corrupt database) is rethrown: the guardian stops
  // the node with exit 1 and one line. False if the work was rolled back.
  template <class F> bool guarded(F&& work) {
    try {
      work();
    } catch (const core::store_error& e) {
      on_store_fault(e);
      return false;
    }
    return true;
  }
  // True while writes wait for a retry: handlers leave their work for it.
  bool paused() const { return self_->state.db_paused; }
  // The user's pause (index_pause.cpp): running transfers stop at a chunk boundary (their temp
  // files and verified chunks kept for the resume); resume asks every peer again from its
  // committed progress, sends ours and starts the needed transfers at once.
  bool user_paused() const { return self_->state.user_paused; }
  std::string set_user_pause(bool on);
  // The once-a-second check while the store fails: retries when due or when space came back,
  // and declares the fault healed after a retry round without a new fault for 3 s (not at the
  // first write that works: a small one may fit while a peer's batch does not).
  void db_tick();
  // A failed install or an unreadable local file, for the console (counted, the last named).
  void note_install_failure(const std::string& path, int err);
  void note_install_ok();
  // A local file that exists but cannot be read (no permission): warned once, shown in the
  // console, looked at again every few seconds until it can be read and synced.
  void check_readable(const std::string& path);
  void readable_again(const std::string& path);
  void retry_unreadable();
  // Versions (index_versions.cpp): removes those older than --keep-versions, then the oldest
  // over the cap (at start, hourly, and when new versions pass the cap).
  void clean_versions();
  // Counts the versions the applier kept since the last call; cleans up when over the cap.
  void note_versions();

  // Folder modes (index_modes.cpp; issue 14.3). At start: the mode given (stored) or the stored
  // one; leaving receive-only announces the local changes recorded meanwhile.
  void start_mode();
  // core::decide_in_mode in this folder's mode.
  core::mode_decision decide_here(const core::stored_record* local,
                                  const core::file_record& remote);
  // True if a needed record stays needed without being applied (send-only, the group differs).
  bool held(const core::file_record& needed);
  // A local change was recorded: in receive-only it is listed and never announced.
  void note_local_change(const std::string& path);
  // The path now holds the group's version (applied, adopted or reverted).
  void drop_local_change(const std::string& path);
  bool announced(const std::string& path) { return !st().local_changes.count(path); }
  // The console: out-of-sync (local false) or local-changes (true) -> (paths, changes, truncated).
  mode_paths_reply list_mode_paths(bool local, const std::string& glob);
  // The console: override (false) or revert (true) -> (message, error).
  message_reply mode_action(bool revert);

private:
  std::string override_group();
  std::string revert_local();
  void on_store_fault(const core::store_error& e);
  void on_store_ok();
  // The retry round: writes resume and everything not committed is done again.
  void db_resume();
  // What the retry round and the user's resume share: every peer is asked again from the
  // progress last committed, needed records are queued again, held results and deletions go.
  void catch_up();
  void schedule_db_tick();
  bool launch_pull(const std::string& path, core::transfer_slots::ticket t);
  bool launch_upload(const std::string& path, core::transfer_slots::ticket t);
  void hold_slot(const status_actor& a, core::transfer_slots::ticket t);
  void forget_pull(const std::string& path);
  void pin(const std::string& path, const std::vector<core::chunk_copy>& copies);
  // One finished transfer (inside flush_finished's transaction); true if it was installed.
  bool finish_one(transfer_result& r);

  self_ptr self_;
  const node_context* ctx_;
  scanner_actor scanner_;
  std::map<rpc::session_id, std::uint64_t> epochs_;
};

// Console support (console_index.cpp).
// The wall time the watcher saw `path` change (forgotten once taken), or now.
std::int64_t take_changed_at(index_state& st, const std::string& path);
// A remote record from `from` is on disk: one propagation latency sample.
void note_applied(index_state& st, const core::file_record& r, const core::device_id& from);
// An upload or relaying transfer the console should list while it lives.
void remember_relay(index_state& st, const status_actor& a);

} // namespace cascade::actors::index_detail
