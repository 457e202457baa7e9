// The index actor: the only writer of the database and the one place that turns local scans
// and remote records into decisions (core/rules) and disk changes (io/apply).
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "actors/console_index.hpp"
#include "actors/index_logic.hpp"
#include "core/path.hpp"
#include "core/rules.hpp"
#include "io/apply.hpp"
#include "io/log.hpp"

namespace cascade::actors {

namespace {

using namespace index_detail;

// `store` holds the index store its spawner opened (CAF copies spawn arguments: a shared holder).
index_actor::behavior_type
index_behavior(self_ptr self, const node_context* ctx, scanner_actor scanner,
               std::shared_ptr<std::unique_ptr<core::index_store>> store) {
  self->state.db = std::move(*store);
  self->state.disk = std::make_unique<io::applier>(*ctx->folder, *ctx->tmp);
  if (ctx->keep_versions_s > 0)
    self->state.disk->keep_versions(ctx->versions);
  self->state.slots = core::transfer_slots(ctx->max_transfers);
  self->state.user_paused = self->state.db->user_paused();
  if (self->state.user_paused)
    io::log_info("paused (console `resume` resumes): local changes are recorded, nothing is sent "
                 "or applied");
  auto logic = std::make_shared<index_logic>(self, ctx, scanner);
  self->set_down_handler([logic](caf::down_msg& m) { logic->on_actor_down(m.source); });
  logic->start_mode();
  logic->start();
  if (ctx->keep_versions_s > 0)
    self->send(self, clean_versions_atom::value);
  // A console command answered with (message, error); a store fault answers for it.
  auto answer_guarded = [logic](auto work) {
    message_reply answer{std::string(), "index database fault: see errors"};
    logic->guarded([&] { answer = work(); });
    return answer;
  };
  return {
      [logic](scan_atom, const std::vector<std::string>& paths) {
        logic->guarded([&] { logic->scan(paths); });
      },
      [logic](scan_atom, const std::vector<std::string>& paths,
              const std::vector<std::int64_t>& seen) {
        logic->guarded([&] { scan_seen(*logic, paths, seen); });
      },
      [logic](rescan_atom) { logic->guarded([&] { logic->rescan(); }); },
      [logic](ignores_atom) { logic->guarded([&] { logic->on_ignores_changed(); }); },
      [ctx, logic](unwatched_atom, const std::vector<std::string>& roots) {
        std::vector<std::string> valid;
        for (auto& r : roots)
          if (core::validate_path(r) == core::path_error::ok)
            valid.push_back(r);
        std::uint64_t changes = 0;
        logic->guarded([&] { changes = scan_subtrees(*logic, ctx, valid).changes; });
        io::log_debug("rescanned " + std::to_string(roots.size()) +
                      " unwatched trees: " + std::to_string(changes) + " changes");
      },
      [logic](hashed_atom, const std::string& path, const std::optional<io::hashed_file>& h) {
        logic->guarded([&] { logic->on_hashed(path, h); });
      },
      [logic](up_atom, const rpc::session_info& info, peer_actor peer) {
        logic->guarded([&] { logic->on_session_up(info, std::move(peer)); });
      },
      [logic](down_atom, rpc::session_id s) { logic->on_session_down(s); },
      [logic](update_atom, rpc::session_id s, std::vector<rpc::wire_entry>& entries,
              std::uint64_t from, std::uint64_t last) {
        // Not recorded: refused, so the peer sends it again.
        auto out = index_logic::update_outcome::refused;
        logic->guarded([&] { out = logic->on_update(s, entries, from, last); });
        return std::make_tuple(out != index_logic::update_outcome::refused,
                               out == index_logic::update_outcome::need_full);
      },
      [logic](get_atom, std::uint64_t from, const core::device_id& device, bool deltas) {
        return logic->get_updates(from, device, deltas);
      },
      [self](progress_atom, const core::device_id& device) {
        auto [epoch, seq] = self->state.db->peer_progress(device);
        return std::tuple<std::uint64_t, std::uint64_t>{epoch, seq};
      },
      [logic](finished_atom, transfer_result& r) { logic->on_finished(r); },
      [logic](installs_atom) { logic->guarded([&] { logic->flush_finished(); }); },
      [logic](flush_atom) { logic->guarded([&] { logic->flush_deletes(); }); },
      [logic](unread_atom) { logic->guarded([&] { logic->retry_unreadable(); }); },
      [logic](db_tick_atom) { logic->guarded([&] { logic->db_tick(); }); },
      [ctx, logic](offer_atom, rpc::session_id s, rpc::call_id call, rpc::wire_entry& e,
                   std::vector<core::device_id>& rest, std::vector<core::device_id>& visited) {
        if (!logic->guarded(
                [&] { logic->on_offer(s, call, e, std::move(rest), std::move(visited)); }))
          ctx->net->decline_offer(s, call);
      },
      [logic](have_atom, rpc::session_id s, rpc::call_id call, const std::string& path,
              const core::version_vector& v) { logic->on_have(s, call, path, v); },
      [logic](netsnap_atom, const std::vector<core::peer_status>& rows) {
        logic->on_link_rates(rows);
      },
      [logic](retry_atom) { logic->guarded([&] { logic->start_transfers(); }); },
      [logic](ds_tick_atom) { logic->tick_uploads(); },
      [self](status_atom) {
        auto s = summarize(self->state);
        auto a = core::status_of("index", "index", self->mailbox().size());
        a.state = std::string(s.halted ? "HALTED, " : "") + (s.paused ? "PAUSED, " : "") +
                  (self->state.db_paused ? "WRITES PAUSED (index database fault), " : "") +
                  std::to_string(s.files) + " files, " + std::to_string(s.bytes) +
                  " bytes, sequence " + std::to_string(s.sequence) + ", " +
                  std::to_string(s.needed_files) + " needed, " + std::to_string(s.transfers) +
                  " transfers, " + std::to_string(s.waiting) + " waiting, " +
                  std::to_string(s.hashing) + " hashing, " + std::to_string(s.deletes_held) +
                  " deletions held";
        a.counters = {{"files", s.files},         {"bytes", s.bytes},
                      {"sequence", s.sequence},   {"needed", s.needed_files},
                      {"transfers", s.transfers}, {"waiting", s.waiting},
                      {"hashing", s.hashing},     {"deletes_held", s.deletes_held}};
        return a;
      },
      [self](summary_atom) { return summarize(self->state); },
      [self](children_atom) { return children(self->state); },
      [self, ctx](files_atom, const std::string& glob) {
        return find_files(self->state, ctx, glob);
      },
      [self](conflicts_atom) { return find_conflicts(self->state); },
      [ctx](versions_atom, const std::string& glob) { return find_versions(ctx, glob); },
      [ctx, logic, answer_guarded](restore_atom, const std::string& path, const std::string& time) {
        return answer_guarded([&] { return restore_version(*logic, ctx, path, time); });
      },
      [self, logic](clean_versions_atom) { // now, and again in an hour
        logic->clean_versions();
        self->delayed_send(self, std::chrono::hours(1), clean_versions_atom::value);
      },
      [ctx](ignored_atom, const std::string& glob) { return find_ignored(ctx, glob); },
      [logic, answer_guarded](pause_atom, bool on) {
        return answer_guarded([&] {
          return message_reply{logic->set_user_pause(on), std::string()};
        });
      },
      [logic](mode_list_atom, bool local, const std::string& glob) {
        return logic->list_mode_paths(local, glob);
      },
      [logic, answer_guarded](mode_act_atom, bool revert) {
        return answer_guarded([&] { return logic->mode_action(revert); });
      },
      [ctx, logic](rescan_path_atom, const std::string& path) {
        rescan_reply answer{0, 0, 0, "index database fault: see errors"};
        logic->guarded([&] { answer = rescan_path(*logic, ctx, path); });
        return answer;
      },
  };
}

} // namespace

index_actor spawn_index(caf::actor_system& sys, const node_context& ctx, scanner_actor scanner,
                        std::unique_ptr<core::index_store> store) {
  auto held = std::make_shared<std::unique_ptr<core::index_store>>(std::move(store));
  return spawn_io(sys, ctx, index_behavior, &ctx, std::move(scanner), std::move(held));
}

} // namespace cascade::actors
