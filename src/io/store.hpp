// The index database (SQLite, WAL): our file records, the chunks they hold, the records we
// still need from peers, and how far we have read each peer's index. Used by the index actor
// only (one writer); not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/chunk_delta.hpp"
#include "core/device_id.hpp"
#include "core/fetch_plan.hpp"
#include "core/record.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace cascade::io {

struct stored_record {
  core::file_record record;
  std::uint64_t inode = 0;          // of the file on disk when indexed
  core::short_id received_from = 0; // the peer it came from; 0 for a local change
  // The chunk list as an edit of the record this one replaced (big files only), for peers
  // that hold that record.
  std::optional<core::chunk_delta> delta;
};

struct needed_record {
  core::file_record record;
  core::device_id from{};
};

struct folder_totals {
  std::uint64_t files = 0, dirs = 0, bytes = 0, deleted = 0;
};

// A failed database operation, with SQLite's primary result code. A full disk or an I/O error
// may pass (space is freed): the caller rolls back and retries later. Anything else (a corrupt
// file, not a database) will not heal by waiting.
class store_error : public std::runtime_error {
public:
  store_error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }
  bool may_heal() const;
  // The file system under the state directory is full for data (a received file's temp file):
  // the same fault as a full database, healed the same way.
  static store_error no_space(const std::string& what);

private:
  int code_;
};

class store {
public:
  // Opens or creates the database. Throws std::runtime_error with SQLite's message on failure.
  // Every later failure throws store_error.
  explicit store(const std::string& path);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  std::uint64_t epoch() const { return epoch_; }
  std::uint64_t last_sequence() const { return last_seq_; }

  void begin();
  void commit();
  // Drops the open transaction, if any (begin() does it too for one left open by a failure),
  // and forgets the sequence numbers it handed out.
  void rollback();

  std::optional<stored_record> get(std::string_view path);
  // Gives the record the next sequence number and stores it (replacing the path's record).
  void put(core::file_record& r, std::uint64_t inode, core::short_id received_from);

  // Records with a sequence above `after`, ascending, at most `limit`.
  std::vector<stored_record> since(std::uint64_t after, std::size_t limit);
  // Every path with a live (not deleted) record, for the start-up scan.
  std::vector<std::string> live_paths();
  folder_totals totals();

  std::optional<core::local_source> find_chunk(const core::sha256_digest& hash);

  void put_needed(const core::file_record& r, const core::device_id& from);
  void remove_needed(std::string_view path);
  std::optional<needed_record> get_needed(std::string_view path);
  std::vector<needed_record> all_needed();

  // Records whose path matches an SQLite GLOB ('*', '?', '[...]'; '*' spans '/'), by path.
  std::vector<stored_record> matching(const std::string& glob, std::size_t limit);
  // Needed records and the bytes of their files.
  std::pair<std::uint64_t, std::uint64_t> needed_totals();
  // Every device whose index we have read (the peers table).
  std::vector<core::device_id> known_peers();

  // How far we have read a peer's index: (its epoch, last sequence), or (0, 0).
  std::pair<std::uint64_t, std::uint64_t> peer_progress(const core::device_id& peer);
  void set_peer_progress(const core::device_id& peer, std::uint64_t epoch, std::uint64_t seq);
  // The user's pause (console `pause`), kept across restarts.
  bool user_paused() { return meta("paused") == "1"; }
  void set_user_paused(bool on) { set_meta("paused", on ? "1" : "0"); }

  // --- Folder modes (issue 14.3; store_modes.cpp) ---
  // The mode last given with --mode ("send-only", ...), or empty.
  std::string folder_mode() { return meta("mode"); }
  void set_folder_mode(const std::string& mode) { set_meta("mode", mode); }
  // Receive-only: paths whose local change is recorded but not announced.
  void mark_local_change(std::string_view path);
  void unmark_local_change(std::string_view path);
  std::vector<std::string> local_changes();
  // Forgets a path's record and its chunks (revert: the group's record is read again).
  void forget(std::string_view path);

private:
  sqlite3_stmt* prepare(const char* sql);
  void exec(const char* sql);
  void step_done(sqlite3_stmt* s);
  std::string meta(const char* key);
  void set_meta(const char* key, const std::string& value);
  void add_column(const char* table, const char* column, const char* decl);
  [[noreturn]] void fail(int rc, const std::string& msg);
  void load_last_sequence();
  std::string delta_from_old(const core::file_record& r);

  sqlite3* db_ = nullptr;
  std::uint64_t epoch_ = 0;
  std::uint64_t last_seq_ = 0;
  std::uint64_t committed_seq_ = 0; // last_seq_ as of the last commit, for rollback()
  std::vector<sqlite3_stmt*> statements_;
};

// Chunk list <-> blob (offset u64, length u32, sha256: 44 bytes each, little endian).
std::string encode_chunks(const std::vector<core::chunk>& chunks);
std::optional<std::vector<core::chunk>> decode_chunks(std::string_view blob);

} // namespace cascade::io
