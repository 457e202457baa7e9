#include "core/offer_rule.hpp"

#include <iterator>

namespace cascade::core {

namespace {

// In the order of the enum.
constexpr const char* decision_names[] = {
    "accept",       "no_session",   "halted",       "store_paused",   "user_paused", "deleted",
    "not_a_file",   "transferring", "no_free_slot", "others_waiting", "ignored",     "held",
    "have_version", "ours_wins",    "mostly_here",  "slot_refused",   "not_ready",
};
static_assert(std::size(decision_names) == static_cast<std::size_t>(offer_decision::not_ready) + 1);

} // namespace

const char* offer_decision_name(offer_decision d) {
  auto i = static_cast<std::size_t>(d);
  return i < std::size(decision_names) ? decision_names[i] : "unknown";
}

offer_decision decide_offer_upto(const offer_facts& f, offer_stage last) {
  using od = offer_decision;
  if (!f.session_up)
    return od::no_session;
  if (f.halted)
    return od::halted;
  if (f.store_paused)
    return od::store_paused; // nowhere to record it
  if (f.user_paused)
    return od::user_paused;
  if (f.deleted)
    return od::deleted;
  if (!f.is_file)
    return od::not_a_file;
  if (f.transferring)
    return od::transferring;
  // An offer never waits for a slot, nor jumps the queue: declined, the file is pulled in turn.
  if (f.free_slots == 0)
    return od::no_free_slot;
  if (f.slot_waiters > 0)
    return od::others_waiting;
  if (f.ignored)
    return od::ignored;
  if (last == offer_stage::state)
    return od::accept;
  // Only a record that is taken here (with or without a conflict copy) is worth its bytes.
  if (f.verdict.hold)
    return od::held;
  switch (f.verdict.d.what) {
  case verdict::take:
  case verdict::take_conflict:
    break;
  case verdict::ignore:
    return od::have_version;
  case verdict::keep_local:
    return od::ours_wins;
  }
  if (last == offer_stage::verdict)
    return od::accept;
  // An edit or a rename of a file we hold: most chunks are here, and a pull copies them.
  if (f.held_bytes * 2 > f.size)
    return od::mostly_here;
  return od::accept;
}

std::uint64_t held_bytes(const file_record& r, const std::vector<chunk_copy>& copies,
                         const std::vector<bool>& verified) {
  std::vector<bool> held(r.chunks.size(), false);
  for (auto& c : copies)
    if (c.chunk_index < held.size())
      held[c.chunk_index] = true;
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < r.chunks.size(); ++i)
    if (held[i] || (i < verified.size() && verified[i]))
      bytes += r.chunks[i].length;
  return bytes;
}

std::vector<std::size_t> all_chunks(const file_record& r) {
  std::vector<std::size_t> all(r.chunks.size());
  for (std::size_t i = 0; i < all.size(); ++i)
    all[i] = i;
  return all;
}

} // namespace cascade::core
