// The index, the user's pause (issue 14.4): console `pause` stops applying and announcing while
// the watcher keeps recording local changes; `resume` catches up at once. The state is kept in
// the database's meta table, so it survives a restart.
#include "actors/index_logic.hpp"
#include "io/log.hpp"

namespace cascade::actors::index_detail {

std::string index_logic::set_user_pause(bool on) {
  auto& s = st();
  if (s.user_paused == on)
    return on ? "already paused" : "not paused";
  db().set_user_paused(on);
  s.user_paused = on;
  if (on) {
    // Running transfers stop at a chunk boundary; their temp files stay (core::partial_files).
    for (auto& [path, a] : s.transfers)
      self_->send(a, suspend_atom::value);
    io::log_info("paused: peers' changes are not applied and ours are not sent until resume; "
                 "local changes are still recorded");
    return "paused: local changes are recorded; nothing is sent or applied until `resume`";
  }
  io::log_info("resumed: catching up with the peers");
  catch_up();
  notify_peers();
  return "resumed: catching up with the peers";
}

} // namespace cascade::actors::index_detail
