// The index store's in-memory twin, for tests: the same contract as the SQLite database
// (core/index_store.hpp; tests/io/test_store.cpp runs the same cases against both) in std
// containers, with hooks that make writes fail the way a full disk or a corrupt database makes
// SQLite's fail, so fault paths can be tested without a file system.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/index_store.hpp"

namespace cascade::core {

class memory_store final : public index_store {
public:
  explicit memory_store(std::uint64_t epoch = 1) : epoch_(epoch) {}

  std::uint64_t epoch() const override { return epoch_; }
  std::uint64_t last_sequence() const override { return last_seq_; }

  void begin() override;
  void commit() override;
  void rollback() override;

  std::optional<stored_record> get(std::string_view path) override;
  void put(file_record& r, std::uint64_t inode, short_id received_from) override;

  std::vector<stored_record> since(std::uint64_t after, std::size_t limit) override;
  std::vector<std::string> live_paths() override;
  folder_totals totals() override;

  std::optional<local_source> find_chunk(const sha256_digest& hash) override;

  void put_needed(const file_record& r, const device_id& from) override;
  void remove_needed(std::string_view path) override;
  std::optional<needed_record> get_needed(std::string_view path) override;
  std::vector<needed_record> all_needed() override;

  std::vector<stored_record> matching(const std::string& glob, std::size_t limit) override;
  std::pair<std::uint64_t, std::uint64_t> needed_totals() override;
  std::vector<device_id> known_peers() override;

  std::pair<std::uint64_t, std::uint64_t> peer_progress(const device_id& peer) override;
  void set_peer_progress(const device_id& peer, std::uint64_t epoch, std::uint64_t seq) override;
  bool user_paused() override;
  void set_user_paused(bool on) override;
  std::string folder_mode() override;
  void set_folder_mode(const std::string& mode) override;
  void mark_local_change(std::string_view path) override;
  void unmark_local_change(std::string_view path) override;
  std::vector<std::string> local_changes() override;
  void forget(std::string_view path) override;

  // Faults, as SQLite throws them. After `writes` more writes (put, put_needed, remove_needed,
  // set_peer_progress, set_user_paused, the mode writes, commit) work, every write throws
  // store_error until heal(): a disk that fills (may_heal) or a database found corrupt (not).
  void fail_after(std::size_t writes, bool may_heal = true);
  // Only the next commit throws (may_heal); it leaves the transaction open, the caller rolls
  // back.
  void fail_next_commit(bool may_heal = true);
  void heal();
  // The hooks are thread-safe (a test sets them while the index actor runs); the rest is not.

private:
  void check_write();
  void throw_fault(bool may_heal);
  // Every change goes through these: inside a transaction each records how to undo itself.
  void set_file(const std::string& path, std::optional<stored_record> row);
  // needed_, peers_ or meta_: sets (or erases, nullopt) one entry.
  template <class Map>
  void set_entry(Map& m, const typename Map::key_type& key,
                 std::optional<typename Map::mapped_type> value);
  std::optional<chunk_delta> delta_from_old(const file_record& r) const;

  std::uint64_t epoch_;
  std::uint64_t last_seq_ = 0;
  std::uint64_t committed_seq_ = 0; // last_seq_ as of the last commit, for rollback()
  bool in_transaction_ = false;
  std::vector<std::function<void()>> undo_; // newest last

  std::map<std::string, stored_record> files_; // by path
  std::map<std::uint64_t, std::string> by_seq_;
  // Chunks of live files: hash -> (path, offset), for find_chunk.
  std::map<sha256_digest, std::set<std::pair<std::string, std::uint64_t>>> chunks_;
  std::map<std::string, needed_record> needed_;
  std::map<device_id, std::pair<std::uint64_t, std::uint64_t>> peers_;
  std::map<std::string, std::string> meta_;
  std::map<std::string, bool> local_changes_; // receive-only's unannounced paths (always true)

  // The fault hooks may be set from a test's thread while an actor uses the store.
  std::mutex fault_mu_;
  std::optional<std::size_t> writes_before_fault_;
  bool fault_heals_ = true;
  std::optional<bool> commit_fault_; // may_heal of the next commit's fault
};

} // namespace cascade::core
