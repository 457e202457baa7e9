// The index, remote side: records from peers are decided, applied or fetched.

#include <algorithm>

#include "actors/index_logic.hpp"
#include "core/path.hpp"
#include "core/relay.hpp"
#include "core/rules.hpp"
#include "io/log.hpp"

namespace cascade::actors::index_detail {

std::optional<rpc::session_id> index_logic::session_of(const core::device_id& d) {
  for (auto& [id, s] : st().sessions)
    if (s.device == d)
      return id;
  return std::nullopt;
}

bool index_logic::on_update(rpc::session_id s, std::vector<rpc::wire_entry>& entries,
                            std::uint64_t last) {
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
  commit();
  notify_peers();
  start_transfers();
  return true;
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
    if (st().disk->write_tmp(tmp, r, data, files.size() == 1))
      staged.emplace_back(r, tmp);
  }
  st().disk->sync_tmp();
  for (auto& [r, tmp] : staged)
    install(r, tmp);
}

void index_logic::process_needed(const std::string& path) {
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
    if (st().source_refs.count(path))
      return; // a running transfer copies from it (a rename): deleted when that ends
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
  case core::file_type::file: {
    if (st().transfers.count(path))
      return;
    auto soon = std::chrono::steady_clock::now() + pull_grace;
    if (std::find(st().waiting.begin(), st().waiting.end(), path) == st().waiting.end()) {
      st().waiting.push_back(path);
      st().pull_after.emplace(path, soon);
    } else if (auto it = st().pull_after.find(path); it != st().pull_after.end()) {
      it->second = std::min(it->second, soon); // announced again: maybe by a holder, try soon
    }
    return;
  }
  }
}

