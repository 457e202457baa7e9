// The index, transfer scheduling: uploads (the source of a push cascade), accepted offers and
// pulls all run in one pool of transfer slots (core::transfer_slots), each holding its slot
// until its actor ends; the rest wait in FIFO order. An offer that finds no free slot is
// declined: the sender moves on, and the file is pulled here once its turn comes.

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "actors/index_logic.hpp"
#include "core/offer_rule.hpp"
#include "core/path.hpp"
#include "core/relay.hpp"
#include "core/rules.hpp"
#include "io/log.hpp"

namespace cascade::actors::index_detail {

void index_logic::start_transfers() {
  auto& s = st();
  if (paused() || user_paused())
    return; // nowhere to record a result (the retry round starts them), or paused by the user
  core::unique_queue still;
  auto now = steady_ns();
  std::optional<std::int64_t> wake;
  std::vector<std::string> reapply; // directories, symlinks and deletions that failed before
  while (!s.waiting.empty()) {
    auto path = s.waiting.pop();
    if (s.transfers.count(path) || s.pull_queued.count(path))
      continue; // already coming (a push took it), or waiting for a slot
    // Not due yet: looked at again when due, without asking the database now (a burst keeps
    // thousands here, and this runs after every batch).
    if (auto due = s.pulls.not_before(path, now)) {
      still.push(path);
      wake = wake ? std::min(*wake, *due) : *due;
      continue;
    }
    auto n = db().get_needed(path);
    if (n && ignored(path, n->record.type == core::file_type::dir)) {
      db().remove_needed(path); // asked for again if the patterns change
      n.reset();
    }
    if (!n || held(n->record)) { // gone, or send-only: never fetched
      forget_pull(path);
      continue;
    }
    s.pulls.started(path);
    if (n->record.deleted || n->record.type != core::file_type::file) {
      reapply.push_back(std::move(path)); // nothing to fetch: applied again below
      continue;
    }
    if (s.sessions.empty()) {
      still.push(path); // nobody is connected: waits for a peer
      continue;
    }
    auto t = s.slots.issue();
    s.slot_jobs[t] = {false, path};
    s.pull_queued.insert(path);
    if (s.slots.request(t, steady_ns()))
      launch(t);
  }
  s.waiting = std::move(still);
  if (!reapply.empty()) {
    db().begin();
    for (auto& path : reapply)
      process_needed(path);
    commit();
    notify_peers();
  }
  if (wake)
    self_->delayed_send(self_,
                        std::chrono::nanoseconds(std::max<std::int64_t>(*wake - now, 1'000'000)),
                        retry_atom::value);
}

void index_logic::forget_pull(const std::string& path) {
  auto& s = st();
  if (s.pulls.forget(path))
    note_install_ok(); // no longer needed: not a failure any more
  s.suspects.erase(path);
  drop_partial(path);
}

void index_logic::launch(core::transfer_slots::ticket t) {
  auto& s = st();
  auto it = s.slot_jobs.find(t);
  bool started = false;
  if (it != s.slot_jobs.end()) {
    auto job = std::move(it->second);
    s.slot_jobs.erase(it);
    started = job.upload ? launch_upload(job.path, t) : launch_pull(job.path, t);
  }
  if (!started)
    s.slots.release(t);
}

void index_logic::grant_slots() {
  for (auto granted = st().slots.grant(); !granted.empty(); granted = st().slots.grant())
    for (auto t : granted)
      launch(t);
}

void index_logic::hold_slot(const status_actor& a, core::transfer_slots::ticket t) {
  self_->monitor(a);
  st().slot_actors[a.address()] = {t, a};
}

void index_logic::on_actor_down(const caf::actor_addr& a) {
  auto& s = st();
  auto it = s.slot_actors.find(a);
  if (it == s.slot_actors.end())
    return;
  s.slots.release(it->second.first);
  s.uploads.erase(a);
  s.slot_actors.erase(it); // the last strong handle: the actor and its thread end now
  // A transfer that ended without reporting (it should not) frees its path too; one whose
  // report waits in the batch keeps it until the batch is applied.
  auto reported = [&](const std::string& path) {
    return std::any_of(s.finished.begin(), s.finished.end(),
                       [&](const transfer_result& r) { return r.record.path == path; });
  };
  for (auto t = s.transfers.begin(); t != s.transfers.end();)
    t = t->second.address() == a && !reported(t->first) ? s.transfers.erase(t) : std::next(t);
  grant_slots();
}

bool index_logic::launch_pull(const std::string& path, core::transfer_slots::ticket t) {
  auto& s = st();
  s.pull_queued.erase(path);
  if (s.transfers.count(path))
    return false;
  auto n = db().get_needed(path);
  if (!n) {
    forget_pull(path);
    return false;
  }
  if (s.sessions.empty() || s.user_paused) {
    s.waiting.push(path); // the peers went meanwhile, or the user paused: waits for resume
    return false;
  }
  auto plan =
      core::plan_fetch(n->record, [&](const core::sha256_digest& h) { return db().find_chunk(h); });
  transfer_job job;
  for (auto& c : plan.copies)
    if (!job.trusted.count(c.from.path))
      if (auto src = db().get(c.from.path);
          src && !src->record.deleted && src->record.type == core::file_type::file)
        job.trusted[c.from.path] = {src->inode, src->record.size, src->record.mtime_ns};
  pin(path, plan.copies);
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
  auto a = spawn_transfer(self_->system(), *ctx_, std::move(job), index_actor{self_});
  hold_slot(a, t);
  s.transfers[path] = std::move(a);
  return true;
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
  auto& s = st();
  if (s.sessions.empty() || s.halted || s.user_paused || s.upload_tickets.count(r.path))
    return; // a waiting upload reads the path's record when its turn comes
  auto t = s.slots.issue();
  s.slot_jobs[t] = {true, r.path};
  s.upload_tickets[r.path] = t;
  if (s.slots.request(t, steady_ns()))
    launch(t);
}

bool index_logic::launch_upload(const std::string& path, core::transfer_slots::ticket t) {
  auto& s = st();
  s.upload_tickets.erase(path);
  if (s.sessions.empty() || s.halted || s.user_paused)
    return false;
  auto stored = db().get(path);
  if (!stored || stored->received_from != 0) // gone, or a peer's version now
    return false;
  auto& r = stored->record;
  if (r.deleted || r.type != core::file_type::file || r.size <= inline_limit)
    return false;
  std::vector<core::relay_candidate> candidates;
  for (auto& [id, sess] : s.sessions) {
    auto known = s.link_rates.find(sess.device);
    candidates.push_back({sess.device, known == s.link_rates.end() ? 0 : known->second});
  }
  auto plan = relay_for(core::plan_chain(std::move(candidates)), {}, std::nullopt);
  auto now = self_->clock().now();
  if (now - s.last_snapshot > std::chrono::seconds(1)) {
    s.last_snapshot = now;
    ctx_->net->snapshot([me = index_actor{self_}](std::vector<core::peer_status> rows) {
      caf::anon_send(me, netsnap_atom::value, std::move(rows));
    });
  }
  auto a = spawn_upload(self_->system(), *ctx_, r, std::move(plan));
  hold_slot(a, t);
  remember_relay(s, a);
  s.uploads[a.address()] = a;
  if (!std::exchange(s.uploads_ticking, true))
    self_->delayed_send(self_, upload_tick, ds_tick_atom::value);
  return true;
}

void index_logic::tick_uploads() {
  auto& s = st();
  for (auto& [addr, u] : s.uploads)
    self_->send(u, ds_tick_atom::value);
  s.uploads_ticking = !s.uploads.empty();
  if (s.uploads_ticking)
    self_->delayed_send(self_, upload_tick, ds_tick_atom::value);
}

void index_logic::on_offer(rpc::session_id s, rpc::call_id call, rpc::wire_entry& e,
                           std::vector<core::device_id> rest,
                           std::vector<core::device_id> visited) {
  auto& r = e.record;
  auto it = st().sessions.find(s);
  auto decline = [&](core::offer_decision why) {
    io::log_debug("declined the offer of " + core::printable(r.path) + ": " +
                  core::offer_decision_name(why));
    ctx_->net->decline_offer(s, call);
  };
  // The rule (core::decide_offer) in its stages: each group of facts is gathered only when the
  // groups before accept (the last one looks up every chunk).
  core::offer_facts f;
  f.session_up = it != st().sessions.end();
  f.halted = st().halted;
  f.store_paused = paused();
  f.user_paused = user_paused();
  f.deleted = r.deleted;
  f.is_file = r.type == core::file_type::file;
  f.transferring = st().transfers.count(r.path) != 0;
  f.free_slots = st().slots.free();
  f.slot_waiters = st().slots.waiting();
  f.ignored = ignored(r.path, false);
  f.size = r.size;
  if (auto why = core::decide_offer_upto(f, core::offer_stage::state);
      why != core::offer_decision::accept)
    return decline(why);
  auto device = it->second.device;
  auto local = db().get(r.path);
  f.verdict = decide_here(local ? &*local : nullptr, r);
  if (auto why = core::decide_offer_upto(f, core::offer_stage::verdict);
      why != core::offer_decision::accept)
    return decline(why);
  auto plan = core::plan_fetch(r, [&](const core::sha256_digest& h) { return db().find_chunk(h); });
  auto partial = ctx_->partials->find(r.path, r.version); // an earlier attempt's chunks
  f.held_bytes =
      core::held_bytes(r, plan.copies, partial ? partial->verified : std::vector<bool>{});
  if (auto why = core::decide_offer(f); why != core::offer_decision::accept)
    return decline(why);
  auto t = st().slots.issue();
  if (!st().slots.try_take(t))
    return decline(core::offer_decision::slot_refused);
  bool ready = false;
  try {
    db().begin();
    ready = ready_to_apply(r);
    if (ready)
      db().put_needed(r, device);
    commit();
  } catch (const core::store_error&) {
    st().slots.release(t); // declined by the caller
    throw;
  }
  if (!ready) {
    st().slots.release(t);
    grant_slots();
    return decline(core::offer_decision::not_ready);
  }
  io::log_info("relay " + r.path + ": upstream " + core::format_device_id(device).substr(0, 7));
  transfer_job job;
  job.record = r;
  job.session = s;
  job.missing = core::all_chunks(r);
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
  auto a = spawn_transfer(self_->system(), *ctx_, std::move(job), index_actor{self_});
  hold_slot(a, t);
  remember_relay(st(), a); // it may relay on after its own file is done
  st().transfers[r.path] = std::move(a);
}

// Finished transfers are applied in batches: every result that arrived meanwhile is installed
// in one transaction with one directory sync (a burst of small files finishes hundreds a
// second; one SQLite commit and fsync each was most of the receiver's work).
void index_logic::on_finished(transfer_result& r) {
  auto& s = st();
  if (r.error == transfer_paused) { // taken up again by the resume, from its verified chunks
    s.transfers.erase(r.record.path);
    s.waiting.push(r.record.path);
    std::uint64_t kept = 0;
    if (auto p = ctx_->partials->find(r.record.path, r.record.version))
      kept = core::held_bytes(r.record, {}, p->verified);
    io::log_info("transfer of " + r.record.path + " paused: kept " + std::to_string(r.chunks_held) +
                 " of " + std::to_string(r.record.chunks.size()) + " chunks (" +
                 std::to_string(kept) + " bytes)");
    return;
  }
  s.finished.push_back(std::move(r));
  if (!s.finished_flush_scheduled) {
    s.finished_flush_scheduled = true;
    self_->send(self_, installs_atom::value);
  }
}

void index_logic::flush_finished() {
  auto& s = st();
  s.finished_flush_scheduled = false;
  if (paused() || user_paused())
    return; // kept for the retry round or the resume
  auto batch = std::move(s.finished);
  s.finished.clear();
  bool installed = false;
  std::size_t done = 0;
  try {
    db().begin();
    for (; done < batch.size(); ++done)
      installed = finish_one(batch[done]) || installed;
    commit();
  } catch (const core::store_error&) {
    // Rolled back: the results not looked at yet wait for the retry round (installed ones are
    // recognised by its rescan; the one that failed is fetched again).
    for (auto i = done + 1; i < batch.size(); ++i)
      s.finished.push_back(std::move(batch[i]));
    throw;
  }
  if (installed)
    notify_peers();
  start_transfers();
}

// The local names a needed file copies from keep their pins until it is installed (settle) or
// no longer needed, failed attempts included: a retry copies from them again.
bool index_logic::finish_one(transfer_result& r) {
  auto& s = st();
  s.transfers.erase(r.record.path);
  if (!r.error.empty() && (r.error.find(std::strerror(ENOSPC)) != std::string::npos ||
                           r.error.find(std::strerror(EDQUOT)) != std::string::npos)) {
    // A full disk: one fault for all (index_fault.cpp), not a warning per file and attempt; the
    // verified chunks stay in the temp file for the retry round.
    s.waiting.push(r.record.path);
    throw core::store_error::no_space("received files: " + r.error + " (" + r.record.path + ")");
  }
  if (!r.error.empty()) {
    // Retries back off (0.5 s doubling to 8 s) so a peer that keeps failing is not hammered;
    // a new session or a new announcement of the version cuts the wait short. The temp file
    // and its verified chunks stay for the retry (and for peers that repair from us).
    auto retry = s.pulls.failed(r.record.path, steady_ns());
    if (r.bad_source)
      s.suspects[r.record.path].insert(*r.bad_source);
    io::log_warn("transfer of " + r.record.path + " failed: " + r.error + "; kept " +
                 std::to_string(r.chunks_held) + " of " + std::to_string(r.record.chunks.size()) +
                 " chunks; retrying in " + std::to_string(retry.wait_ns / 1'000'000) + " ms");
    s.waiting.push(r.record.path);
    return false;
  }
  s.suspects.erase(r.record.path);
  auto n = db().get_needed(r.record.path);
  if (n && n->record.version == r.record.version && ready_to_apply(r.record)) {
    auto outcome = install(r.record, r.tmp_path);
    // Only now: a peer repairing from our temp file meanwhile finds the file in its place.
    ctx_->partials->erase(r.record.path);
    if (outcome != install_outcome::installed) {
      if (outcome == install_outcome::failed)
        retry_later(r.record.path);
      return false;
    }
    s.pulls.succeeded(r.record.path);
    io::log_info("received " + r.record.path + " (" + std::to_string(r.bytes_fetched) +
                 " bytes fetched, " + std::to_string(r.bytes_copied) + " copied locally)");
    return true;
  }
  s.pulls.succeeded(r.record.path);
  ctx_->partials->erase(r.record.path);
  ctx_->tmp->remove(r.tmp_path); // superseded meanwhile
  unpin_sources(r.record.path);
  if (n)
    process_needed(r.record.path); // pins the sources of the newer version
  return false;
}

void index_logic::pin_sources(const std::string& path, const core::file_record& r) {
  pin(path,
      core::plan_fetch(r, [&](const core::sha256_digest& h) { return db().find_chunk(h); }).copies);
}

void index_logic::pin(const std::string& path, const std::vector<core::chunk_copy>& copies) {
  auto& s = st();
  auto& sources = s.transfer_sources[path];
  for (auto& c : copies)
    if (c.from.path != path &&
        std::find(sources.begin(), sources.end(), c.from.path) == sources.end()) {
      sources.push_back(c.from.path);
      ++s.source_refs[c.from.path];
    }
  if (sources.empty())
    s.transfer_sources.erase(path);
}

void index_logic::unpin_sources(const std::string& path) {
  auto& s = st();
  auto it = s.transfer_sources.find(path);
  if (it == s.transfer_sources.end())
    return;
  auto sources = std::move(it->second);
  s.transfer_sources.erase(it);
  for (auto& src : sources)
    if (--s.source_refs[src] <= 0) {
      s.source_refs.erase(src);
      process_needed(src); // its deletion waited for this file
    }
}

} // namespace cascade::actors::index_detail
