// The index, local side: scans of the folder become versioned records.
#include <unistd.h>

#include <algorithm>

#include "actors/index_logic.hpp"
#include "core/fetch_plan.hpp"
#include "core/path.hpp"
#include "core/rules.hpp"
#include "io/log.hpp"

namespace cascade::actors::index_detail {

// True if `data` (the whole file) still has the record's chunk hashes.
bool chunks_match(const core::file_record& r, std::span<const std::uint8_t> data) {
  for (auto& c : r.chunks)
    if (c.offset + c.length > data.size() || io::sha256(data.subspan(c.offset, c.length)) != c.hash)
      return false;
  return true;
}

bool matches(const core::stored_record& s, const io::local_stat& st) {
  auto& r = s.record;
  if (r.deleted || r.type != st.type)
    return false;
  if (r.type == core::file_type::file)
    return r.size == st.size && r.mtime_ns == st.mtime_ns && r.mode == st.mode &&
           s.inode == st.inode;
  if (r.type == core::file_type::dir)
    return r.mode == st.mode;
  return r.mtime_ns == st.mtime_ns && s.inode == st.inode; // symlink
}

void index_logic::commit_local(core::file_record r, std::uint64_t inode,
                               const core::stored_record* old) {
  if (auto it = st().unrecorded.find(r.path); it != st().unrecorded.end()) {
    auto [remote, from] = std::move(it->second);
    st().unrecorded.erase(it);
    if (core::same_content(remote, r)) { // applied before a store fault rolled it back
      db().put(remote, inode, from);
      st().applied_uncommitted[remote.path] = {remote, from};
      return;
    }
  }
  if (old)
    r.version = old->record.version;
  r.version.bump(ctx_->self_short);
  r.modified_by = ctx_->self_short;
  r.changed_at_ns = take_changed_at(st(), r.path);
  db().put(r, inode, 0);
  note_local_change(r.path); // receive-only: recorded, never announced
  io::log_debug("local change " + r.path + (r.deleted ? " (deleted)" : ""));
  // A new file is pushed down the cascade at once; an edit of one the peers hold is pulled by
  // them, copying what they have (a push would send every byte again).
  if (r.type == core::file_type::file && !r.deleted && r.size > inline_limit && announced(r.path) &&
      core::worth_pushing(old ? &old->record : nullptr, r))
    start_upload(r);
  process_needed(r.path); // a remote record waiting for this path is now decided anew
}

void index_logic::mark_deleted(const core::stored_record& old) {
  core::file_record r;
  r.path = old.record.path;
  r.type = old.record.type;
  r.deleted = true;
  r.mtime_ns = old.record.mtime_ns;
  commit_local(std::move(r), 0, &old);
}

void index_logic::check_path(const std::string& path) {
  auto stored = db().get(path);
  auto lst = ctx_->folder->stat(path);
  // Ignored: its record (if any, from before) stays as it is and nothing goes out.
  if (ignored(path, lst ? lst->type == core::file_type::dir
                        : stored && stored->record.type == core::file_type::dir))
    return;
  if (!lst) {
    if (stored && !stored->record.deleted)
      hold_delete(path);
    return;
  }
  if (stored && !stored->record.deleted && stored->record.type == core::file_type::dir &&
      lst->type == core::file_type::dir && stored->inode != 0 && stored->inode != lst->inode) {
    hold_gone_entries(path);
    auto same = stored->record; // a new inode is no new version (a mode change is, below)
    db().put(same, lst->inode, stored->received_from);
    stored = db().get(path);
  }
  if (stored && matches(*stored, *lst))
    return;
  core::file_record r;
  r.path = path;
  r.type = lst->type;
  r.mode = lst->mode;
  r.mtime_ns = lst->mtime_ns;
  const core::stored_record* old = stored ? &*stored : nullptr;
  switch (lst->type) {
  case core::file_type::dir:
    r.mtime_ns = 0; // directory mtimes change with their entries; not synced
    if (stored && !stored->record.deleted && stored->record.type == core::file_type::dir &&
        stored->record.mode == r.mode)
      return;
    commit_local(std::move(r), lst->inode, old);
    return;
  case core::file_type::symlink: {
    auto target = ctx_->folder->read_link(path);
    if (!target)
      return;
    r.symlink_target = *target;
    if (stored && !stored->record.deleted && stored->record.type == r.type &&
        stored->record.symlink_target == r.symlink_target && stored->record.mtime_ns == r.mtime_ns)
      return;
    commit_local(std::move(r), lst->inode, old);
    return;
  }
  case core::file_type::file:
    if (lst->size > hash_inline_limit) {
      if (st().hashing.insert(path).second)
        self_->send(scanner_, hash_atom::value, path);
      else
        st().rescan_after_hash.insert(path);
      return;
    }
    commit_hashed(path, io::hash_file(*ctx_->folder, path), old);
    return;
  }
}

// A directory renamed away and made again under its name (a peer's file installed in it) is a
// new inode: the entries that went with the old one are deleted (the watcher reported only the
// directory's name, which exists).
void index_logic::hold_gone_entries(const std::string& dir) {
  for (auto& child : db().live_paths())
    if (child != dir && core::is_under(child, dir) && !ctx_->folder->stat(child) &&
        !ignored(child, false) && !ignored(child, true))
      hold_delete(child);
}

void index_logic::hold_delete(const std::string& path) {
  auto& s = st();
  s.deletes.add(path, steady_ns());
  if (!s.delete_flush_scheduled) {
    s.delete_flush_scheduled = true;
    self_->delayed_send(self_, std::chrono::nanoseconds(s.deletes.quiet_ns()), flush_atom::value);
  }
}

void index_logic::flush_deletes() {
  auto& s = st();
  s.delete_flush_scheduled = false;
  if (paused())
    return; // the retry round flushes them
  auto now = steady_ns();
  // A file being hashed may be a renamed file's new name: its creation goes out first
  // (on_hashed flushes once the hashes are done).
  auto due = s.deletes.due();
  bool hashes_pending = due && *due <= now && deletions_wait_for_hashes();
  auto paths = s.deletes.take_due(now, hashes_pending);
  if (paths.empty()) {
    if (auto next = s.deletes.next_check(now, hashes_pending)) { // the burst goes on
      s.delete_flush_scheduled = true;
      self_->delayed_send(self_, std::chrono::nanoseconds(std::max<std::int64_t>(*next - now, 1)),
                          flush_atom::value);
    }
    return;
  }
  if (!check_marker())
    return;
  db().begin();
  for (auto& path : paths) {
    auto stored = db().get(path);
    if (!stored || stored->record.deleted)
      continue; // already recorded
    // Back meanwhile (a peer's file installed in a directory renamed away recreates it): the
    // entries that went with it are deleted all the same.
    bool back = ctx_->folder->stat(path).has_value();
    if (back && stored->record.type != core::file_type::dir)
      continue;
    if (stored->record.type == core::file_type::dir) {
      // Deepest first: a peer removes a directory's contents before the directory itself.
      std::vector<std::string> gone;
      for (auto& child : db().live_paths())
        if (child != path && core::is_under(child, path) && !ignored(child, false))
          gone.push_back(child);
      std::stable_sort(gone.begin(), gone.end(),
                       [](auto& a, auto& b) { return core::depth(a) > core::depth(b); });
      for (auto& child : gone)
        if (auto c = db().get(child); c && !ctx_->folder->stat(child))
          mark_deleted(*c);
    }
    if (!back)
      mark_deleted(*stored);
  }
  commit();
  notify_peers();
}

bool index_logic::deletions_wait_for_hashes() {
  auto& s = st();
  std::set<std::uint64_t> hashing_sizes;
  for (auto& p : s.hashing)
    if (auto lst = ctx_->folder->stat(p); lst && lst->type == core::file_type::file)
      hashing_sizes.insert(lst->size);
  if (hashing_sizes.empty())
    return false;
  std::vector<std::uint64_t> deleted_sizes;
  std::vector<std::string> dirs;
  auto add = [&](const std::string& path) {
    auto stored = db().get(path);
    if (!stored || stored->record.deleted)
      return;
    if (stored->record.type == core::file_type::file)
      deleted_sizes.push_back(stored->record.size);
    else if (stored->record.type == core::file_type::dir)
      dirs.push_back(path);
  };
  for (auto& p : s.deletes.pending_paths())
    add(p);
  if (!dirs.empty())
    for (auto& child : db().live_paths())
      if (std::any_of(dirs.begin(), dirs.end(),
                      [&](auto& d) { return child != d && core::is_under(child, d); }))
        if (auto c = db().get(child); c && c->record.type == core::file_type::file)
          deleted_sizes.push_back(c->record.size);
  return core::may_be_renamed(deleted_sizes, hashing_sizes);
}

void index_logic::commit_hashed(const std::string& path, const std::optional<io::hashed_file>& h,
                                const core::stored_record* old) {
  if (!h) {
    check_readable(path); // vanished or not a file any more: its own event follows
    return;
  }
  readable_again(path);
  auto now = ctx_->folder->stat(path);
  if (!now || *now != h->before) {
    check_path(path); // changed while hashed: look again
    return;
  }
  core::file_record r;
  r.path = path;
  r.type = core::file_type::file;
  r.size = now->size;
  r.mtime_ns = now->mtime_ns;
  r.mode = now->mode;
  r.chunks = h->chunks;
  if (old && !old->record.deleted && core::same_content(old->record, r)) {
    // Only the inode changed (e.g. a rewrite with equal bytes and times): no new version.
    auto same = old->record;
    db().put(same, now->inode, old->received_from);
    return;
  }
  commit_local(std::move(r), now->inode, old);
}

void index_logic::on_hashed(const std::string& path, const std::optional<io::hashed_file>& h) {
  st().hashing.erase(path);
  if (st().halted || paused())
    return; // paused: the retry round's rescan hashes it again
  if (ignored(path, false))
    return; // ignored while it was hashed
  db().begin();
  if (st().rescan_after_hash.erase(path))
    check_path(path);
  else {
    auto stored = db().get(path);
    commit_hashed(path, h, stored ? &*stored : nullptr);
  }
  commit();
  notify_peers();
  if (st().hashing.empty() && st().deletes.pending() > 0)
    flush_deletes(); // deletions that waited for these hashes (a rename) may go now
}

void index_logic::scan(const std::vector<std::string>& paths) {
  if (paused() || !check_marker())
    return; // paused: the retry round rescans everything
  db().begin();
  for (auto& p : paths)
    if (core::validate_path(p) == core::path_error::ok)
      check_path(p);
  commit();
  notify_peers();
}

void index_logic::rescan() {
  if (!check_marker())
    return;
  auto paths = ctx_->folder->walk("");
  std::set<std::string> seen(paths.begin(), paths.end());
  for (auto& p : db().live_paths())
    if (!seen.count(p))
      paths.push_back(p);
  scan(paths);
  io::log_info("scanned " + ctx_->folder->root() + ": " + std::to_string(seen.size()) + " entries");
}

void index_logic::notify_peers() {
  for (auto& [id, s] : st().sessions)
    self_->send(s.peer, changed_atom::value);
}

updates_reply index_logic::get_updates(std::uint64_t from, const core::device_id& device,
                                       bool deltas) {
  // A halted folder sends nothing, not even what it recorded before; a paused one sends it all
  // on resume (the peer's pump asks again from where it stopped).
  if (st().halted || st().user_paused)
    return {std::vector<rpc::wire_entry>{}, from};
  auto peer_short = core::short_of(device);
  std::vector<rpc::wire_entry> out;
  std::uint64_t last = from;
  std::size_t bytes = 0;
  for (auto& s : db().since(from, batch_entries)) {
    last = s.record.sequence;
    if (s.received_from == peer_short || !announced(s.record.path) ||
        ignored(s.record.path, s.record.type == core::file_type::dir))
      continue;
    rpc::wire_entry e;
    e.record = std::move(s.record);
    auto& r = e.record;
    if (deltas && s.delta) { // a big file: never inline
      bytes += core::wire_bytes(*s.delta);
      e.delta = std::move(s.delta);
    } else {
      if (r.type == core::file_type::file && !r.deleted && r.size <= inline_limit) {
        // Read only while it is the file hashed (no second SHA-256 pass: io::open_indexed);
        // else the record goes without data and the receiver pulls the file.
        std::string data(r.size, '\0');
        auto in = io::open_indexed(*ctx_->files, r.path, s.inode, r.size, r.mtime_ns);
        if (r.size == 0 ||
            (in && in->file->read_at(0, {reinterpret_cast<std::uint8_t*>(data.data()), r.size}) &&
             in->unchanged())) {
          e.has_data = true;
          e.data = std::move(data);
          bytes += r.size;
        }
      }
      bytes += 200 + r.chunks.size() * 44;
    }
    out.push_back(std::move(e));
    if (bytes > batch_bytes)
      break;
  }
  return {std::move(out), last};
}

// The folder marker (DESIGN.md §2): without it, we stop rather than delete everything.
bool index_logic::check_marker() {
  if (st().halted)
    return false;
  if (::access(ctx_->marker.c_str(), F_OK) != 0 || !ctx_->folder->stat("")) {
    st().halted = true;
    io::log_error("folder " + ctx_->folder->root() + ": its marker " + ctx_->marker +
                  " is gone; not syncing this folder (no deletion is propagated). Restore "
                  "the folder and restart the node.");
    return false;
  }
  return true;
}

} // namespace cascade::actors::index_detail
