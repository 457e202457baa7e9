// The index, faults that heal (issue 12): a store that fails for a cause that may pass (a full
// disk) pauses writes instead of killing the index, and everything not committed is done again
// once it works; failed installs and unreadable files are shown in the console.
#include <sys/statvfs.h>

#include <cstring>

#include "actors/index_logic.hpp"
#include "io/log.hpp"

namespace cascade::actors::index_detail {

namespace {

constexpr auto tick = std::chrono::seconds(1);
// After a retry round without a new fault for this long, the fault counts as healed.
constexpr std::int64_t quiet_heal_ns = 3'000'000'000;
constexpr std::uint64_t space_back_bytes = 1 << 20; // freed since the fault: retry at once
constexpr auto unreadable_retry = std::chrono::seconds(5);

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t free_bytes(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0)
    return 0;
  return static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
}

} // namespace

void index_logic::on_store_fault(const core::store_error& e) {
  if (!e.may_heal())
    throw; // nothing heals a corrupt database: the guardian stops the node
  auto& s = st();
  db().rollback();
  for (auto& [path, applied] : s.applied_uncommitted)
    s.unrecorded[path] = std::move(applied);
  s.applied_uncommitted.clear();
  s.db_paused = true;
  s.db_free_at_fault = free_bytes(ctx_->state_dir);
  bool first = s.db_retry.fail(steady_ns());
  std::string what = e.what();
  if (what.rfind("index database", 0) == 0)
    what += " (" + ctx_->state_dir + "/index.db)";
  auto msg = what + ": changes are not recorded until it can write again; nothing is lost, "
                    "retrying every 1-30 s and as soon as space is freed";
  s.faults.raise("storage", msg, wall_ns());
  if (first)
    io::log_error(msg);
  else
    io::log_debug("index database still failing: " + std::string(e.what()));
  schedule_db_tick();
}

void index_logic::on_store_ok() {
  auto& s = st();
  if (!s.db_retry.succeed())
    return;
  s.faults.clear("storage");
  io::log_info("storage writes again: the fault healed; records resumed");
}

void index_logic::schedule_db_tick() {
  if (st().db_tick_scheduled)
    return;
  st().db_tick_scheduled = true;
  self_->delayed_send(self_, tick, db_tick_atom::value);
}

void index_logic::db_tick() {
  auto& s = st();
  s.db_tick_scheduled = false;
  if (!s.db_retry.failing())
    return;
  auto now = steady_ns();
  if (!s.db_paused) { // a retry round runs: healed once it stays quiet
    if (now - s.db_resumed_ns >= quiet_heal_ns)
      on_store_ok();
    else
      schedule_db_tick();
    return;
  }
  if (s.db_retry.due(now) || free_bytes(ctx_->state_dir) > s.db_free_at_fault + space_back_bytes)
    db_resume();
  schedule_db_tick();
}

void index_logic::db_resume() {
  auto& s = st();
  s.db_paused = false;
  s.db_resumed_ns = steady_ns();
  io::log_debug("index database: retrying (attempt " + std::to_string(s.db_retry.failures() + 1) +
                ")");
  // Local changes not recorded: found again by a walk of the folder.
  if (!guarded([&] { rescan(); }))
    return;
  catch_up();
}

void index_logic::catch_up() {
  auto& s = st();
  // Peers' records not recorded: asked again from the progress last committed.
  for (auto& [id, sess] : s.sessions) {
    auto [epoch, seq] = db().peer_progress(sess.device);
    auto theirs = sessions_epoch(id);
    ctx_->net->subscribe(id, theirs, epoch == theirs ? seq : 0);
  }
  // Needed records (fetched or applied again) and what waited meanwhile.
  for (auto& n : db().all_needed())
    if (!s.transfers.count(n.record.path))
      s.waiting.push(n.record.path);
  if (!s.finished.empty() && !s.finished_flush_scheduled) {
    s.finished_flush_scheduled = true;
    self_->send(self_, installs_atom::value);
  }
  if (s.deletes.pending() > 0 && !s.delete_flush_scheduled) {
    s.delete_flush_scheduled = true;
    self_->send(self_, flush_atom::value);
  }
  start_transfers();
}

void index_logic::note_install_failure(const std::string& path, int err) {
  auto& s = st();
  auto* f = s.faults.find("installs");
  auto n = (f ? f->count : 0) + 1;
  s.faults.raise("installs",
                 std::to_string(n) + " failed installs (retried with a backoff); last: " + path +
                     (err ? std::string(": ") + std::strerror(err) : std::string()),
                 wall_ns());
}

void index_logic::note_install_ok() {
  auto& s = st();
  if (!s.faults.has("installs"))
    return;
  // Healed once nothing waits for a retry any more.
  if (s.pulls.failing() == 0)
    s.faults.clear("installs");
}

void index_logic::check_readable(const std::string& path) {
  auto lst = ctx_->folder->stat(path);
  if (!lst || lst->type != core::file_type::file)
    return readable_again(path); // gone or replaced: its own event follows
  errno = 0;
  if (ctx_->folder->open_read(path))
    return; // readable now: it changed while hashed, and its event follows
  int err = errno;
  auto& s = st();
  if (s.unreadable.emplace(path, err).second)
    io::log_warn("cannot read " + path + ": " + std::strerror(err) +
                 "; not synced until it is readable (checked again every " +
                 std::to_string(unreadable_retry.count()) + " s)");
  s.faults.raise("unreadable",
                 std::to_string(s.unreadable.size()) +
                     " local files cannot be read, so they are not synced (checked again every " +
                     std::to_string(unreadable_retry.count()) + " s); last: " + path + ": " +
                     std::strerror(err),
                 wall_ns());
  s.faults.set_count("unreadable", s.unreadable.size());
  if (!s.unreadable_retry_scheduled) {
    s.unreadable_retry_scheduled = true;
    self_->delayed_send(self_, unreadable_retry, unread_atom::value);
  }
}

void index_logic::readable_again(const std::string& path) {
  auto& s = st();
  if (!s.unreadable.erase(path))
    return;
  io::log_info("can read " + path + " again: syncing it");
  if (s.unreadable.empty())
    s.faults.clear("unreadable");
}

void index_logic::retry_unreadable() {
  auto& s = st();
  s.unreadable_retry_scheduled = false;
  std::vector<std::string> paths;
  for (auto& [p, err] : s.unreadable)
    paths.push_back(p);
  scan(paths); // each one still unreadable schedules the next look
}

} // namespace cascade::actors::index_detail
