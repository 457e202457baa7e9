// What the index does with a peer's record: skip it, take it into the index as the disk already
// holds it, apply it at once, or fetch its content (and whether to wait for a push first).
// Pure: built on decide_in_mode (modes.hpp, itself built on rules.hpp's decide) and
// worth_pushing (fetch_plan.hpp); the index actor gathers the facts and acts
// (index_logic::on_update and process_needed in actors/index_remote.cpp).
//
// Two steps. An entry of a peer's batch is first chosen for (choose_for_entry): skipped,
// adopted, or stored as needed and then held, written with the batch's small files, deleted
// after the batch's new names, or applied now. Applying a needed record (at once, or again
// whenever something changes for its path: a local change, a finished transfer, a new
// session) is chosen for by choose_for_needed: forgotten, held, applied to the disk
// (deletions, directories, symlinks) or fetched (files: an empty file, a change of metadata
// alone and an edit copy what they can locally; a new file waits for a push first).
#pragma once

#include "core/modes.hpp"
#include "core/record.hpp"

namespace cascade::core {

// One entry of a peer's batch.
enum class entry_action {
  skip_ignored,    // the path is ignored here: the disk is not touched (asked for again when
                   // the patterns change)
  skip_have,       // we hold this version or a newer one
  keep_ours,       // concurrent, and ours wins: the peer makes the conflict copy
  reannounce_ours, // their deletion against our edit: ours goes out again, its version over both
  adopt,           // it wins and the disk already holds it: indexed, nothing fetched or written
  hold,            // stored as needed, never applied (send-only: the group differs here)
  write_inline,    // stored as needed; its bytes came with it: written with the batch's small
                   // files (synced once)
  delete_later,    // stored as needed; a deletion: applied after the batch's new names, so a
                   // renamed file can still copy from its old name
  apply_needed,    // stored as needed, and applied or queued now (choose_for_needed)
};

const char* entry_action_name(entry_action a);

struct entry_facts {
  folder_mode mode = folder_mode::send_receive;
  bool ignored = false;  // by this node's ignore patterns
  bool has_data = false; // the entry carries the file's bytes (a small file)
  // The disk is what our record says (its size, mtime, mode and inode; for a deletion: nothing
  // there). Read only when adoptable(); the caller need not look at the disk otherwise.
  bool disk_as_indexed = false;
};

// True if `remote` wins here as it is (a plain take) and our record already has its content
// and metadata: it is adopted if the disk is as indexed (two nodes made the same change, or a
// node that lost its index meets its peers' records again).
bool adoptable(folder_mode m, const file_record* local, const file_record& remote);

// `local`: our record of the path (null: none); `remote`: the peer's.
entry_action choose_for_entry(const file_record* local, const file_record& remote,
                              const entry_facts& f);

// A needed record, decided again and applied.
enum class needed_action {
  drop_ignored, // ignored here: forgotten (asked for again when the patterns change)
  hold,         // send-only: stays needed, never applied
  drop,         // it does not win any more (we hold it or newer, or ours won): forgotten
  // The rest apply it, once the local side is indexed as it is on disk (ready_to_apply):
  wait_for_copies, // a deletion of a name a needed file copies from (a rename): it goes once
                   // that file is in place
  remove,          // a deletion
  make_dir,
  make_symlink,
  running, // a file whose transfer runs already
  fetch,   // a file: queued for a pull (needed_choice::grace)
};

const char* needed_action_name(needed_action a);

struct needed_choice {
  needed_action what = needed_action::drop;
  // fetch only: wait for an offer first (the pull grace). A new file, or one mostly new, is
  // pushed along the cascade; an edit of one we hold is not offered (worth_pushing), so it is
  // pulled at once and copies what it can.
  bool grace = false;
};

struct needed_facts {
  folder_mode mode = folder_mode::send_receive;
  bool ignored = false;
  bool copied_from = false;  // a needed file copies chunks from this path (pinned)
  bool transferring = false; // a transfer of this path runs
};

// `local`: our record of the path (null: none); `needed`: the peer's record we still need.
needed_choice choose_for_needed(const file_record* local, const file_record& needed,
                                const needed_facts& f);

// Before a remote version replaces the local side, the local side must be indexed as it is on
// disk; otherwise an unscanned local edit would be lost (the caller scans the path first).
// What the disk holds at the path: `on_disk` (anything), `disk_is_dir`, and whether it is what
// our record says (`disk_as_indexed`).
bool indexed_as_on_disk(const file_record* local, bool on_disk, bool disk_is_dir,
                        bool disk_as_indexed);

// True if applying a remote version whose verdict is `d` first moves our copy aside under
// conflict_name (a conflict the remote version wins; a directory or a deletion of ours has no
// bytes to keep).
bool moves_ours_aside(const decision& d, const file_record* local);

} // namespace cascade::core
