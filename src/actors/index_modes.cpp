// The index and the folder modes (issue 14.3; the rules are core::decide_in_mode).
//
// send-only: peers' records are stored as needed and never applied (not fetched, no deletion,
// rename or conflict copy); `out-of-sync` lists them and `override` announces our record (or a
// deletion where we have none) under a version that dominates the group's, so that every peer
// takes ours as a plain newer version (its own content goes to its versions directory).
// receive-only: peers' records are applied, and win over a local change of the same path (ours
// goes to the versions directory, no conflict copy); local changes are recorded under a bumped
// version but listed in the local_changes table and never announced; `revert` moves them to the
// versions directory, forgets their records and reads every peer's index again, so that the
// group's version comes back (or the path stays gone where the group has nothing).
// A change of mode between runs does nothing to the disk: leaving receive-only announces the
// recorded local changes as ordinary ones (they get new sequence numbers); leaving send-only
// lets the needed records be applied as usual (a concurrent pair keeps both sides).
#include <algorithm>
#include <cerrno>
#include <chrono>

#include "actors/index_logic.hpp"
#include "core/ignore.hpp"
#include "core/path.hpp"
#include "io/log.hpp"

namespace cascade::actors::index_detail {

namespace {

// `glob` as the console's other listings read it: empty for all, a name without '/' matches
// at any depth, a path matches itself and what is below it.
bool wanted(const std::string& glob, const std::string& path) {
  return glob.empty() || core::glob_match(glob, path) || core::is_under(path, glob) ||
         (glob.find('/') == std::string::npos && core::glob_match(glob, core::base_name(path)));
}

constexpr std::size_t list_limit = 1000;

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

void index_logic::start_mode() {
  auto& s = st();
  auto stored =
      core::parse_folder_mode(db().folder_mode()).value_or(core::folder_mode::send_receive);
  s.mode = ctx_->mode.value_or(stored);
  if (ctx_->mode && db().folder_mode() != core::folder_mode_name(s.mode))
    db().set_folder_mode(core::folder_mode_name(s.mode));
  auto recorded = db().local_changes();
  if (core::announces_local_changes(stored, s.mode) && !recorded.empty()) {
    db().begin();
    for (auto& path : recorded) {
      if (auto r = db().get(path))
        db().put(r->record, r->inode, 0); // a new sequence number: peers read it now
      db().unmark_local_change(path);
    }
    commit();
    io::log_info("mode " + std::string(core::folder_mode_name(s.mode)) +
                 " (was receive-only): " + std::to_string(recorded.size()) +
                 " local changes recorded meanwhile are announced now");
    recorded.clear();
  }
  s.local_changes.insert(recorded.begin(), recorded.end());
  if (s.mode == core::folder_mode::send_only)
    io::log_info("mode send-only: peers' changes are not applied (console `out-of-sync` lists "
                 "them, `override` pushes ours over them)");
  else if (s.mode == core::folder_mode::receive_only)
    io::log_info("mode receive-only: local changes are recorded but not sent (console "
                 "`local-changes` lists them, `revert` gives them back to the group)");
}

core::mode_decision index_logic::decide_here(const core::stored_record* local,
                                             const core::file_record& remote) {
  return core::decide_in_mode(st().mode, local ? &local->record : nullptr, remote);
}

bool index_logic::held(const core::file_record& needed) {
  if (st().mode != core::folder_mode::send_only)
    return false;
  auto local = db().get(needed.path);
  return decide_here(local ? &*local : nullptr, needed).hold;
}

void index_logic::note_local_change(const std::string& path) {
  if (st().mode == core::folder_mode::receive_only && st().local_changes.insert(path).second)
    db().mark_local_change(path);
}

void index_logic::drop_local_change(const std::string& path) {
  if (st().local_changes.erase(path))
    db().unmark_local_change(path);
}

mode_paths_reply index_logic::list_mode_paths(bool local, const std::string& glob) {
  std::vector<std::string> paths, changes;
  bool truncated = false;
  auto add = [&](const std::string& path, const char* change) {
    if (!wanted(glob, path))
      return true;
    if (paths.size() == list_limit)
      return !(truncated = true);
    paths.push_back(path);
    changes.emplace_back(change);
    return true;
  };
  if (local) {
    for (auto& path : st().local_changes) {
      auto r = db().get(path);
      if (!add(path, r && r->record.deleted ? "deleted" : "changed"))
        break;
    }
  } else if (st().mode == core::folder_mode::send_only) {
    auto needed = db().all_needed();
    std::sort(needed.begin(), needed.end(),
              [](auto& a, auto& b) { return a.record.path < b.record.path; });
    for (auto& n : needed) {
      auto ours = db().get(n.record.path);
      if (held(n.record) &&
          !add(n.record.path, core::describe_difference(ours ? &ours->record : nullptr, n.record)))
        break;
    }
  }
  return {std::move(paths), std::move(changes), truncated};
}

message_reply index_logic::mode_action(bool revert) {
  auto wanted_mode = revert ? core::folder_mode::receive_only : core::folder_mode::send_only;
  if (st().mode != wanted_mode)
    return {std::string(), std::string(revert ? "revert" : "override") + " is for " +
                               core::folder_mode_name(wanted_mode) + " folders; this one is " +
                               core::folder_mode_name(st().mode)};
  return {revert ? revert_local() : override_group(), std::string()};
}

std::string index_logic::override_group() {
  std::size_t count = 0;
  db().begin();
  for (auto& n : db().all_needed()) {
    if (!held(n.record))
      continue;
    auto local = db().get(n.record.path);
    auto r = core::override_record(local ? &local->record : nullptr, n.record, ctx_->self_short);
    r.changed_at_ns = wall_ns();
    db().put(r, local ? local->inode : 0, 0);
    db().remove_needed(r.path);
    ++count;
  }
  commit();
  notify_peers();
  io::log_info("override: our state of " + std::to_string(count) +
               " paths announced over the group's");
  return "override: " + std::to_string(count) + " paths announced with our state";
}

std::string index_logic::revert_local() {
  auto& s = st();
  std::vector<std::string> paths(s.local_changes.begin(), s.local_changes.end());
  // Deepest first: a directory made here goes after what it holds.
  std::stable_sort(paths.begin(), paths.end(),
                   [](auto& a, auto& b) { return core::depth(a) > core::depth(b); });
  std::size_t reverted = 0, kept = 0;
  db().begin();
  for (auto& path : paths) {
    auto stored = db().get(path);
    // The local content goes to the versions directory. A directory goes only when empty; one
    // that still holds entries (a mode change here, ignored files) stays, its record forgotten
    // all the same: the group's record, if any, comes back and is applied to it.
    if (stored && !stored->record.deleted && ctx_->folder->stat(path) &&
        !s.disk->remove(stored->record)) {
      auto err = s.disk->last_install_errno();
      bool full_dir =
          stored->record.type == core::file_type::dir && (err == ENOTEMPTY || err == EEXIST);
      if (!full_dir) {
        ++kept; // the applier logged why; it stays a local change
        continue;
      }
    }
    db().forget(path);
    drop_local_change(path);
    ++reverted;
  }
  // The group's records for them come again: every peer's index is read from its start.
  for (auto& device : db().known_peers())
    db().set_peer_progress(device, db().peer_progress(device).first, 0);
  commit();
  for (auto& [id, sess] : s.sessions)
    ctx_->net->subscribe(id, sessions_epoch(id), 0);
  io::log_info("revert: " + std::to_string(reverted) +
               " local changes moved to the versions directory; the group's versions are "
               "fetched again" +
               (kept ? "; " + std::to_string(kept) + " could not be moved (see above)" : ""));
  return "revert: " + std::to_string(reverted) + " local changes reverted" +
         (kept ? ", " + std::to_string(kept) + " could not be moved (see the log)" : "") +
         (s.sessions.empty() ? "; no peer is connected: the group's versions come when one is"
                             : "");
}

} // namespace cascade::actors::index_detail
