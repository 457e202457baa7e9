// Whether a pushed file (a peer's offer along the cascade) is accepted here. Pure: the index
// actor gathers the facts and acts on the answer (index_logic::on_offer).
//
// A declined offer is no loss: the sender moves on down its chain, and the file is pulled here
// in its turn (its record comes the usual way). So an offer is declined whenever a push is not
// clearly the best way: nowhere to record it, no free slot (an offer never waits: the sender
// must not hold its upload open for us), a record that does not win here, or a file that is
// mostly here already (a pull copies those chunks locally; a push would send them all again).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/fetch_plan.hpp"
#include "core/modes.hpp"
#include "core/record.hpp"

namespace cascade::core {

// accept, or why not; in the order the rule looks at them (the first that applies is the one
// given).
enum class offer_decision {
  accept,
  no_session,     // the session that offered it is gone
  halted,         // the folder marker is gone: this folder does not sync (DESIGN.md §2)
  store_paused,   // writes wait for a store fault's retry round
  user_paused,    // the user paused syncing
  deleted,        // a deletion: nothing to push
  not_a_file,     // a directory or a symlink: nothing to push
  transferring,   // a transfer of the path runs already (a pull, or another push)
  no_free_slot,   // every transfer slot is taken
  others_waiting, // uploads or pulls wait for a slot ahead of it
  ignored,        // the path is ignored here
  held,           // send-only: the group's version is kept as needed, never applied
  have_version,   // we hold this version or a newer one
  ours_wins,      // concurrent, and our version wins (the peer makes the conflict copy)
  mostly_here,    // more than half its bytes are here already: a pull copies them
  // Not decide_offer's: the actor's steps after it accepts, which may still decline.
  slot_refused, // the slot could not be taken
  not_ready,    // the local side must be scanned first, or our conflicting copy could not be
                // moved aside (index_logic::ready_to_apply)
};

// A word for the log: "no_free_slot", ...
const char* offer_decision_name(offer_decision d);

// The facts come in three groups, each dearer to gather than the one before (the index's own
// state; a lookup of our record; a lookup of every chunk). The rule reads them in that order,
// so the actor gathers a group only when the groups before it accept (decide_offer_upto).
enum class offer_stage { state, verdict, chunks };

struct offer_facts {
  // offer_stage::state: the index's state and the offered record itself.
  bool session_up = false;   // the offering session is one of ours
  bool halted = false;       // the marker is gone
  bool store_paused = false; // a store fault: writes wait for a retry round
  bool user_paused = false;
  bool deleted = false;      // the offered record is a deletion
  bool is_file = false;      // of a regular file
  bool transferring = false; // a transfer of the path runs here
  std::size_t free_slots = 0;
  std::size_t slot_waiters = 0; // uploads and pulls queued for a slot
  bool ignored = false;         // by this node's ignore patterns
  std::uint64_t size = 0;       // of the offered file
  // offer_stage::verdict: decide_in_mode(our mode, our record, the offered record).
  mode_decision verdict;
  // offer_stage::chunks: bytes of the offered file held here (held_bytes).
  std::uint64_t held_bytes = 0;
};

// The rule, reading the facts up to stage `last` (later ones are not looked at): accept means
// nothing up to there declines.
offer_decision decide_offer_upto(const offer_facts& f, offer_stage last);

// The whole rule.
inline offer_decision decide_offer(const offer_facts& f) {
  return decide_offer_upto(f, offer_stage::chunks);
}

// Bytes of `r` held here: in chunks that `copies` (plan_fetch) copies from local files, or
// verified by an earlier attempt (`verified`, one flag per chunk of `r`; shorter: the rest
// are not).
std::uint64_t held_bytes(const file_record& r, const std::vector<chunk_copy>& copies,
                         const std::vector<bool>& verified);

// Every chunk index of `r`, ascending (an accepted push sends them all).
std::vector<std::size_t> all_chunks(const file_record& r);

} // namespace cascade::core
