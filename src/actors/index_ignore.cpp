// The index and the ignore patterns: what happens when .cascadeignore (or a file it includes)
// changes on a running node (issue 14.1).
//
// A path that becomes ignored keeps its index record as it was (Syncthing does the same): it is
// not deleted on disk, no deletion is announced, peers keep their copies, and later changes to
// it (ours or theirs) are neither recorded nor applied. A path that stops being ignored is
// scanned like a new local file, and the peers' records for it are asked for again.
#include "actors/index_logic.hpp"
#include "core/path.hpp"
#include "io/log.hpp"

namespace cascade::actors::index_detail {

void index_logic::on_ignores_changed() {
  auto& s = st();
  if (paused() || !check_marker())
    return; // the retry round rescans and asks the peers again
  std::size_t dropped = 0;
  db().begin();
  for (auto& n : db().all_needed())
    if (ignored(n.record.path, n.record.type == core::file_type::dir)) {
      db().remove_needed(n.record.path); // an in-flight transfer's result is discarded
      unpin_sources(n.record.path);
      s.kept_dirs.erase(n.record.path);
      ++dropped;
    }
  commit();
  rescan();
  for (auto& [id, sess] : s.sessions)
    ctx_->net->subscribe(id, sessions_epoch(id), 0);
  io::log_info(
      "ignore patterns changed: folder rescanned, peers' indexes asked for again" +
      (dropped ? ", " + std::to_string(dropped) + " needed paths now ignored" : std::string()));
  start_transfers();
}

bool index_logic::keep_dir_for_ignored(const core::file_record& deletion) {
  auto names = ctx_->folder->list(deletion.path).value_or(std::vector<std::string>{});
  if (names.empty())
    return false;
  for (auto& name : names) {
    auto child = deletion.path + "/" + name;
    auto lst = ctx_->folder->stat(child);
    if (!ignored(child, lst && lst->type == core::file_type::dir))
      return false; // an entry that syncs: remove_failed waits for it or records it
  }
  auto& s = st();
  db().remove_needed(deletion.path);
  s.kept_dirs.erase(deletion.path);
  unpin_sources(deletion.path);
  auto local = db().get(deletion.path);
  if (local && !local->record.deleted && local->record.type == core::file_type::dir) {
    auto r = local->record;
    r.version.merge(deletion.version);
    r.version.bump(ctx_->self_short);
    r.modified_by = ctx_->self_short;
    db().put(r, local->inode, 0);
    note_local_change(r.path); // receive-only: kept here, never announced
    notify_peers();
  }
  io::log_warn(
      "kept directory " + deletion.path + " that a peer deleted: it holds " +
      std::to_string(names.size()) + " ignored entries (" +
      core::printable(deletion.path + "/" + names.front()) + "); it stays here and " +
      (announced(deletion.path) ? "is announced again" : "is a local change (receive-only)"));
  return true;
}

} // namespace cascade::actors::index_detail
