// The index, remote side: records from peers are decided, applied or fetched.

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "actors/index_logic.hpp"
#include "core/fetch_plan.hpp"
#include "core/path.hpp"
#include "core/relay.hpp"
#include "core/rules.hpp"
#include "core/update_rule.hpp"
#include "io/log.hpp"

namespace cascade::actors::index_detail {

std::optional<rpc::session_id> index_logic::session_of(const core::device_id& d) {
  for (auto& [id, s] : st().sessions)
    if (s.device == d)
      return id;
  return std::nullopt;
}

bool index_logic::resolve_delta(rpc::wire_entry& e, const core::stored_record* local) {
  auto& d = *e.delta;
  const std::vector<core::chunk>* base = nullptr;
  std::optional<core::needed_record> needed;
  auto live_file = [](const core::file_record& r) {
    return r.type == core::file_type::file && !r.deleted;
  };
  if (local && live_file(local->record) && local->record.version == d.base) {
    base = &local->record.chunks;
  } else if ((needed = db().get_needed(e.record.path)) && live_file(needed->record) &&
             needed->record.version == d.base) {
    base = &needed->record.chunks;
  } else {
    io::log_debug("no base for the chunk delta of " + core::printable(e.record.path) +
                  "; the batch comes again whole");
    return false;
  }
  auto chunks = core::apply_delta(d, *base, e.record.size);
  if (!chunks) {
    io::log_warn("a peer's chunk delta for " + core::printable(e.record.path) +
                 " does not fit its base; asking for the record whole");
    return false;
  }
  io::log_debug("chunk list of " + core::printable(e.record.path) + " rebuilt from a delta (" +
                std::to_string(core::added_chunks(d)) + " new of " +
                std::to_string(chunks->size()) + " chunks)");
  e.record.chunks = std::move(*chunks);
  e.delta.reset();
  return true;
}

index_logic::update_outcome index_logic::on_update(rpc::session_id s,
                                                   std::vector<rpc::wire_entry>& entries,
                                                   std::uint64_t from, std::uint64_t last) {
  auto it = st().sessions.find(s);
  // Paused by a store fault or the user: refused, so the peer's progress stays; asked again on
  // retry or resume.
  if (it == st().sessions.end() || paused() || user_paused() || !check_marker())
    return update_outcome::refused;
  auto device = it->second.device;
  // A batch that does not continue what we have read would leave a gap behind our progress.
  auto [epoch, read] = db().peer_progress(device);
  if (epoch != sessions_epoch(s))
    read = 0;
  if (from > read) {
    io::log_debug("a batch from session " + std::to_string(s) + " starts at " +
                  std::to_string(from) + ", past " + std::to_string(read) +
                  " read so far: refused, it comes again");
    return update_outcome::refused;
  }
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
  std::vector<std::string> deletions; // after the new names are in place (a rename)
  bool need_full = false;
  for (auto& e : entries) {
    // The rule: core::choose_for_entry. Ignored here (or a peer's .cascadeignore): skipped
    // without touching the disk or the store; asked for again if the patterns change
    // (on_ignores_changed).
    core::entry_facts f;
    f.mode = st().mode;
    f.ignored = ignored(e.record.path, e.record.type == core::file_type::dir);
    f.has_data = e.has_data;
    std::optional<core::stored_record> local;
    if (!f.ignored) {
      local = db().get(e.record.path);
      if (e.delta && !resolve_delta(e, local ? &*local : nullptr)) {
        need_full = true; // the rest is taken; the batch comes again whole and counts then
        continue;
      }
    }
    auto* ours = local ? &local->record : nullptr;
    f.disk_as_indexed = core::adoptable(f.mode, ours, e.record) && disk_as_indexed(*local);
    auto action = core::choose_for_entry(ours, e.record, f);
    switch (action) {
    case core::entry_action::skip_ignored:
    case core::entry_action::skip_have:
    case core::entry_action::keep_ours:
      continue;
    case core::entry_action::reannounce_ours: {
      auto r = local->record;
      r.version.merge(e.record.version);
      r.version.bump(ctx_->self_short);
      db().put(r, local->inode, 0);
      continue;
    }
    case core::entry_action::adopt:
      adopt(*local, e.record, device);
      continue;
    case core::entry_action::hold: // send-only: the group differs here (console `out-of-sync`)
    case core::entry_action::write_inline:
    case core::entry_action::delete_later:
    case core::entry_action::apply_needed:
      break;
    }
    db().put_needed(e.record, device);
    if (action == core::entry_action::write_inline)
      inline_files.emplace_back(e.record, std::move(e.data));
    else if (action == core::entry_action::delete_later)
      deletions.push_back(e.record.path);
    else if (action == core::entry_action::apply_needed)
      process_needed(e.record.path);
  }
  apply_inline(inline_files);
  for (auto& path : deletions)
    process_needed(path);
  if (!need_full)
    db().set_peer_progress(device, sessions_epoch(s), last);
  commit();
  notify_peers();
  start_transfers();
  return need_full ? update_outcome::need_full : update_outcome::recorded;
}

// A record that wins but describes what the disk already holds (the same bytes, mtime and mode:
// two nodes made the same change, or a node that lost its index rescanned and meets its peers'
// records again) is taken into the index without touching the file, so nothing is fetched or
// rewritten and every inode stays (core::adoptable).
bool index_logic::disk_as_indexed(const core::stored_record& local) {
  // Not as indexed: stored as needed, and process_needed scans the path first.
  auto lst = ctx_->folder->stat(local.record.path);
  return lst ? matches(local, *lst) : local.record.deleted;
}

void index_logic::adopt(const core::stored_record& local, const core::file_record& remote,
                        const core::device_id& from) {
  auto r = remote; // put() gives it our next sequence number
  db().put(r, local.inode, core::short_of(from));
  db().remove_needed(remote.path);
  drop_local_change(remote.path);
}

// Small files of one batch: written, synced once, renamed, committed.
void index_logic::apply_inline(std::vector<std::pair<core::file_record, std::string>>& files) {
  std::vector<std::pair<core::file_record, std::string>> staged; // (record, tmp path)
  for (auto& [r, data] : files) {
    if (!ready_to_apply(r))
      continue;
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    if (data.size() != r.size || !chunks_match(r, bytes)) {
      // An honest peer sends data with a record only after checking it against the hashes
      // (index_local.cpp): this peer lies, and the record is refused like a malformed one.
      io::log_warn("rejected a record: the data sent with " + r.path +
                   " does not match its hashes");
      db().remove_needed(r.path);
      continue;
    }
    auto tmp = next_tmp();
    if (st().disk->write_tmp(tmp, r, data, files.size() == 1)) {
      staged.emplace_back(r, tmp);
    } else if (io::out_of_space(st().disk->last_install_errno())) {
      // The whole batch waits for room: rolled back (the peer sends it again), one fault.
      for (auto& [sr, stmp] : staged)
        ctx_->tmp->remove(stmp);
      throw core::store_error::no_space(std::string("received files: ") +
                                        std::strerror(st().disk->last_install_errno()) + " (" +
                                        ctx_->state_dir + "/tmp)");
    } else {
      retry_later(r.path);
    }
  }
  st().disk->sync_tmp();
  for (auto& [r, tmp] : staged) {
    auto outcome = install(r, tmp);
    if (outcome == install_outcome::installed)
      st().pulls.succeeded(r.path);
    else if (outcome == install_outcome::failed)
      retry_later(r.path);
  }
}

void index_logic::process_needed(const std::string& path) {
  auto n = db().get_needed(path);
  if (!n)
    return;
  auto& r = n->record;
  // The rule: core::choose_for_needed. Its facts hold across ready_to_apply below: that scans
  // this path only when it answers false, and moves our copy aside only for a file.
  core::needed_facts f;
  f.mode = st().mode;
  f.ignored = ignored(path, r.type == core::file_type::dir);
  std::optional<core::stored_record> local;
  if (!f.ignored)
    local = db().get(path);
  f.copied_from = st().source_refs.count(path) != 0;
  f.transferring = st().transfers.count(path) != 0;
  auto choice = core::choose_for_needed(local ? &local->record : nullptr, r, f);
  switch (choice.what) {
  case core::needed_action::drop_ignored:
    db().remove_needed(path); // asked for again if the patterns change
    unpin_sources(path);
    return;
  case core::needed_action::hold: // send-only: stays needed, never applied
    return;
  case core::needed_action::drop:
    db().remove_needed(path);
    st().kept_dirs.erase(path);
    unpin_sources(path);
    return;
  case core::needed_action::wait_for_copies:
  case core::needed_action::remove:
  case core::needed_action::make_dir:
  case core::needed_action::make_symlink:
  case core::needed_action::running:
  case core::needed_action::fetch:
    break;
  }
  if (!ready_to_apply(r))
    return;
  switch (choice.what) {
  case core::needed_action::remove:
    if (st().disk->remove(r))
      settle(r, 0);
    else
      remove_failed(r, st().disk->last_install_errno());
    return;
  case core::needed_action::make_dir:
    if (auto ino = st().disk->make_dir(r))
      settle(r, *ino);
    else
      apply_failed(path);
    return;
  case core::needed_action::make_symlink: {
    auto tmp = next_tmp();
    if (auto ino = st().disk->make_symlink(tmp, r))
      settle(r, *ino);
    else
      apply_failed(path);
    return;
  }
  case core::needed_action::fetch: {
    pin_sources(path, r);
    // The grace leaves time for an offer (a push is faster than a pull for a new file).
    bool queued = st().waiting.push(path);
    st().pulls.announced(path, steady_ns(), choice.grace, queued);
    return;
  }
  case core::needed_action::wait_for_copies: // deleted once the file copying from it is in place
  case core::needed_action::running:
  case core::needed_action::drop_ignored: // handled above
  case core::needed_action::hold:
  case core::needed_action::drop:
    return;
  }
}

bool index_logic::ready_to_apply(const core::file_record& remote) {
  auto local = db().get(remote.path);
  auto* ours = local ? &local->record : nullptr;
  auto lst = ctx_->folder->stat(remote.path);
  if (!core::indexed_as_on_disk(ours, lst.has_value(), lst && lst->type == core::file_type::dir,
                                lst && local && matches(*local, *lst))) {
    check_path(remote.path); // records the local change; process_needed runs again
    return false;
  }
  if (core::moves_ours_aside(decide_here(local ? &*local : nullptr, remote).d, ours)) {
    auto name = core::conflict_name(remote.path, local->record.mtime_ns, local->record.modified_by);
    if (!ctx_->folder->rename(remote.path, name)) {
      io::log_error("conflict on " + remote.path + ": cannot move our copy aside");
      return false;
    }
    io::log_warn("conflict on " + remote.path + ": kept our version as " + name);
    check_path(name);
  }
  return true;
}

install_outcome index_logic::install(core::file_record r, const std::string& tmp) {
  // A change of mode or time alone replaces the same bytes: nothing worth a version.
  auto local = db().get(r.path);
  bool same_bytes = local && !local->record.deleted && local->record.type == r.type &&
                    local->record.size == r.size && local->record.chunks == r.chunks;
  auto ino = st().disk->install(tmp, r, !same_bytes);
  if (ino) {
    settle(r, *ino);
    return install_outcome::installed;
  }
  // A symlink in the way (ELOOP, EXDEV) is a refusal, not a fault that passes: it is not
  // fetched again and again (the record stays needed; a rescan or a new version retries).
  auto err = st().disk->last_install_errno();
  return err == ELOOP || err == EXDEV ? install_outcome::refused : install_outcome::failed;
}

void index_logic::apply_failed(const std::string& path) {
  auto err = st().disk->last_install_errno();
  if (err != ELOOP && err != EXDEV) // a symlink in the way: refused, not retried
    retry_later(path);
}

// A record that could not be applied (the applier said why: a read-only or immutable
// directory, a full disk) stays needed and is fetched and applied again, backing off from
// 0.5 s to 8 s: once the cause is gone it lands without a restart. Said once per path at warn
// level (the applier logs each attempt's cause).
void index_logic::retry_later(const std::string& path) {
  auto& s = st();
  auto retry = s.pulls.failed(path, steady_ns());
  note_install_failure(path, s.disk->last_install_errno());
  io::log(retry.first ? io::level::warn : io::level::debug,
          "could not apply " + path + "; retrying in " + std::to_string(retry.wait_ns / 1'000'000) +
              " ms");
  s.waiting.push(path);
}

// A directory that is not empty waits for its entries' deletions (each tries it again when it
// settles: a rename's records span batches, and a held source goes last). Entries the index does
// not know are local files no peer has seen: they are kept and recorded (those with a valid name
// sync as new files, the directory with them), said once. Any other refusal is retried with a
// backoff.
void index_logic::remove_failed(const core::file_record& r, int err) {
  auto& s = st();
  if (r.type == core::file_type::dir && (err == ENOTEMPTY || err == EEXIST)) {
    if (keep_dir_for_ignored(r))
      return;
    if (!s.kept_dirs.insert(r.path).second)
      return; // already waiting for its entries
    std::vector<std::string> unknown;
    for (auto& name : ctx_->folder->list(r.path).value_or(std::vector<std::string>{})) {
      auto child = r.path + "/" + name;
      auto stored = db().get(child);
      if (!db().get_needed(child) && (!stored || stored->record.deleted))
        unknown.push_back(child);
    }
    if (unknown.empty())
      return;
    io::log_warn("kept directory " + r.path + " that a peer deleted: it holds " +
                 std::to_string(unknown.size()) + " local entries no peer knows (" +
                 core::printable(unknown.front()) + "); they stay here");
    for (auto& u : unknown)
      if (core::validate_path(u) == core::path_error::ok)
        check_path(u); // recorded now: they sync as new files, the directory with them
    return;
  }
  apply_failed(r.path); // the applier said why; a symlink in the way is refused, not retried
}

void index_logic::settle(core::file_record r, std::uint64_t inode) {
  auto n = db().get_needed(r.path);
  auto from = n ? core::short_of(n->from) : 0;
  db().put(r, inode, from);
  db().remove_needed(r.path);
  drop_local_change(r.path);
  st().applied_uncommitted[r.path] = {r, from};
  if (st().pulls.succeeded(r.path))
    note_install_ok();
  if (!st().transfers.count(r.path))
    drop_partial(r.path); // a partial of an older version is of no use now
  if (n)
    note_applied(st(), r, n->from);
  io::log_debug("applied " + r.path + (r.deleted ? " (deleted)" : ""));
  st().kept_dirs.erase(r.path);
  unpin_sources(r.path); // the deletions of the names it copied from may go now
  // A directory whose deletion waited for its contents (ENOTEMPTY) is tried again.
  auto parent = std::string(core::parent_of(r.path));
  if (r.deleted && !parent.empty() && st().kept_dirs.count(parent))
    process_needed(parent);
}

std::string index_logic::next_tmp() {
  return ctx_->tmp->new_path(); // unpredictable: nobody can plant the name first
}

void index_logic::on_session_up(const rpc::session_info& info, peer_actor peer) {
  st().sessions[info.id] = {info.device, std::move(peer)};
  set_epoch(info.id, info.epoch);
  // Records waiting for this peer can go now, and failed transfers may find a holder in it.
  // Deletions last: the files they may be renamed to pin their old names first.
  auto needed = db().all_needed();
  std::stable_partition(needed.begin(), needed.end(),
                        [](const core::needed_record& n) { return !n.record.deleted; });
  for (auto& n : needed)
    if (n.from == info.device && !st().transfers.count(n.record.path))
      process_needed_later(n.record.path);
  st().pulls.session_up(steady_ns());
  start_transfers();
}

void index_logic::process_needed_later(const std::string& path) {
  if (paused())
    return; // the retry round queues every needed record
  db().begin();
  process_needed(path);
  commit();
}

void index_logic::on_session_down(rpc::session_id s) {
  if (auto it = st().sessions.find(s); it != st().sessions.end()) {
    self_->send(it->second.peer, down_atom::value);
    st().sessions.erase(it);
  }
}

void index_logic::on_have(rpc::session_id s, rpc::call_id call, const std::string& path,
                          const core::version_vector& v) {
  if (user_paused())
    return ctx_->net->answer_have(s, call, false, {}); // nothing is served while paused
  auto local = db().get(path);
  if (local && !local->record.deleted && local->record.type == core::file_type::file &&
      local->record.version == v)
    return ctx_->net->answer_have(s, call, true, {});
  ctx_->net->answer_have(s, call, false, ctx_->partials->have(path, v));
}

void index_logic::on_link_rates(const std::vector<core::peer_status>& rows) {
  for (auto& r : rows)
    if (r.device && r.session != 0) {
      auto& known = st().link_rates[*r.device];
      known = std::max({known, r.rate_in, r.rate_out});
    }
}

void index_logic::drop_partial(const std::string& path, const core::version_vector* keep) {
  auto p = ctx_->partials->find_any(path);
  if (!p || (keep && p->version == *keep))
    return;
  ctx_->partials->erase(path);
  ctx_->tmp->remove(p->tmp_path);
}

void index_logic::start() {
  st().disk->clean_tmp();
  for (auto& n : db().all_needed()) {
    if (held(n.record))
      continue; // send-only: never fetched
    // Pins live in memory: files still needed pin their sources again before any deletion.
    if (!n.record.deleted && n.record.type == core::file_type::file)
      pin_sources(n.record.path, n.record);
    st().waiting.push(n.record.path);
  }
}

} // namespace cascade::actors::index_detail
