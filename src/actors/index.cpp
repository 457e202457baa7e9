// The index actor: the only writer of the database and the one place that turns local scans
// and remote records into decisions (core/rules) and disk changes (io/apply).
#include <chrono>
#include <deque>
#include <map>
#include <set>

#include "actors/actors.hpp"
#include "core/path.hpp"
#include "core/rules.hpp"
#include "io/apply.hpp"
#include "io/log.hpp"
#include "io/store.hpp"

namespace cascade::actors {

namespace {

constexpr std::uint64_t inline_limit = 64 * 1024;     // small files travel with their record
constexpr std::uint64_t hash_inline_limit = 1 << 20;  // larger files go to the scanner
constexpr std::size_t max_transfers = 8;
constexpr std::size_t batch_entries = 1000;
constexpr std::size_t batch_bytes = 8 << 20;

struct session_entry {
  core::device_id device{};
  caf::actor peer;
};

struct index_state {
  static inline const char* name = "index";
  std::unique_ptr<io::store> db;
  std::unique_ptr<io::applier> disk;
  bool halted = false;
  std::map<rpc::session_id, session_entry> sessions;
  std::set<std::string> hashing;            // paths at the scanner
  std::set<std::string> rescan_after_hash;  // changed again while being hashed
  std::map<std::string, caf::actor> transfers;
  std::deque<std::string> waiting;          // needed paths without a transfer yet
  bool retry_scheduled = false;
  std::uint64_t tmp_counter = 0;
};

using self_ptr = caf::stateful_actor<index_state>*;

bool matches(const io::stored_record& s, const io::local_stat& st) {
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

class index_logic {
public:
  index_logic(self_ptr self, const node_context* ctx, caf::actor scanner)
      : self_(self), ctx_(ctx), scanner_(std::move(scanner)) {}

  index_state& st() { return self_->state; }
  io::store& db() { return *st().db; }

  // The folder marker (DESIGN.md §2): without it, we stop rather than delete everything.
  bool check_marker() {
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

  // Records a local change (bumping our counter) and tells the peers.
  void commit_local(core::file_record r, std::uint64_t inode, const io::stored_record* old) {
    if (old)
      r.version = old->record.version;
    r.version.bump(ctx_->self_short);
    r.modified_by = ctx_->self_short;
    db().put(r, inode, 0);
    io::log_debug("local change " + r.path + (r.deleted ? " (deleted)" : ""));
    process_needed(r.path); // a remote record waiting for this path is now decided anew
  }

  void mark_deleted(const io::stored_record& old) {
    core::file_record r;
    r.path = old.record.path;
    r.type = old.record.type;
    r.deleted = true;
    r.mtime_ns = old.record.mtime_ns;
    commit_local(std::move(r), 0, &old);
  }

  // Looks at one path on disk and records what changed.
  void check_path(const std::string& path) {
    auto stored = db().get(path);
    auto lst = ctx_->folder->stat(path);
    if (!lst) {
      if (stored && !stored->record.deleted) {
        if (stored->record.type == core::file_type::dir)
          for (auto& child : db().live_paths())
            if (child != path && core::is_under(child, path))
              if (auto s = db().get(child); s && !ctx_->folder->stat(child))
                mark_deleted(*s);
        mark_deleted(*stored);
      }
      return;
    }
    if (stored && matches(*stored, *lst))
      return;
    core::file_record r;
    r.path = path;
    r.type = lst->type;
    r.mode = lst->mode;
    r.mtime_ns = lst->mtime_ns;
    const io::stored_record* old = stored ? &*stored : nullptr;
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
          stored->record.symlink_target == r.symlink_target &&
          stored->record.mtime_ns == r.mtime_ns)
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

  // A hash result: recorded only if the file did not change while it was read.
  void commit_hashed(const std::string& path, const std::optional<io::hashed_file>& h,
                     const io::stored_record* old) {
    if (!h)
      return; // vanished or not a file any more: its own event follows
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

  void on_hashed(const std::string& path, const std::optional<io::hashed_file>& h) {
    st().hashing.erase(path);
    if (st().halted)
      return;
    db().begin();
    if (st().rescan_after_hash.erase(path))
      check_path(path);
    else {
      auto stored = db().get(path);
      commit_hashed(path, h, stored ? &*stored : nullptr);
    }
    db().commit();
    notify_peers();
  }

  void scan(const std::vector<std::string>& paths) {
    if (!check_marker())
      return;
    db().begin();
    for (auto& p : paths)
      if (core::validate_path(p) == core::path_error::ok)
        check_path(p);
    db().commit();
    notify_peers();
  }

  // Walks the whole folder and every indexed path (start-up, or after a watcher overflow).
  void rescan() {
    if (!check_marker())
      return;
    std::vector<std::string> paths;
    std::vector<std::string> dirs{""};
    while (!dirs.empty()) {
      auto dir = dirs.back();
      dirs.pop_back();
      auto names = ctx_->folder->list(dir);
      if (!names)
        continue;
      for (auto& n : *names) {
        auto p = dir.empty() ? n : dir + "/" + n;
        if (core::validate_path(p) != core::path_error::ok)
          continue;
        paths.push_back(p);
        auto s = ctx_->folder->stat(p);
        if (s && s->type == core::file_type::dir)
          dirs.push_back(p);
      }
    }
    std::set<std::string> seen(paths.begin(), paths.end());
    for (auto& p : db().live_paths())
      if (!seen.count(p))
        paths.push_back(p);
    scan(paths);
    io::log_info("scanned " + ctx_->folder->root() + ": " + std::to_string(seen.size()) +
                 " entries");
  }

  void notify_peers() {
    for (auto& [id, s] : st().sessions)
      self_->send(s.peer, changed_atom::value);
  }

  // Our records above `from` for a peer, skipping those it sent us itself.
  caf::message get_updates(std::uint64_t from, const core::device_id& device) {
    auto peer_short = core::short_of(device);
    std::vector<rpc::wire_entry> out;
    std::uint64_t last = from;
    std::size_t bytes = 0;
    for (auto& s : db().since(from, batch_entries)) {
      last = s.record.sequence;
      if (s.received_from == peer_short)
        continue;
      rpc::wire_entry e;
      e.record = std::move(s.record);
      auto& r = e.record;
      if (r.type == core::file_type::file && !r.deleted && r.size <= inline_limit) {
        std::string data(r.size, '\0');
        std::span<std::uint8_t> span(reinterpret_cast<std::uint8_t*>(data.data()), data.size());
        if (r.size == 0 || (ctx_->folder->read_at(r.path, 0, span) && r.chunks.size() == 1 &&
                            io::sha256(span) == r.chunks[0].hash)) {
          e.has_data = true;
          e.data = std::move(data);
          bytes += r.size;
        }
      }
      bytes += 200 + r.chunks.size() * 44;
      out.push_back(std::move(e));
      if (bytes > batch_bytes)
        break;
    }
    return caf::make_message(std::move(out), last);
  }

  std::optional<rpc::session_id> session_of(const core::device_id& d) {
    for (auto& [id, s] : st().sessions)
      if (s.device == d)
        return id;
    return std::nullopt;
  }

  // Records from a peer: stored as needed, then decided and applied.
  bool on_update(rpc::session_id s, std::vector<rpc::wire_entry>& entries, std::uint64_t last) {
    auto it = st().sessions.find(s);
    if (it == st().sessions.end() || !check_marker())
      return false;
    auto device = it->second.device;
    auto epoch_seq = db().peer_progress(device);
    (void)epoch_seq;
    db().begin();
    // Deletions last and deepest first, so directories empty before they go and renamed
    // files can still be copied from their old name.
    std::stable_sort(entries.begin(), entries.end(), [](auto& a, auto& b) {
      if (a.record.deleted != b.record.deleted)
        return !a.record.deleted;
      if (a.record.deleted)
        return core::depth(a.record.path) > core::depth(b.record.path);
      return false;
    });
    std::vector<std::pair<core::file_record, std::string>> inline_files;
    for (auto& e : entries) {
      auto local = db().get(e.record.path);
      auto d = core::decide(local ? &local->record : nullptr, e.record);
      if (d.what == core::verdict::ignore)
        continue;
      if (d.what == core::verdict::keep_local) {
        if (d.reannounce && local) {
          auto r = local->record;
          r.version.merge(e.record.version);
          r.version.bump(ctx_->self_short);
          db().put(r, local->inode, 0);
        }
        continue;
      }
      db().put_needed(e.record, device);
      if (e.has_data && e.record.type == core::file_type::file && !e.record.deleted)
        inline_files.emplace_back(e.record, std::move(e.data));
      else
        process_needed(e.record.path);
    }
    apply_inline(inline_files);
    db().set_peer_progress(device, sessions_epoch(s), last);
    db().commit();
    notify_peers();
    start_transfers();
    return true;
  }

  std::uint64_t sessions_epoch(rpc::session_id s) { return epochs_[s]; }
  void set_epoch(rpc::session_id s, std::uint64_t e) { epochs_[s] = e; }

  // Small files of one batch: written, synced once, renamed, committed.
  void apply_inline(std::vector<std::pair<core::file_record, std::string>>& files) {
    std::vector<std::pair<core::file_record, std::string>> staged; // (record, tmp path)
    for (auto& [r, data] : files) {
      if (!ready_to_apply(r))
        continue;
      auto tmp = next_tmp();
      if (st().disk->write_tmp(tmp, r, data))
        staged.emplace_back(r, tmp);
    }
    st().disk->sync_tmp();
    for (auto& [r, tmp] : staged)
      install(r, tmp);
  }

  // Decides a needed record again and applies it (or queues its transfer).
  void process_needed(const std::string& path) {
    auto n = db().get_needed(path);
    if (!n)
      return;
    auto& r = n->record;
    auto local = db().get(path);
    auto d = core::decide(local ? &local->record : nullptr, r);
    if (d.what == core::verdict::ignore || d.what == core::verdict::keep_local) {
      db().remove_needed(path);
      return;
    }
    if (!ready_to_apply(r))
      return;
    if (r.deleted) {
      if (st().disk->remove(r))
        settle(r, 0);
      return;
    }
    switch (r.type) {
    case core::file_type::dir:
      if (auto ino = st().disk->make_dir(r))
        settle(r, *ino);
      return;
    case core::file_type::symlink: {
      auto tmp = next_tmp();
      if (auto ino = st().disk->make_symlink(tmp, r))
        settle(r, *ino);
      return;
    }
    case core::file_type::file:
      if (!st().transfers.count(path) &&
          std::find(st().waiting.begin(), st().waiting.end(), path) == st().waiting.end())
        st().waiting.push_back(path);
      return;
    }
  }

  // The local side must be indexed as it is on disk before a remote version replaces it;
  // otherwise an unscanned local edit would be lost. A conflict moves our copy aside first.
  bool ready_to_apply(const core::file_record& remote) {
    auto local = db().get(remote.path);
    auto lst = ctx_->folder->stat(remote.path);
    bool indexed = lst ? (local && matches(*local, *lst))
                       : (!local || local->record.deleted);
    if (!indexed && lst && lst->type == core::file_type::dir && local &&
        local->record.type == core::file_type::dir)
      indexed = true; // a directory's mode change is not worth a rescan first
    if (!indexed) {
      check_path(remote.path); // records the local change; process_needed runs again
      return false;
    }
    auto d = core::decide(local ? &local->record : nullptr, remote);
    if (d.what == core::verdict::take_conflict && local && !local->record.deleted &&
        local->record.type != core::file_type::dir) {
      auto name = core::conflict_name(remote.path, local->record.mtime_ns,
                                      local->record.modified_by);
      if (!ctx_->folder->rename(remote.path, name)) {
        io::log_error("conflict on " + remote.path + ": cannot move our copy aside");
        return false;
      }
      io::log_warn("conflict on " + remote.path + ": kept our version as " + name);
      check_path(name);
    }
    return true;
  }

  void install(core::file_record r, const std::string& tmp) {
    auto ino = st().disk->install(tmp, r);
    if (ino)
      settle(r, *ino);
  }

  // A remote record is now on disk: stored under its own version, never bumped.
  void settle(core::file_record r, std::uint64_t inode) {
    auto n = db().get_needed(r.path);
    auto from = n ? core::short_of(n->from) : 0;
    db().put(r, inode, from);
    db().remove_needed(r.path);
    io::log_debug("applied " + r.path + (r.deleted ? " (deleted)" : ""));
  }

  std::string next_tmp() {
    return ctx_->state_dir + "/tmp/" + std::to_string(::getpid()) + "-" +
           std::to_string(++st().tmp_counter);
  }

  void start_transfers() {
    auto& s = st();
    std::deque<std::string> still;
    while (!s.waiting.empty()) {
      auto path = s.waiting.front();
      s.waiting.pop_front();
      if (s.transfers.size() >= max_transfers) {
        still.push_back(path);
        continue;
      }
      auto n = db().get_needed(path);
      if (!n)
        continue;
      auto session = session_of(n->from);
      if (!session) {
        still.push_back(path); // its source is offline: waits for it to return
        continue;
      }
      auto plan = core::plan_fetch(n->record, [&](const core::sha256_digest& h) {
        return db().find_chunk(h);
      });
      transfer_job job{n->record, *session, plan.copies, plan.missing, next_tmp()};
      s.transfers[path] = spawn_transfer(self_->system(), *ctx_, std::move(job),
                                         caf::actor_cast<caf::actor>(self_));
    }
    s.waiting = std::move(still);
  }

  void on_finished(transfer_result& r) {
    auto& s = st();
    s.transfers.erase(r.record.path);
    if (!r.error.empty()) {
      io::log_warn("transfer of " + r.record.path + " failed: " + r.error + "; retrying");
      s.waiting.push_back(r.record.path);
      schedule_retry();
    } else {
      db().begin();
      auto n = db().get_needed(r.record.path);
      if (n && n->record.version == r.record.version && ready_to_apply(r.record)) {
        install(r.record, r.tmp_path);
        io::log_info("received " + r.record.path + " (" + std::to_string(r.bytes_fetched) +
                     " bytes fetched, " + std::to_string(r.bytes_copied) + " copied locally)");
      } else {
        ::unlink(r.tmp_path.c_str()); // superseded meanwhile
        if (n)
          process_needed(r.record.path);
      }
      db().commit();
      notify_peers();
    }
    start_transfers();
  }

  void schedule_retry() {
    if (st().retry_scheduled)
      return;
    st().retry_scheduled = true;
    self_->delayed_send(self_, std::chrono::seconds(1), retry_atom::value);
  }

  void on_session_up(const rpc::session_info& info, caf::actor peer) {
    st().sessions[info.id] = {info.device, std::move(peer)};
    set_epoch(info.id, info.epoch);
    // Records waiting for this peer can go now.
    for (auto& n : db().all_needed())
      if (n.from == info.device && !st().transfers.count(n.record.path))
        process_needed_later(n.record.path);
    start_transfers();
  }

  void process_needed_later(const std::string& path) {
    db().begin();
    process_needed(path);
    db().commit();
  }

  void on_session_down(rpc::session_id s) {
    if (auto it = st().sessions.find(s); it != st().sessions.end()) {
      self_->send(it->second.peer, down_atom::value);
      st().sessions.erase(it);
    }
  }

  // Start-up: clean temp files of an earlier run, then retry what we still need.
  void start() {
    st().disk->clean_tmp();
    for (auto& n : db().all_needed())
      st().waiting.push_back(n.record.path);
  }

private:
  self_ptr self_;
  const node_context* ctx_;
  caf::actor scanner_;
  std::map<rpc::session_id, std::uint64_t> epochs_;
};

caf::behavior index_actor(self_ptr self, const node_context* ctx, caf::actor scanner) {
  self->state.db = std::make_unique<io::store>(ctx->state_dir + "/index.db");
  self->state.disk = std::make_unique<io::applier>(*ctx->folder, ctx->state_dir + "/tmp");
  auto logic = std::make_shared<index_logic>(self, ctx, scanner);
  logic->start();
  return {
      [=](scan_atom, const std::vector<std::string>& paths) { logic->scan(paths); },
      [=](rescan_atom) { logic->rescan(); },
      [=](hashed_atom, const std::string& path, const std::optional<io::hashed_file>& h) {
        logic->on_hashed(path, h);
      },
      [=](up_atom, const rpc::session_info& info, caf::actor peer) {
        logic->on_session_up(info, std::move(peer));
      },
      [=](down_atom, rpc::session_id s) { logic->on_session_down(s); },
      [=](update_atom, rpc::session_id s, std::vector<rpc::wire_entry>& entries,
          std::uint64_t last) { return logic->on_update(s, entries, last); },
      [=](get_atom, std::uint64_t from, const core::device_id& device) {
        return logic->get_updates(from, device);
      },
      [=](progress_atom, const core::device_id& device) {
        auto [epoch, seq] = self->state.db->peer_progress(device);
        return caf::make_message(epoch, seq);
      },
      [=](finished_atom, transfer_result& r) { logic->on_finished(r); },
      [=](retry_atom) {
        self->state.retry_scheduled = false;
        logic->start_transfers();
      },
      [=](status_atom) {
        auto t = self->state.db->totals();
        return std::string(self->state.halted ? "HALTED, " : "") + std::to_string(t.files) +
               " files, " + std::to_string(t.bytes) + " bytes, " +
               std::to_string(self->state.transfers.size()) + " transfers";
      },
  };
}

} // namespace

caf::actor spawn_index(caf::actor_system& sys, const node_context& ctx, caf::actor scanner) {
  return sys.spawn<caf::detached>(index_actor, &ctx, std::move(scanner));
}

} // namespace cascade::actors
