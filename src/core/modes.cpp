#include "core/modes.hpp"

namespace cascade::core {

std::optional<folder_mode> parse_folder_mode(std::string_view text) {
  if (text == "send-receive")
    return folder_mode::send_receive;
  if (text == "send-only")
    return folder_mode::send_only;
  if (text == "receive-only")
    return folder_mode::receive_only;
  return std::nullopt;
}

const char* folder_mode_name(folder_mode m) {
  switch (m) {
  case folder_mode::send_only:
    return "send-only";
  case folder_mode::receive_only:
    return "receive-only";
  case folder_mode::send_receive:
    break;
  }
  return "send-receive";
}

mode_decision decide_in_mode(folder_mode m, const file_record* local, const file_record& remote) {
  mode_decision out{decide(local, remote)};
  auto& d = out.d;
  switch (m) {
  case folder_mode::send_receive:
    break;
  case folder_mode::send_only:
    // A deletion of what we do not hold changes nothing here: its tombstone is taken.
    out.hold = (d.what == verdict::take || d.what == verdict::take_conflict) &&
               !(remote.deleted && (!local || local->deleted));
    break;
  case folder_mode::receive_only:
    if (d.what == verdict::keep_local || d.what == verdict::take_conflict)
      d = {verdict::take, false};
    break;
  }
  return out;
}

file_record override_record(const file_record* local, const file_record& group, short_id self) {
  file_record r;
  if (local) {
    r = *local;
  } else {
    r.path = group.path;
    r.type = group.type;
    r.deleted = true;
  }
  r.version.merge(group.version);
  r.version.bump(self);
  r.modified_by = self;
  r.sequence = 0;
  return r;
}

const char* describe_difference(const file_record* ours, const file_record& theirs) {
  if (theirs.deleted)
    return "deleted";
  if (!ours || ours->deleted)
    return "new";
  if (ours->type != theirs.type)
    return "type";
  return "modified";
}

bool announces_local_changes(folder_mode from, folder_mode to) {
  return from == folder_mode::receive_only && to != folder_mode::receive_only;
}

} // namespace cascade::core