bool index_logic::ready_to_apply(const core::file_record& remote) {
  auto local = db().get(remote.path);
  auto lst = ctx_->folder->stat(remote.path);
  bool indexed = lst ? (local && matches(*local, *lst)) : (!local || local->record.deleted);
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

void index_logic::install(core::file_record r, const std::string& tmp) {
  auto ino = st().disk->install(tmp, r);
  if (ino)
    settle(r, *ino);
}

void index_logic::settle(core::file_record r, std::uint64_t inode) {
  auto n = db().get_needed(r.path);
  auto from = n ? core::short_of(n->from) : 0;
  db().put(r, inode, from);
  db().remove_needed(r.path);
  if (!st().transfers.count(r.path))
    drop_partial(r.path); // a partial of an older version is of no use now
  if (n)
    note_applied(st(), r, n->from);
  io::log_debug("applied " + r.path + (r.deleted ? " (deleted)" : ""));
}

std::string index_logic::next_tmp() {
  return ctx_->tmp->new_path(); // unpredictable: nobody can plant the name first
}

void index_logic::start_transfers() {
  auto& s = st();
  std::deque<std::string> still;
  auto now = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> wake;
  while (!s.waiting.empty()) {
    auto path = s.waiting.front();
    s.waiting.pop_front();
    if (s.transfers.count(path))
      continue; // already coming (a push took it)
    if (s.transfers.size() >= max_transfers) {
      still.push_back(path);
      continue;
    }
    auto n = db().get_needed(path);
    if (!n) {
      s.pull_after.erase(path);
      s.failures.erase(path);
      s.suspects.erase(path);
      drop_partial(path);
      continue;
    }
    if (auto it = s.pull_after.find(path); it != s.pull_after.end() && it->second > now) {
      still.push_back(path);
      wake = wake ? std::min(*wake, it->second) : it->second;
      continue;
    }
    s.pull_after.erase(path);
    if (s.sessions.empty()) {
      still.push_back(path); // nobody is connected: waits for a peer
      continue;
    }
    auto plan = core::plan_fetch(n->record,
                                 [&](const core::sha256_digest& h) { return db().find_chunk(h); });
    auto& sources = s.transfer_sources[path];
    for (auto& c : plan.copies)
      if (c.from.path != path &&
          std::find(sources.begin(), sources.end(), c.from.path) == sources.end()) {
        sources.push_back(c.from.path);
        ++s.source_refs[c.from.path];
      }
    transfer_job job;
    job.record = n->record;
    // Every peer is asked what it holds (the announcer is presumed to hold it all if silent):
    // a relay that died leaves its downstream to complete from whoever has the chunks.
    job.session = session_of(n->from).value_or(0);
    job.copies = std::move(plan.copies);
    job.missing = std::move(plan.missing);
    for (auto& [id, sess] : s.sessions)
      job.sources.emplace_back(sess.device, id);
    if (auto it = s.suspects.find(path); it != s.suspects.end())
      job.suspects = it->second;
    drop_partial(path, &n->record.version);
    if (auto p = ctx_->partials->find(path, n->record.version)) {
      job.tmp_path = p->tmp_path; // an earlier attempt's verified chunks are kept
      job.verified = p->verified;
    } else {
      job.tmp_path = next_tmp();
      ctx_->partials->put(n->record, job.tmp_path, {});
    }
    s.transfers[path] =
        spawn_transfer(self_->system(), *ctx_, std::move(job), caf::actor_cast<caf::actor>(self_));
  }
  s.waiting = std::move(still);
  if (wake)
    self_->delayed_send(
        self_,
        std::max(*wake - now, std::chrono::steady_clock::duration(std::chrono::milliseconds(1))),
        retry_atom::value);
}

relay_plan index_logic::relay_for(std::vector<core::device_id> rest,
                                  std::vector<core::device_id> visited,
                                  std::optional<core::device_id> upstream) {
  relay_plan p;
  auto scope = core::relay_scope_for(std::move(rest), std::move(visited), ctx_->self, upstream);
  p.rest = std::move(scope.rest);
  p.visited = std::move(scope.visited);
  for (auto& [id, sess] : st().sessions)
    p.peers.emplace_back(sess.device, id);
  return p;
}

void index_logic::start_upload(const core::file_record& r) {
  if (st().sessions.empty() || st().halted)
    return;
  std::vector<core::relay_candidate> candidates;
  for (auto& [id, sess] : st().sessions) {
    auto known = st().link_rates.find(sess.device);
    candidates.push_back({sess.device, known == st().link_rates.end() ? 0 : known->second});
  }
  auto plan = relay_for(core::plan_chain(std::move(candidates)), {}, std::nullopt);
  auto now = std::chrono::steady_clock::now();
  if (now - st().last_snapshot > std::chrono::seconds(1)) {
    st().last_snapshot = now;
    ctx_->net->snapshot(
        [me = caf::actor_cast<caf::actor>(self_)](std::vector<core::peer_status> rows) {
          caf::anon_send(me, netsnap_atom::value, std::move(rows));
        });
  }
  remember_relay(st(), spawn_upload(self_->system(), *ctx_, r, std::move(plan)));
}

void index_logic::on_offer(rpc::session_id s, rpc::call_id call, rpc::wire_entry& e,
                           std::vector<core::device_id> rest,
                           std::vector<core::device_id> visited) {
  auto it = st().sessions.find(s);
  auto& r = e.record;
  auto decline = [&] { ctx_->net->decline_offer(s, call); };
  if (it == st().sessions.end() || st().halted || r.deleted || r.type != core::file_type::file ||
      st().transfers.count(r.path))
    return decline();
  auto device = it->second.device;
  auto local = db().get(r.path);
  auto d = core::decide(local ? &local->record : nullptr, r);
  if (d.what != core::verdict::take && d.what != core::verdict::take_conflict)
    return decline();
  // An edit or a rename of a file we hold: most chunks are here already, and a pull copies
  // them locally; a push would send them all again.
  auto plan = core::plan_fetch(r, [&](const core::sha256_digest& h) { return db().find_chunk(h); });
  auto partial = ctx_->partials->find(r.path, r.version); // an earlier attempt's chunks
  std::vector<bool> held_chunks(r.chunks.size(), false);
  for (auto& c : plan.copies)
    held_chunks[c.chunk_index] = true;
  std::uint64_t held = 0;
  for (std::size_t i = 0; i < r.chunks.size(); ++i)
    if (held_chunks[i] || (partial && partial->verified[i]))
      held += r.chunks[i].length;
  if (held * 2 > r.size)
    return decline();
  db().begin();
  bool ready = ready_to_apply(r);
  if (ready)
    db().put_needed(r, device);
  commit();
  if (!ready)
    return decline();
  std::vector<std::size_t> all(r.chunks.size());
  for (std::size_t i = 0; i < all.size(); ++i)
    all[i] = i;
  io::log_info("relay " + r.path + ": upstream " + core::format_device_id(device).substr(0, 7));
  transfer_job job;
  job.record = r;
  job.session = s;
  job.missing = std::move(all);
  job.offer_call = call;
  job.relay = relay_for(std::move(rest), std::move(visited), device);
  drop_partial(r.path, &r.version);
  if (partial) {
    job.tmp_path = partial->tmp_path;
    job.verified = partial->verified;
  } else {
    job.tmp_path = next_tmp();
    ctx_->partials->put(r, job.tmp_path, {});
  }
  st().transfers[r.path] =
      spawn_transfer(self_->system(), *ctx_, std::move(job), caf::actor_cast<caf::actor>(self_));
  remember_relay(st(), st().transfers[r.path]); // it may relay on after its own file is done
}

void index_logic::on_finished(transfer_result& r) {
  auto& s = st();
  s.transfers.erase(r.record.path);
  std::vector<std::string> released;
  for (auto& src : s.transfer_sources[r.record.path])
    if (--s.source_refs[src] <= 0) {
      s.source_refs.erase(src);
      released.push_back(src);
    }
  s.transfer_sources.erase(r.record.path);
  if (!r.error.empty()) {
    // Retries back off (0.5 s doubling to 8 s) so a peer that keeps failing is not hammered;
    // a new session or a new announcement of the version cuts the wait short. The temp file
    // and its verified chunks stay for the retry (and for peers that repair from us).
    auto tries = s.failures[r.record.path]++;
    if (r.bad_source)
      s.suspects[r.record.path].insert(*r.bad_source);
    auto wait = std::chrono::milliseconds(500) * (1 << std::min(tries, 4));
    io::log_warn("transfer of " + r.record.path + " failed: " + r.error + "; kept " +
                 std::to_string(r.chunks_held) + " of " + std::to_string(r.record.chunks.size()) +
                 " chunks; retrying in " + std::to_string(wait.count()) + " ms");
    s.waiting.push_back(r.record.path);
    s.pull_after[r.record.path] = std::chrono::steady_clock::now() + wait;
  } else {
    s.failures.erase(r.record.path);
    s.suspects.erase(r.record.path);
    db().begin();
    auto n = db().get_needed(r.record.path);
    if (n && n->record.version == r.record.version && ready_to_apply(r.record)) {
      install(r.record, r.tmp_path);
      // Only now: a peer repairing from our temp file meanwhile finds the file in its place.
      ctx_->partials->erase(r.record.path);
      io::log_info("received " + r.record.path + " (" + std::to_string(r.bytes_fetched) +
                   " bytes fetched, " + std::to_string(r.bytes_copied) + " copied locally)");
    } else {
      ctx_->partials->erase(r.record.path);
      ctx_->tmp->remove(r.tmp_path); // superseded meanwhile
      if (n)
        process_needed(r.record.path);
    }
    commit();
    notify_peers();
  }
  if (!released.empty()) {
    db().begin();
    for (auto& p : released)
      process_needed(p); // deletions that waited for this transfer
    commit();
  }
  start_transfers();
}

void index_logic::schedule_retry() {
  if (st().retry_scheduled)
    return;
  st().retry_scheduled = true;
  self_->delayed_send(self_, std::chrono::seconds(1), retry_atom::value);
}

void index_logic::on_session_up(const rpc::session_info& info, caf::actor peer) {
  st().sessions[info.id] = {info.device, std::move(peer)};
  set_epoch(info.id, info.epoch);
  // Records waiting for this peer can go now, and failed transfers may find a holder in it.
  for (auto& n : db().all_needed())
    if (n.from == info.device && !st().transfers.count(n.record.path))
      process_needed_later(n.record.path);
  auto soon = std::chrono::steady_clock::now() + pull_grace;
  for (auto& [path, when] : st().pull_after)
    if (st().failures.count(path))
      when = std::min(when, soon);
  start_transfers();
}

void index_logic::process_needed_later(const std::string& path) {
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
  for (auto& n : db().all_needed())
    st().waiting.push_back(n.record.path);
}

} // namespace cascade::actors::index_detail
