// The pull side of a transfer: ask every connected peer what it holds of the version, fetch
// the missing chunks from all holders at once (partial holders included: DESIGN.md §4), and,
// while a holder is itself still receiving the file, ask again for what it gained since
// (rounds), instead of presuming that anyone holds what it did not claim.
#include <algorithm>
#include <chrono>

#include "actors/transfer_logic.hpp"
#include "core/repair.hpp"
#include "io/log.hpp"

namespace cascade::actors::transfer_detail {

namespace {

// How long a pull waits for the peers' have answers before it plans with those it got.
constexpr auto have_wait = std::chrono::seconds(2);
constexpr std::uint64_t max_range_bytes = 64 * 1024 * 1024;
// Rounds that gained nothing, in a row, before the pull gives up (the index retries later);
// the pause before the next such round doubles from 50 ms (about 3 s in all).
constexpr std::size_t max_idle_rounds = 6;

} // namespace

// Pulled (or a push that ended early): ask every peer what it holds, then plan.
void transfer_logic::start_pull() {
  auto& s = st();
  if (s.missing.empty())
    return finish("");
  if (s.job.sources.empty())
    return finish("no peer connected");
  next_round();
}

void transfer_logic::next_round() {
  auto& s = st();
  if (s.reported)
    return;
  ++s.round;
  s.planned = false;
  s.answers.clear();
  s.unheld = 0;
  s.partial_holders = false;
  s.plan_text.clear();
  s.held_before = count(s.verified);
  // Every answer comes within have_wait (the network times the query out), so no timer of
  // ours holds this actor (and its thread) alive once it is done.
  auto me = self_->address();
  for (std::size_t k = 0; k < s.job.sources.size(); ++k)
    ctx_->net->have(s.job.sources[k].second, s.job.record.path, s.job.record.version,
                    s.job.record.chunks.size(), have_wait,
                    [me, k, round = s.round](rpc::have_answer a) {
                      if (auto a2 = caf::actor_cast<transfer_actor>(me))
                        caf::anon_send(a2, have_reply_atom::value, k, round, std::move(a));
                    });
}

void transfer_logic::on_have(std::size_t k, std::size_t round, rpc::have_answer& a) {
  auto& s = st();
  if (s.planned || round != s.round || k >= s.job.sources.size())
    return;
  s.answers[k] = std::move(a);
  if (s.answers.size() == s.job.sources.size())
    plan();
}

void transfer_logic::plan() {
  auto& s = st();
  if (s.planned || s.reported)
    return;
  s.planned = true;
  std::vector<std::size_t> missing;
  for (auto i : s.missing)
    if (!s.verified[i])
      missing.push_back(i);
  // Tiers: peers in good standing, then peers that sent bad bytes for this file before (only
  // for chunks nobody else has), then the announcer if it did not answer, presumed to hold the
  // version whole (its index lists it; the hashes decide). An announcer that answered holds
  // what it said: one still receiving the file serves what it has, and more next round.
  std::vector<std::vector<core::chunk_holder>> tiers(3);
  std::vector<core::chunk_holder> holders; // every claim, for the log
  for (std::size_t k = 0; k < s.job.sources.size(); ++k) {
    auto it = s.answers.find(k);
    bool answered = it != s.answers.end() && it->second.ok;
    bool claims = answered && (it->second.complete || count(it->second.chunks) > 0);
    if (claims) {
      holders.push_back({k, it->second.complete, it->second.chunks});
      tiers[s.job.suspects.count(s.job.sources[k].first) ? 1 : 0].push_back(holders.back());
      s.partial_holders = s.partial_holders || !it->second.complete;
    }
    if (s.job.sources[k].second == s.job.session && !answered)
      tiers[2].push_back({k, true, {}});
  }
  auto p = core::plan_repair_tiers(s.job.record, missing, tiers);
  s.unheld = p.unheld.size();
  transfer_actor me{self_};
  bool partial_used = false;
  for (auto& f : p.fetches) {
    auto& [device, session] = s.job.sources[f.source];
    bool partial = std::any_of(holders.begin(), holders.end(),
                               [&](auto& h) { return h.source == f.source && !h.complete; });
    partial_used = partial_used || partial;
    s.plan_text += (s.plan_text.empty() ? "" : ", ") + std::to_string(f.chunks.size()) + " from " +
                   short_of(device) + (partial ? " (partial)" : "");
    stream_state str;
    str.session = session;
    str.device = device;
    str.from = short_of(device);
    str.chunks = f.chunks;
    s.streams.push_back(std::move(str));
    auto idx = s.streams.size() - 1;
    s.streams[idx].fetch = ctx_->net->fetch(
        session, s.job.record.path, core::to_ranges(s.job.record, f.chunks, max_range_bytes),
        std::make_shared<receiver>(me, idx), s.job.record.version);
  }
  if (s.unheld > 0)
    s.plan_text += (s.plan_text.empty() ? "" : ", ") + std::to_string(s.unheld) +
                   " held by no connected peer" + (s.partial_holders ? " yet" : "");
  auto line = "repair " + s.job.record.path + ": " + std::to_string(count(s.verified)) + " of " +
              std::to_string(s.verified.size()) + " chunks held, " + s.plan_text;
  bool resumed = count(s.job.verified) > 0;
  if (s.round == 1 && (resumed || partial_used || p.fetches.size() > 1 || s.unheld > 0))
    io::log_info(line); // a repair worth seeing; a plain pull from one holder (or a round
  else                  // after the first) is not
    io::log_debug(line);
  if (p.fetches.empty())
    streams_done();
}

void transfer_logic::streams_done() {
  auto& s = st();
  if (s.reported)
    return;
  if (std::all_of(s.missing.begin(), s.missing.end(), [&](auto i) { return s.verified[i]; }))
    return finish("");
  // A peer still receiving the file (a relay upstream of us, a peer repairing too) will hold
  // more soon: ask again, at once if this round gained chunks, else after a growing pause.
  const bool gained = count(s.verified) > s.held_before;
  s.idle_rounds = gained ? 0 : s.idle_rounds + 1;
  if (!s.partial_holders || s.idle_rounds > max_idle_rounds)
    return finish(unheld_error());
  auto pause =
      gained ? std::chrono::milliseconds(0) : std::chrono::milliseconds(50 << (s.idle_rounds - 1));
  self_->delayed_send(self_, pause, round_atom::value);
}

void transfer_logic::continue_as_pull(const std::string& why) {
  auto& s = st();
  if (s.ds && s.ds->active())
    s.ds->finish(why); // our downstream continues as a pull too
  s.held_credit = 0;   // the push stream is over
  s.missing.clear();
  for (std::size_t i = 0; i < s.verified.size(); ++i)
    if (!s.verified[i])
      s.missing.push_back(i);
  if (s.job.sources.empty())
    s.job.sources = s.job.relay.peers;
  io::log_info("relay " + s.job.record.path + ": " + why + "; pulling the " +
               std::to_string(s.missing.size()) + " missing of " +
               std::to_string(s.verified.size()) + " chunks");
  start_pull();
}

// How the pull ends once every stream is done: "" or why chunks are still missing.
std::string transfer_logic::unheld_error() {
  auto& s = st();
  auto left = static_cast<std::size_t>(
      std::count_if(s.missing.begin(), s.missing.end(), [&](auto i) { return !s.verified[i]; }));
  return left == 0 ? ""
                   : std::to_string(left) + " of " + std::to_string(s.verified.size()) +
                         " chunks are held by no connected peer";
}

} // namespace cascade::actors::transfer_detail
