#include "core/update_rule.hpp"

#include <iterator>

#include "core/fetch_plan.hpp"

namespace cascade::core {

namespace {

// In the order of the enums.
constexpr const char* entry_names[] = {
    "skip_ignored", "skip_have",    "keep_ours",    "reannounce_ours", "adopt",
    "hold",         "write_inline", "delete_later", "apply_needed",
};
static_assert(std::size(entry_names) == static_cast<std::size_t>(entry_action::apply_needed) + 1);

constexpr const char* needed_names[] = {
    "drop_ignored", "hold",         "drop",    "wait_for_copies", "remove",
    "make_dir",     "make_symlink", "running", "fetch",
};
static_assert(std::size(needed_names) == static_cast<std::size_t>(needed_action::fetch) + 1);

} // namespace

const char* entry_action_name(entry_action a) {
  auto i = static_cast<std::size_t>(a);
  return i < std::size(entry_names) ? entry_names[i] : "unknown";
}

const char* needed_action_name(needed_action a) {
  auto i = static_cast<std::size_t>(a);
  return i < std::size(needed_names) ? needed_names[i] : "unknown";
}

bool adoptable(folder_mode m, const file_record* local, const file_record& remote) {
  return local && decide_in_mode(m, local, remote).d.what == verdict::take &&
         same_content(*local, remote);
}

entry_action choose_for_entry(const file_record* local, const file_record& remote,
                              const entry_facts& f) {
  if (f.ignored)
    return entry_action::skip_ignored;
  auto [d, hold] = decide_in_mode(f.mode, local, remote);
  if (d.what == verdict::ignore)
    return entry_action::skip_have;
  if (d.what == verdict::keep_local)
    return d.reannounce && local ? entry_action::reannounce_ours : entry_action::keep_ours;
  // Before the hold: what the disk holds already is the group's state, in send-only too.
  if (adoptable(f.mode, local, remote) && f.disk_as_indexed)
    return entry_action::adopt;
  if (hold)
    return entry_action::hold;
  if (f.has_data && remote.type == file_type::file && !remote.deleted)
    return entry_action::write_inline;
  if (remote.deleted)
    return entry_action::delete_later;
  return entry_action::apply_needed;
}

needed_choice choose_for_needed(const file_record* local, const file_record& needed,
                                const needed_facts& f) {
  if (f.ignored)
    return {needed_action::drop_ignored};
  auto [d, hold] = decide_in_mode(f.mode, local, needed);
  if (hold)
    return {needed_action::hold};
  if (d.what == verdict::ignore || d.what == verdict::keep_local)
    return {needed_action::drop};
  if (needed.deleted)
    return {f.copied_from ? needed_action::wait_for_copies : needed_action::remove};
  if (needed.type == file_type::dir)
    return {needed_action::make_dir};
  if (needed.type == file_type::symlink)
    return {needed_action::make_symlink};
  if (f.transferring)
    return {needed_action::running};
  return {needed_action::fetch, worth_pushing(local && !local->deleted ? local : nullptr, needed)};
}

bool indexed_as_on_disk(const file_record* local, bool on_disk, bool disk_is_dir,
                        bool disk_as_indexed) {
  if (!on_disk)
    return !local || local->deleted;
  if (disk_as_indexed)
    return true;
  // A directory's mode change is not worth a rescan first.
  return disk_is_dir && local && local->type == file_type::dir;
}

bool moves_ours_aside(const decision& d, const file_record* local) {
  return d.what == verdict::take_conflict && local && !local->deleted &&
         local->type != file_type::dir;
}

} // namespace cascade::core
