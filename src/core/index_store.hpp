// The index's storage contract: our file records, the chunks they hold, the records we still
// need from peers, and how far we have read each peer's index. The index actor holds one and is
// its only writer (not thread-safe). Two implementations keep the same contract (the same cases
// in tests/io/test_store.cpp run against both): io's SQLite database (io/store.hpp), what a node
// runs on, and core::memory_store, its in-memory twin for tests.
//
// Transactions: writes between begin() and commit() count together or not at all. rollback()
// (and a begin() while one is open: a batch that failed half-way) drops every write since begin,
// and forgets the sequence numbers put() handed out since the last commit, so they are given
// again: no gap, no reuse. A write outside a transaction counts at once.
//
// Faults throw store_error (a full disk, a corrupt database); the caller rolls back.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/chunk_delta.hpp"
#include "core/device_id.hpp"
#include "core/fetch_plan.hpp"
#include "core/record.hpp"

namespace cascade::core {

struct stored_record {
  file_record record;
  std::uint64_t inode = 0;    // of the file on disk when indexed
  short_id received_from = 0; // the peer it came from; 0 for a local change
  // The chunk list as an edit of the record this one replaced (big files only), for peers
  // that hold that record.
  std::optional<chunk_delta> delta;
};

struct needed_record {
  file_record record;
  device_id from{};
};

struct folder_totals {
  std::uint64_t files = 0, dirs = 0, bytes = 0, deleted = 0;
};

// A failed store operation. One that may heal (a full disk, an I/O error: space is freed) is
// rolled back and retried later; any other (a corrupt file, not a database) will not heal by
// waiting. The message starts with "index database".
class store_error : public std::runtime_error {
public:
  store_error(bool may_heal, const std::string& what)
      : std::runtime_error(what), may_heal_(may_heal) {}
  bool may_heal() const { return may_heal_; }
  // The file system under the state directory is full for data (a received file's temp file):
  // the same fault as a full database, healed the same way.
  static store_error no_space(const std::string& what) { return store_error(true, what); }

private:
  bool may_heal_;
};

class index_store {
public:
  virtual ~index_store() = default;

  // A random number fixed when the store was created: peers that see it change read our whole
  // index again (a lost database restarts the sequence numbers).
  virtual std::uint64_t epoch() const = 0;
  virtual std::uint64_t last_sequence() const = 0;

  virtual void begin() = 0;
  // Throws store_error (that will not heal) without an open transaction.
  virtual void commit() = 0;
  // Drops the open transaction, if any, and forgets the sequence numbers it handed out.
  virtual void rollback() = 0;

  virtual std::optional<stored_record> get(std::string_view path) = 0;
  // Gives the record the next sequence number and stores it (replacing the path's record). A
  // big live file (at least min_delta_chunks chunks) that replaces a live file of another
  // version is stored with its chunk list as a delta of the replaced one, if that pays.
  virtual void put(file_record& r, std::uint64_t inode, short_id received_from) = 0;

  // Records with a sequence above `after`, ascending, at most `limit`.
  virtual std::vector<stored_record> since(std::uint64_t after, std::size_t limit) = 0;
  // Every path with a live (not deleted) record, for the start-up scan (in no set order).
  virtual std::vector<std::string> live_paths() = 0;
  virtual folder_totals totals() = 0;

  // Where a live file holds a chunk with this hash (any one, if several do).
  virtual std::optional<local_source> find_chunk(const sha256_digest& hash) = 0;

  virtual void put_needed(const file_record& r, const device_id& from) = 0;
  virtual void remove_needed(std::string_view path) = 0;
  virtual std::optional<needed_record> get_needed(std::string_view path) = 0;
  // In no set order.
  virtual std::vector<needed_record> all_needed() = 0;

  // Records whose path matches an SQLite GLOB ('*', '?', '[...]'; '*' spans '/'), by path
  // (bytewise), at most `limit`.
  virtual std::vector<stored_record> matching(const std::string& glob, std::size_t limit) = 0;
  // Needed records and the bytes of their files (0 for a deletion).
  virtual std::pair<std::uint64_t, std::uint64_t> needed_totals() = 0;
  // Every device whose index we have read (in no set order).
  virtual std::vector<device_id> known_peers() = 0;

  // How far we have read a peer's index: (its epoch, last sequence), or (0, 0).
  virtual std::pair<std::uint64_t, std::uint64_t> peer_progress(const device_id& peer) = 0;
  virtual void set_peer_progress(const device_id& peer, std::uint64_t epoch, std::uint64_t seq) = 0;
  // The user's pause (console `pause`), kept across restarts.
  virtual bool user_paused() = 0;
  virtual void set_user_paused(bool on) = 0;

  // --- Folder modes (issue 14.3) ---
  // The mode last given with --mode ("send-only", ...), or empty.
  virtual std::string folder_mode() = 0;
  virtual void set_folder_mode(const std::string& mode) = 0;
  // Receive-only: paths whose local change is recorded but not announced (by path).
  virtual void mark_local_change(std::string_view path) = 0;
  virtual void unmark_local_change(std::string_view path) = 0;
  virtual std::vector<std::string> local_changes() = 0;
  // Forgets a path's record and its chunks (revert: the group's record is read again).
  virtual void forget(std::string_view path) = 0;
};

} // namespace cascade::core
