#include "core/memory_store.hpp"

#include <mutex>
#include <utility>

#include "core/glob.hpp"

namespace cascade::core {

void memory_store::begin() {
  rollback(); // a batch that failed half-way: none of it counts
  in_transaction_ = true;
}

void memory_store::commit() {
  if (!in_transaction_)
    throw store_error(false, "index database: cannot commit - no transaction is active");
  std::optional<bool> fault;
  {
    std::lock_guard lock(fault_mu_);
    fault = std::exchange(commit_fault_, std::nullopt);
  }
  if (fault)
    throw_fault(*fault);
  check_write();
  undo_.clear();
  in_transaction_ = false;
  committed_seq_ = last_seq_;
}

void memory_store::rollback() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it)
    (*it)();
  undo_.clear();
  in_transaction_ = false;
  last_seq_ = committed_seq_;
}

void memory_store::fail_after(std::size_t writes, bool may_heal) {
  std::lock_guard lock(fault_mu_);
  writes_before_fault_ = writes;
  fault_heals_ = may_heal;
}

void memory_store::fail_next_commit(bool may_heal) {
  std::lock_guard lock(fault_mu_);
  commit_fault_ = may_heal;
}

void memory_store::heal() {
  std::lock_guard lock(fault_mu_);
  writes_before_fault_.reset();
  commit_fault_.reset();
}

void memory_store::throw_fault(bool may_heal) {
  // SQLite's words for SQLITE_FULL and SQLITE_CORRUPT.
  throw store_error(may_heal, may_heal ? "index database: database or disk is full (memory_store)"
                                       : "index database: database disk image is malformed "
                                         "(memory_store)");
}

void memory_store::check_write() {
  std::unique_lock lock(fault_mu_);
  if (!writes_before_fault_)
    return;
  if (*writes_before_fault_ == 0) {
    bool heals = fault_heals_;
    lock.unlock();
    throw_fault(heals);
  }
  --*writes_before_fault_;
}

void memory_store::set_file(const std::string& path, std::optional<stored_record> row) {
  auto it = files_.find(path);
  std::optional<stored_record> old;
  if (it != files_.end()) {
    old = std::move(it->second);
    files_.erase(it);
    by_seq_.erase(old->record.sequence);
    if (old->record.type == file_type::file && !old->record.deleted)
      for (auto& c : old->record.chunks) {
        auto at = chunks_.find(c.hash);
        if (at != chunks_.end() && at->second.erase({path, c.offset}) && at->second.empty())
          chunks_.erase(at);
      }
  }
  if (row) {
    auto& r = row->record;
    if (r.type == file_type::file && !r.deleted)
      for (auto& c : r.chunks)
        chunks_[c.hash].insert({path, c.offset});
    by_seq_[r.sequence] = path;
    files_[path] = std::move(*row);
  }
  if (in_transaction_)
    undo_.push_back([this, path, old = std::move(old)]() mutable {
      bool was = in_transaction_;
      in_transaction_ = false; // undoing records nothing
      set_file(path, std::move(old));
      in_transaction_ = was;
    });
}

template <class Map>
void memory_store::set_entry(Map& m, const typename Map::key_type& key,
                             std::optional<typename Map::mapped_type> value) {
  std::optional<typename Map::mapped_type> old;
  if (auto it = m.find(key); it != m.end()) {
    old = std::move(it->second);
    m.erase(it);
  }
  if (value)
    m.emplace(key, std::move(*value));
  if (in_transaction_)
    undo_.push_back([&m, key, old = std::move(old)]() mutable {
      if (old)
        m.insert_or_assign(key, std::move(*old));
      else
        m.erase(key);
    });
}

std::optional<stored_record> memory_store::get(std::string_view path) {
  auto it = files_.find(std::string(path));
  if (it == files_.end())
    return std::nullopt;
  return it->second;
}

// As the database does: against the live file of another version that this record replaces.
std::optional<chunk_delta> memory_store::delta_from_old(const file_record& r) const {
  if (r.type != file_type::file || r.deleted || r.chunks.size() < min_delta_chunks)
    return std::nullopt;
  auto it = files_.find(r.path);
  if (it == files_.end())
    return std::nullopt;
  auto& old = it->second.record;
  if (old.type != file_type::file || old.deleted || old.version == r.version)
    return std::nullopt;
  return make_delta(old.version, old.chunks, r.chunks);
}

