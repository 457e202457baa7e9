// Folder modes (issue 14.3): what a node does with its peers' changes and with its own.
//   send-receive  both ways (the default)
//   send-only     ours go out; peers' records are kept as "needed" but never applied (listed by
//                 the console's `out-of-sync`; `override` announces ours over them)
//   receive-only  peers' records are applied; ours are recorded but never announced (listed by
//                 `local-changes`; `revert` gives them back to the group's state)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/record.hpp"
#include "core/rules.hpp"

namespace cascade::core {

enum class folder_mode { send_receive, send_only, receive_only };

// "send-receive", "send-only", "receive-only"; nullopt for anything else.
std::optional<folder_mode> parse_folder_mode(std::string_view text);
const char* folder_mode_name(folder_mode m);

// The verdict on a peer's record in a mode. `hold`: the record stays needed and nothing is
// done with it (send-only: the group differs from us there).
struct mode_decision {
  decision d;
  bool hold = false;
};

// send-receive: decide() as is. send-only: what decide() would take (with or without a
// conflict copy) is held instead, except a deletion of what we do not hold (only its tombstone
// is stored); keeping ours (and re-announcing it) stays. receive-only: the
// group's version wins over anything concurrent of ours, without a conflict copy (our content
// goes to the versions directory when it is replaced); nothing of ours is re-announced.
mode_decision decide_in_mode(folder_mode m, const file_record* local, const file_record& remote);

// send-only `override`: the record that makes the group take our state for a path where it
// differs. Our record (or, without one, a deletion of the group's entry) under a version that
// dominates both ours and the group's, made by us.
file_record override_record(const file_record* local, const file_record& group, short_id self);

// What the group's record changes against ours, in a word: "new" (we have nothing there),
// "deleted", "modified", or "type" (a file became a directory, ...).
const char* describe_difference(const file_record* ours, const file_record& theirs);

// A mode change at start-up, from the stored mode to the new one: whether the recorded but
// unannounced local changes (receive-only) go out now as ordinary local changes.
bool announces_local_changes(folder_mode from, folder_mode to);

} // namespace cascade::core
