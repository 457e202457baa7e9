// What to do with a record received from a peer, given what we hold for the same path. Both
// nodes of a conflict reach the same verdict, so the loser gets the same name on both.
#pragma once

#include <string>
#include <string_view>

#include "core/record.hpp"

namespace cascade::core {

enum class verdict {
  ignore,        // we already have this version or a newer one
  take,          // the remote version is newer: apply it
  keep_local,    // concurrent, and our version wins: keep ours; the peer makes the conflict copy
                 // (or, for delete vs modify, our modification is re-announced: see merge_keep)
  take_conflict, // concurrent, and the remote version wins: move ours aside under
                 // conflict_name(local), then apply the remote version
};

struct decision {
  verdict what = verdict::ignore;
  // keep_local only: our record must be re-announced with a version that dominates both
  // (delete vs modify: the modification wins and must reach the deleting side).
  bool reannounce = false;
};

// `local` is null when we have no record for the path.
decision decide(const file_record* local, const file_record& remote);

// Total order between two concurrent versions: true if `a` wins over `b`. Deletion always
// loses to a modification; otherwise the newer mtime wins, then the larger modified_by.
// Antisymmetric: for a != b exactly one of wins(a, b), wins(b, a) holds.
bool wins(const file_record& a, const file_record& b);

// "dir/name.ext" -> "dir/name.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.ext" where the time is the
// loser's mtime (UTC) and DEVICE the first 7 characters of the loser's modifier short id in
// base32. Dotfiles and names without an extension get the suffix at the end.
std::string conflict_name(std::string_view path, std::int64_t mtime_ns, short_id modified_by);

// True for names that conflict_name produced.
bool is_conflict_name(std::string_view path);

} // namespace cascade::core
