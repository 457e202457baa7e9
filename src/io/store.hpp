// The index database (SQLite, WAL): core::index_store on disk, what a node runs on. The index
// actor holds it as a core::index_store (open_index_store); only tests/io names the class.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/index_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace cascade::io {

// A store_error from an SQLite result code: a full disk or an I/O error may heal, anything else
// (a corrupt file, not a database) will not.
core::store_error sqlite_error(int code, const std::string& what);

class sqlite_store final : public core::index_store {
public:
  // Opens or creates the database. Throws std::runtime_error with SQLite's message on failure.
  // Every later failure throws core::store_error (sqlite_error).
  explicit sqlite_store(const std::string& path);
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  std::uint64_t epoch() const override { return epoch_; }
  std::uint64_t last_sequence() const override { return last_seq_; }

  void begin() override;
  void commit() override;
  void rollback() override;

  std::optional<core::stored_record> get(std::string_view path) override;
  void put(core::file_record& r, std::uint64_t inode, core::short_id received_from) override;

  std::vector<core::stored_record> since(std::uint64_t after, std::size_t limit) override;
  std::vector<std::string> live_paths() override;
  core::folder_totals totals() override;

  std::optional<core::local_source> find_chunk(const core::sha256_digest& hash) override;

  void put_needed(const core::file_record& r, const core::device_id& from) override;
  void remove_needed(std::string_view path) override;
  std::optional<core::needed_record> get_needed(std::string_view path) override;
  std::vector<core::needed_record> all_needed() override;

  std::vector<core::stored_record> matching(const std::string& glob, std::size_t limit) override;
  std::pair<std::uint64_t, std::uint64_t> needed_totals() override;
  std::vector<core::device_id> known_peers() override;

  std::pair<std::uint64_t, std::uint64_t> peer_progress(const core::device_id& peer) override;
  void set_peer_progress(const core::device_id& peer, std::uint64_t epoch,
                         std::uint64_t seq) override;
  bool user_paused() override { return meta("paused") == "1"; }
  void set_user_paused(bool on) override { set_meta("paused", on ? "1" : "0"); }

  // --- Folder modes (issue 14.3; store_modes.cpp) ---
  std::string folder_mode() override { return meta("mode"); }
  void set_folder_mode(const std::string& mode) override { set_meta("mode", mode); }
  void mark_local_change(std::string_view path) override;
  void unmark_local_change(std::string_view path) override;
  std::vector<std::string> local_changes() override;
  void forget(std::string_view path) override;

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

// The index database at `path` (sqlite_store): throws std::runtime_error if it cannot be opened.
std::unique_ptr<core::index_store> open_index_store(const std::string& path);

// Chunk list <-> blob (offset u64, length u32, sha256: 44 bytes each, little endian).
std::string encode_chunks(const std::vector<core::chunk>& chunks);
std::optional<std::vector<core::chunk>> decode_chunks(std::string_view blob);

} // namespace cascade::io