void memory_store::put(file_record& r, std::uint64_t inode, short_id received_from) {
  r.sequence = ++last_seq_;
  check_write();
  stored_record row{r, inode, received_from, delta_from_old(r)};
  set_file(r.path, std::move(row));
  if (!in_transaction_)
    committed_seq_ = last_seq_; // no transaction open: it is committed already
}

std::vector<stored_record> memory_store::since(std::uint64_t after, std::size_t limit) {
  std::vector<stored_record> out;
  for (auto it = by_seq_.upper_bound(after); it != by_seq_.end() && out.size() < limit; ++it)
    out.push_back(files_.at(it->second));
  return out;
}

std::vector<std::string> memory_store::live_paths() {
  std::vector<std::string> out;
  for (auto& [path, row] : files_)
    if (!row.record.deleted)
      out.push_back(path);
  return out;
}

folder_totals memory_store::totals() {
  folder_totals t;
  for (auto& [path, row] : files_) {
    auto& r = row.record;
    if (r.deleted) {
      ++t.deleted;
      continue;
    }
    t.files += r.type == file_type::file;
    t.dirs += r.type == file_type::dir;
    t.bytes += r.size;
  }
  return t;
}

std::optional<local_source> memory_store::find_chunk(const sha256_digest& hash) {
  auto it = chunks_.find(hash);
  if (it == chunks_.end() || it->second.empty())
    return std::nullopt;
  auto& [path, offset] = *it->second.begin();
  return local_source{path, offset};
}

void memory_store::put_needed(const file_record& r, const device_id& from) {
  check_write();
  set_entry(needed_, r.path, needed_record{r, from});
}

void memory_store::remove_needed(std::string_view path) {
  check_write();
  set_entry(needed_, std::string(path), std::nullopt);
}

std::optional<needed_record> memory_store::get_needed(std::string_view path) {
  auto it = needed_.find(std::string(path));
  if (it == needed_.end())
    return std::nullopt;
  return it->second;
}

std::vector<needed_record> memory_store::all_needed() {
  std::vector<needed_record> out;
  for (auto& [path, n] : needed_)
    out.push_back(n);
  return out;
}

std::vector<stored_record> memory_store::matching(const std::string& glob, std::size_t limit) {
  std::vector<stored_record> out;
  for (auto it = files_.begin(); it != files_.end() && out.size() < limit; ++it)
    if (glob_match(glob, it->first))
      out.push_back(it->second);
  return out;
}

std::pair<std::uint64_t, std::uint64_t> memory_store::needed_totals() {
  std::uint64_t bytes = 0;
  for (auto& [path, n] : needed_)
    bytes += n.record.deleted ? 0 : n.record.size;
  return {needed_.size(), bytes};
}

std::vector<device_id> memory_store::known_peers() {
  std::vector<device_id> out;
  for (auto& [d, p] : peers_)
    out.push_back(d);
  return out;
}

std::pair<std::uint64_t, std::uint64_t> memory_store::peer_progress(const device_id& peer) {
  auto it = peers_.find(peer);
  return it == peers_.end() ? std::pair<std::uint64_t, std::uint64_t>{0, 0} : it->second;
}

void memory_store::set_peer_progress(const device_id& peer, std::uint64_t epoch,
                                     std::uint64_t seq) {
  check_write();
  set_entry(peers_, peer, std::pair{epoch, seq});
}

bool memory_store::user_paused() {
  auto it = meta_.find("paused");
  return it != meta_.end() && it->second == "1";
}

void memory_store::set_user_paused(bool on) {
  check_write();
  set_entry(meta_, std::string("paused"), std::string(on ? "1" : "0"));
}

std::string memory_store::folder_mode() {
  auto it = meta_.find("mode");
  return it == meta_.end() ? std::string() : it->second;
}

void memory_store::set_folder_mode(const std::string& mode) {
  check_write();
  set_entry(meta_, std::string("mode"), mode);
}

void memory_store::mark_local_change(std::string_view path) {
  check_write();
  set_entry(local_changes_, std::string(path), true);
}

void memory_store::unmark_local_change(std::string_view path) {
  check_write();
  set_entry(local_changes_, std::string(path), std::nullopt);
}

std::vector<std::string> memory_store::local_changes() {
  std::vector<std::string> out;
  for (auto& [path, on] : local_changes_)
    out.push_back(path);
  return out;
}

void memory_store::forget(std::string_view path) {
  check_write();
  set_file(std::string(path), std::nullopt);
}

} // namespace cascade::core
